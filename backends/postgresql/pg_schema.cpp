#include "backends/postgresql/pg_schema.hpp"

#include <string>

#include "checkpoint/toolkit/errors.hpp"

namespace checkpoint::backends::postgresql {

// Names and bookmarks are bytea: text cannot hold NUL, which is valid
// UTF-8, and bytea compares as memcmp() does, which is the order of names
// that loads must keep. Each value carries a CRC-32C (core/checksum.hpp),
// so that a row changed by hand reads as damage, not as another value.
const char* const kCreateSchema = R"sql(
CREATE TABLE checkpoint_schema (
  version integer NOT NULL  -- one row: the version of these tables
);
INSERT INTO checkpoint_schema (version) VALUES (1);
CREATE TABLE checkpoint_stores (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,        -- store=NAME of the config string
  epoch bigint NOT NULL DEFAULT 0,  -- +1 for each writer that takes the store; a commit
                                    -- writes only while it is the epoch its writer took
  holder_host text,                 -- the writer that took it last: host name,
  holder_pid integer,               --   process id,
  holder_since timestamptz,         --   and when
  update_time_seconds bigint,       -- update_time of the last commit (Unix seconds, UTC);
  update_time_nanos integer,        --   NULL until the first commit
  update_time_checksum integer,     -- CRC-32C of the update time
  updated_at timestamptz            -- the server's time of the last commit
);
CREATE TABLE checkpoint_states (
  store_id integer NOT NULL REFERENCES checkpoint_stores (id) ON DELETE CASCADE,
  name bytea NOT NULL,               -- UTF-8, exactly (NUL included)
  record_number bigint NOT NULL,     -- uint64 stored as signed: >= 2^63 shows negative
  timestamp_seconds bigint NOT NULL, -- Unix seconds, UTC (years 1 to 9999)
  timestamp_nanos integer NOT NULL,  -- 0 to 999999999
  bookmark bytea NOT NULL,           -- UTF-8, exactly; empty when there is none
  checksum integer NOT NULL,         -- CRC-32C of the state, as signed 32 bits
  PRIMARY KEY (store_id, name)
);
)sql";

// Schema 1 to 2: each state's update time, in columns of their own with
// their own checksum (so that the upgrade is SQL alone): every row takes
// its store's update time, what a reader of schema 1 gives it. A new
// database runs kCreateSchema, then this, so both have one shape.
const char* const kUpgradeTo2 = R"sql(
ALTER TABLE checkpoint_states
  ADD COLUMN update_time_seconds bigint,   -- when a commit last changed the state (Unix seconds,
  ADD COLUMN update_time_nanos integer,    --   UTC); NULL: the store's update time (a row written
  ADD COLUMN update_time_checksum integer; --   by a program of schema 1); CRC-32C of that time
UPDATE checkpoint_states t SET update_time_seconds = s.update_time_seconds,
  update_time_nanos = s.update_time_nanos, update_time_checksum = s.update_time_checksum
  FROM checkpoint_stores s WHERE t.store_id = s.id;
UPDATE checkpoint_schema SET version = 2;
)sql";

int read_schema(Connection& connection) {
  Result tables = connection.exec(
      "SELECT to_regclass('checkpoint_schema') IS NOT NULL, "
      "to_regclass('checkpoint_stores') IS NOT NULL, "
      "to_regclass('checkpoint_states') IS NOT NULL",
      "cannot read the schema");
  const std::string found = std::string(PQgetvalue(tables.get(), 0, 0)) +
                            PQgetvalue(tables.get(), 0, 1) + PQgetvalue(tables.get(), 0, 2);
  if (found == "fff") return 0;
  if (found != "ttt") {
    throw toolkit::store_error(ErrorCode::corrupt, connection.label(),
                               "the database holds only some of the tables "
                               "(checkpoint_schema, checkpoint_stores, checkpoint_states)");
  }
  Result version =
      connection.exec("SELECT version FROM checkpoint_schema", "cannot read the schema version");
  if (PQntuples(version.get()) != 1 || PQgetisnull(version.get(), 0, 0)) {
    throw toolkit::store_error(ErrorCode::corrupt, connection.label(),
                               "table checkpoint_schema holds " +
                                   std::to_string(PQntuples(version.get())) +
                                   " rows; expected one version");
  }
  const int found_version = std::stoi(PQgetvalue(version.get(), 0, 0));
  if (found_version > kSchemaVersion) {
    throw toolkit::store_error(ErrorCode::unsupported, connection.label(),
                               "schema version " + std::to_string(found_version) +
                                   " is newer than this program understands (" +
                                   std::to_string(kSchemaVersion) + ")");
  }
  if (found_version < 1) {
    throw toolkit::store_error(
        ErrorCode::corrupt, connection.label(),
        "schema version " + std::to_string(found_version) + " is not a version of these tables");
  }
  return found_version;
}

int prepare_schema(Connection& connection) {
  if (read_schema(connection) == kSchemaVersion) return kSchemaVersion;
  connection.exec("BEGIN", "cannot create the tables");
  try {
    Params key;
    key.add_int4(kSchemaLockKey);
    key.add_int4(0);
    connection.exec("SELECT pg_advisory_xact_lock($1, $2)", "cannot create the tables", key);
    // Another writer may have made or upgraded them while this one waited.
    const int version = read_schema(connection);
    if (version == 0) connection.exec_script(kCreateSchema, "cannot create the tables");
    if (version < 2) connection.exec_script(kUpgradeTo2, "cannot upgrade the tables to version 2");
    connection.exec("COMMIT", "cannot create the tables");
    return kSchemaVersion;
  } catch (...) {
    connection.rollback();
    throw;
  }
}

}  // namespace checkpoint::backends::postgresql
