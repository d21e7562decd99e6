// sqlite:PATH — states kept in a SQLite database, one row per state, so a
// commit writes only the states that changed, in one transaction. Durable
// by default (WAL journal, synchronous=FULL). The schema is described in
// sqlite_schema.cpp; the database can be read with the sqlite3 shell. The
// first commit takes the store's WriterLock (PATH.lock), held until the store
// is destroyed, so a second writer is refused with Error{locked} at once
// instead of waiting on SQLite's own locks.
#pragma once

#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

BackendInfo sqlite_backend_info();
std::unique_ptr<Store> open_sqlite_store(const StoreUri& uri, const OpenOptions& options);

}  // namespace checkpoint::backends
