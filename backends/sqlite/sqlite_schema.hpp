// The sqlite backend's schema: what it creates in a new database, and the
// check that a database it opens holds a checkpoint store it understands.
#pragma once

#include "backends/sqlite/sqlite_handle.hpp"

namespace checkpoint::backends::sqlite {

// PRAGMA user_version of the schema this program writes. A database of a
// higher version was written by a newer program.
inline constexpr int kSchemaVersion = 1;

// Reads the file (so a foreign or damaged file fails here, not at the first
// commit), then creates the schema in an empty database or checks the shape
// of an existing one. Not a SQLite database, damaged, or a database holding
// something else: Error{corrupt}. A newer version: Error{unsupported}.
void prepare_schema(Database& db);

// For readers: the same checks without writing anything. True if the
// database holds a store; false if it is empty (no schema yet).
bool read_schema(Database& db);

}  // namespace checkpoint::backends::sqlite
