// memory: and memory:NAME — states kept in this process only. memory:NAME
// stores with the same NAME share their data within the process (so tests
// can reopen them), and exist once a writer opened them; memory: is private
// to the one store object (so reading it finds nothing). As with the file
// stores, one store object at a time may write: a writer holds the store
// from its opening until it is destroyed, and another writer is
// Error{locked} (readers still load).
#pragma once

#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

BackendInfo memory_backend_info();
std::unique_ptr<Store> open_memory_store(const StoreUri& uri, const OpenOptions& options);

}  // namespace checkpoint::backends
