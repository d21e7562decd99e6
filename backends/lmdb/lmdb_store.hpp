// lmdb:PATH — states in an LMDB environment: the data file PATH, and
// LMDB's lock file PATH-lock beside it (both mode 0600; a missing directory
// is created with mode 0750).
//
// A commit is one LMDB write transaction that writes only the upserted and
// removed states and the update time, and is synced to disk before commit()
// returns. LMDB never overwrites live pages (copy-on-write), so a crash at
// any point leaves the previous commit intact. load() reads one consistent
// snapshot and never blocks or is blocked by a writer, in this process or
// another. One store object writes at a time: the first commit takes the
// store's WriterLock (the file PATH.lock, mode 0600), held until the store
// object is destroyed; another store object's commit, in this process or
// another, is then Error{locked}, while its load() still works.
//
// Options:
//   map_size  the initial size of the memory map (default 1GiB, which holds
//             a million states with long names and bookmarks). The map is
//             address space, not disk space: the file holds only what is
//             stored. A commit that does not fit doubles the map and is
//             retried, so this is a starting point, not a limit. Accepts
//             sizes such as 65536, 64KiB, 256MiB, 4GiB (64KiB to 16TiB).
//   sync      on (default) or off. off skips the flushes to disk (LMDB's
//             MDB_NOSYNC): much faster commits, but UNSAFE: after a power
//             cut or OS crash the store may lose recent commits or be
//             damaged. A process crash alone loses nothing.
//
// The on-disk format is described in lmdb_encoding.hpp.
#pragma once

#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

BackendInfo lmdb_backend_info();
std::unique_ptr<Store> open_lmdb_store(const StoreUri& uri, const OpenOptions& options);

}  // namespace checkpoint::backends
