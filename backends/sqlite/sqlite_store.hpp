// sqlite:PATH — states kept in a SQLite database, one row per state, so a
// commit writes only the states that changed, in one transaction. Durable
// by default (WAL journal, synchronous=FULL). The schema is described in
// sqlite_schema.cpp; the database can be read with the sqlite3 shell.
#pragma once

#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

BackendInfo sqlite_backend_info();
std::unique_ptr<StateStore> open_sqlite_store(const StoreUri& uri);

}  // namespace checkpoint::backends
