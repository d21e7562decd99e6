#include "backends/sqlite/sqlite_schema.hpp"

#include <functional>
#include <vector>

#include "checkpoint/error.hpp"

namespace checkpoint::backends::sqlite {
namespace {

// The comments are kept by SQLite and shown by the shell's .schema command.
constexpr const char* kCreateTables = R"sql(
CREATE TABLE states (
  name TEXT NOT NULL PRIMARY KEY,
  record_number INTEGER NOT NULL,      -- uint64 stored as signed 64-bit: >= 2^63 shows negative
  timestamp_seconds INTEGER NOT NULL,  -- Unix seconds, UTC (years 1 to 9999)
  timestamp_nanos INTEGER NOT NULL,    -- 0 to 999999999
  bookmark TEXT NOT NULL,              -- '' when there is none
  checksum INTEGER NOT NULL            -- CRC-32C of the state (core/checksum.hpp): damage shows
) WITHOUT ROWID;
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 0),  -- a single row
  update_time_seconds INTEGER NOT NULL,
  update_time_nanos INTEGER NOT NULL,
  checksum INTEGER NOT NULL               -- CRC-32C of the update time
);
)sql";

// RFC 3339 text of a time held as two columns, for the readable view.
std::string rfc3339(const std::string& seconds, const std::string& nanos) {
  return "strftime('%Y-%m-%dT%H:%M:%S', " + seconds + ", 'unixepoch')\n         || CASE " + nanos +
         " WHEN 0 THEN '' ELSE rtrim(printf('.%09d', " + nanos + "), '0') END\n         || 'Z'";
}

// The view of schema `version`: what people read in the sqlite3 shell.
std::string readable_view_sql(int version) {
  return "CREATE VIEW states_readable AS\nSELECT name,\n       printf('%u', record_number) AS "
         "record_number,\n       " +
         rfc3339("timestamp_seconds", "timestamp_nanos") + " AS timestamp,\n       bookmark" +
         (version >= 2 ? ",\n       " + rfc3339("update_time_seconds", "update_time_nanos") +
                             " AS update_time"
                       : std::string()) +
         "\nFROM states;\n";
}

// Schema 1 to 2: each state's update time. Appended columns, so that a
// store made at version 2 and one upgraded to it have the same shape (a
// new store is made at version 1, then upgraded); the checksum then covers
// the update time too (state_checksum_with_update_time()), which the
// upgrade writes into every row.
std::string upgrade_to_2_sql() {
  return "ALTER TABLE states ADD COLUMN update_time_seconds INTEGER NOT NULL DEFAULT 0;  -- when "
         "a commit last changed the state\n"
         "ALTER TABLE states ADD COLUMN update_time_nanos INTEGER NOT NULL DEFAULT 0;\n"
         "DROP VIEW states_readable;\n" +
         readable_view_sql(2) + "PRAGMA user_version = 2;\n";
}

// The SQL that makes the schema of `version` in an empty database.
std::string create_schema_sql(int version) {
  std::string sql = std::string(kCreateTables) + readable_view_sql(1) + "PRAGMA user_version = 1;";
  if (version >= 2) sql += upgrade_to_2_sql();
  return sql;
}

// The tables the check compares; the view is a convenience and may be dropped.
constexpr const char* kTables[] = {"states", "meta"};

// "name TEXT PRIMARY KEY, record_number INTEGER, ..." for one table, or
// empty if there is no such table.
std::string describe_columns(Database& db, const char* table) {
  Statement columns(db,
                    "SELECT p.name, upper(p.type), p.pk FROM sqlite_schema AS s, "
                    "pragma_table_info(s.name) AS p WHERE s.type = 'table' AND s.name = ?1 "
                    "ORDER BY p.cid",
                    "cannot read the schema");
  columns.bind(1, std::string_view(table));
  ResetOnExit reset(columns);
  std::string out;
  while (columns.step("cannot read the schema")) {
    if (!out.empty()) out += ", ";
    out += columns.column_text(0);
    out += ' ';
    out += columns.column_text(1);
    if (columns.column_int64(2) != 0) out += " PRIMARY KEY";
  }
  return out;
}

// Compares each table with the same table of schema `version` created in a
// scratch in-memory database, so the schema is written down only once.
void check_shape(Database& db, int version) {
  Database reference(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, db.label());
  reference.exec(create_schema_sql(version).c_str(), "cannot create the reference schema");
  for (const char* table : kTables) {
    std::string expected = describe_columns(reference, table);
    std::string actual = describe_columns(db, table);
    if (actual.empty()) {
      throw Error(ErrorCode::corrupt, db.label() + ": table " + table + " is missing");
    }
    if (actual != expected) {
      throw Error(ErrorCode::corrupt, db.label() + ": table " + table + " has columns (" + actual +
                                          "), expected (" + expected + ")");
    }
  }
}

std::int64_t single_integer(Database& db, const char* sql) {
  Statement query(db, sql, "cannot read the database");
  ResetOnExit reset(query);
  if (!query.step("cannot read the database")) return 0;
  return query.column_int64(0);
}

}  // namespace

namespace {

// The schema version of the database (0: empty, no schema yet), inside an
// open transaction.
int inspect(Database& db) {
  std::int64_t version = single_integer(db, "PRAGMA user_version");
  // Counting the objects parses the whole schema, which finds more damage.
  std::int64_t objects = single_integer(db, "SELECT count(*) FROM sqlite_schema");
  if (version > kSchemaVersion) {
    throw Error(ErrorCode::unsupported, db.label() + ": schema version " + std::to_string(version) +
                                            " is newer than this program understands (" +
                                            std::to_string(kSchemaVersion) + ")");
  }
  if (version >= 1) {
    check_shape(db, static_cast<int>(version));
    return static_cast<int>(version);
  }
  if (version == 0 && objects == 0) return 0;
  throw Error(ErrorCode::corrupt, db.label() + ": not a checkpoint store (user_version " +
                                      std::to_string(version) + ", " + std::to_string(objects) +
                                      " schema objects)");
}

}  // namespace

void prepare_schema(Database& db, const std::function<void(Database&)>& upgrade_rows) {
  // BEGIN IMMEDIATE reads the file header (a foreign file fails here) and
  // holds the write lock, so two processes cannot both create the schema.
  // Creating or upgrading it is one transaction: a crash leaves the old
  // version whole or the new one.
  db.exec("BEGIN IMMEDIATE", "cannot read the database");
  try {
    const int version = inspect(db);
    if (version == 0) {
      db.exec(create_schema_sql(kSchemaVersion).c_str(), "cannot create the schema");
    } else if (version == 1) {
      db.exec(upgrade_to_2_sql().c_str(), "cannot upgrade the schema to version 2");
      upgrade_rows(db);
    }
    db.exec("COMMIT", "cannot commit the schema");
  } catch (...) {
    db.rollback();
    throw;
  }
}

int read_schema(Database& db) {
  db.exec("BEGIN", "cannot read the database");
  try {
    const int version = inspect(db);
    db.exec("COMMIT", "cannot end reading");
    return version;
  } catch (...) {
    db.rollback();
    throw;
  }
}

}  // namespace checkpoint::backends::sqlite
