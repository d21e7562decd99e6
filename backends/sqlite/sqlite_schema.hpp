// The sqlite backend's schema: what it creates in a new database, and the
// check that a database it opens holds a checkpoint store it understands.
#pragma once

#include <functional>

#include "backends/sqlite/sqlite_handle.hpp"

namespace checkpoint::backends::sqlite {

// PRAGMA user_version of the schema this program writes. A database of a
// higher version was written by a newer program. Version 1 (release 0.1)
// lacks the states' update times; it is read as it is, and upgraded by the
// first writer that opens it.
inline constexpr int kSchemaVersion = 2;

// Reads the file (so a foreign or damaged file fails here, not at the first
// commit), then creates the schema in an empty database, or checks the
// shape of an existing one and upgrades a version 1 store: in the same
// transaction, the columns are added and `upgrade_rows` rewrites every row
// (its update time and checksum). Not a SQLite database, damaged, or a
// database holding something else: Error{corrupt}. A newer version:
// Error{unsupported}.
void prepare_schema(Database& db, const std::function<void(Database&)>& upgrade_rows);

// For readers: the same checks without writing anything. The schema
// version of the store, or 0 if the database is empty (no schema yet).
int read_schema(Database& db);

}  // namespace checkpoint::backends::sqlite
