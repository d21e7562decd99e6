// memory: and memory:NAME — states kept in this process only. memory:NAME
// stores with the same NAME share their data within the process (so tests
// can reopen them); memory: is private to the one store object. As with the
// file stores, one store object at a time may write: the first to commit
// holds the store until it is destroyed, and another's commit() is
// Error{locked} (its load() still works).
#pragma once

#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

BackendInfo memory_backend_info();
std::unique_ptr<StateStore> open_memory_store(const StoreUri& uri);

}  // namespace checkpoint::backends
