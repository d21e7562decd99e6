// Options::on_corrupt: a store that Checkpoint(uri) found damaged is moved
// aside, file by file (BackendInfo::files) or by the backend
// (BackendInfo::move_aside: a store in a shared database is renamed), and
// opened again, empty or holding what the backend's salvage() read
// exactly. Nothing is deleted.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"

namespace checkpoint::detail {

struct Recovery {
  std::unique_ptr<Store> store;  // opened for writing, holding what it starts from
  std::size_t salvaged = 0;      // states it starts from
  std::size_t lost = 0;          // what salvage() could not read (reset: 1, the whole store)
  std::string report;            // what happened, where the damaged files went, what was lost
};

// The store `uri` names threw `damage` (Error{corrupt}) as it was opened
// or loaded for writing; `policy` is salvage or reset. Under the store's
// writer lock (waiting as its option lock_timeout_ms says): salvage() read
// through a reader (for salvage), every file of the store that exists
// renamed to FILE.corrupt-<UTC time, 20261126T174500Z> (with -1, -2, ...
// if that name is taken) and the directory synced; then the lock is
// released and the store opened anew for writing (taking it again), and
// the salvaged states committed to it. A backend without files: salvage()
// read, then its move_aside; one with neither: Error{corrupt} with
// `damage`'s message, saying so. Errors of the steps
// pass through (another writer that took the store in between:
// Error{locked}).
Recovery recover_corrupt_store(std::string_view uri, CorruptPolicy policy, const Error& damage);

// "20261126T174500Z": the UTC time in the suffix of the files moved aside.
std::string corrupt_suffix_time();

}  // namespace checkpoint::detail
