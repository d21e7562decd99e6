// The postgresql backend's tables: what a first writer creates in a
// database (kCreateSchema, the SQL docs/postgresql.md shows), and the check that a
// database holds tables of a version this program understands. They are
// created unqualified, so in the first schema of the session's search_path
// (by default one named after the role, then public).
#pragma once

#include <cstdint>

#include "backends/postgresql/pg_connection.hpp"

namespace checkpoint::backends::postgresql {

// checkpoint_schema.version of the tables this program writes. A database
// of a higher version was written by a newer program. Version 1 (release
// 0.1) lacks the states' update times; it is read as it is, and upgraded by
// the first writer that opens a store of the database.
inline constexpr int kSchemaVersion = 2;

// The first key of the advisory lock that serialises creating the tables
// (its second key is 0). Each store's own lock is keyed by the OID of its
// checkpoint_stores table and its id, which no other schema's tables share.
inline constexpr std::int32_t kSchemaLockKey = 0x43504B54;  // "CPKT"

extern const char* const kCreateSchema;  // version 1
extern const char* const kUpgradeTo2;

// The version of the tables the database holds (0: none of them). Tables
// of a newer version: Error{unsupported}; some of them, or a version that
// is no version: Error{corrupt}. Writes nothing.
int read_schema(Connection& connection);

// Creates the tables when there are none, or upgrades those of version 1,
// in one transaction that waits for any other writer doing the same; then
// as read_schema(). Returns kSchemaVersion.
int prepare_schema(Connection& connection);

}  // namespace checkpoint::backends::postgresql
