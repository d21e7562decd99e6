// Small RAII wrappers over the SQLite C API, for the sqlite backend only.
//
// Every failure is thrown as checkpoint::Error whose message starts with the
// label given to Database (e.g. "sqlite store /var/lib/app/state.db"), says
// what was being done, and carries SQLite's own message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace checkpoint::backends::sqlite {

// One connection, closed when the object goes.
class Database {
 public:
  // `filename` is passed to sqlite3_open_v2() as is; `flags` are its flags.
  Database(const std::string& filename, int flags, std::string label);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* get() const noexcept { return db_; }
  const std::string& label() const noexcept { return label_; }

  // Runs SQL that returns no rows (one or more statements).
  void exec(const char* sql, std::string_view what);

  // Rolls back the open transaction, if any; for error paths, so it never
  // throws (SQLite may already have rolled back on its own).
  void rollback() noexcept;

  // Throws the Error that SQLite result `rc` stands for: corrupt for a
  // damaged or foreign file, locked when another connection holds the
  // database, io otherwise.
  [[noreturn]] void fail(int rc, std::string_view what) const;
  // The same with SQLite's message taken earlier.
  [[noreturn]] void fail(int rc, std::string_view what, std::string message) const;

 private:
  sqlite3* db_ = nullptr;
  std::string label_;
};

// A prepared statement, kept and reused for the life of its Database.
class Statement {
 public:
  // Preparing reads the schema, so it can fail on a damaged file; `what`
  // says what the statement is for.
  Statement(Database& db, const char* sql, std::string_view what = "cannot prepare a statement");
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Text is bound without a copy: it must stay alive until the next reset().
  void bind(int index, std::int64_t value);
  void bind(int index, std::string_view text);

  // True when a row is ready; false when the statement is done. An error
  // resets the statement and throws.
  bool step(std::string_view what);
  // Steps to the end, ignoring any row, then resets.
  void run(std::string_view what);
  // Ready for new bindings; ends the read the statement may hold open.
  void reset() noexcept;

  int column_type(int column) const noexcept { return sqlite3_column_type(stmt_, column); }
  std::int64_t column_int64(int column) const noexcept {
    return sqlite3_column_int64(stmt_, column);
  }
  // Valid until the next step() or reset().
  std::string_view column_text(int column) const noexcept;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when leaving a scope, so a loop left early by an
// exception does not keep a read snapshot open.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

// The name of a column type (SQLITE_INTEGER...) for messages: "INTEGER".
std::string_view type_name(int type) noexcept;

}  // namespace checkpoint::backends::sqlite
