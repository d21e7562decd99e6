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
// of a higher version was written by a newer program.
inline constexpr int kSchemaVersion = 1;

// The first key of the advisory lock that serialises creating the tables
// (its second key is 0). Each store's own lock is keyed by the OID of its
// checkpoint_stores table and its id, which no other schema's tables share.
inline constexpr std::int32_t kSchemaLockKey = 0x43504B54;  // "CPKT"

extern const char* const kCreateSchema;

// Whether the database holds the tables (false: none of them). Tables of a
// newer version: Error{unsupported}; some of them, or a version that is no
// version: Error{corrupt}. Writes nothing.
bool read_schema(Connection& connection);

// Creates the tables when there are none, in one transaction that waits for
// any other writer creating them; then as read_schema().
void prepare_schema(Connection& connection);

}  // namespace checkpoint::backends::postgresql
