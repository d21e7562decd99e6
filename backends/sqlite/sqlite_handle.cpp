#include "backends/sqlite/sqlite_handle.hpp"

#include "checkpoint/error.hpp"

namespace checkpoint::backends::sqlite {
namespace {

ErrorCode code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::locked;
    case SQLITE_TOOBIG:
      return ErrorCode::invalid_argument;
    default:
      return ErrorCode::io;
  }
}

}  // namespace

Database::Database(const std::string& filename, int flags, std::string label)
    : label_(std::move(label)) {
  int rc = sqlite3_open_v2(filename.c_str(), &db_, flags | SQLITE_OPEN_EXRESCODE, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(code_for(rc), label_ + ": cannot open: " + message);
  }
}

Database::~Database() {
  // Statements are finalised first (they are members of the store declared
  // after the Database), so this closes for real and checkpoints the WAL.
  sqlite3_close_v2(db_);
}

void Database::exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, what);
}

void Database::rollback() noexcept {
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Database::fail(int rc, std::string_view what) const { fail(rc, what, sqlite3_errmsg(db_)); }

void Database::fail(int rc, std::string_view what, std::string message) const {
  throw Error(code_for(rc), label_ + ": " + std::string(what) + ": " + message);
}

Statement::Statement(Database& db, const char* sql, std::string_view what) : db_(db) {
  int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, what);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, "cannot bind a value");
}

void Statement::bind(int index, std::string_view text) {
  // A non-null pointer even for "", so the value is '' and never NULL.
  const char* data = text.data() != nullptr ? text.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.fail(rc, "cannot bind a value");
}

bool Statement::step(std::string_view what) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Taken before the reset, which may replace the connection's message.
  std::string message = sqlite3_errmsg(db_.get());
  reset();
  db_.fail(rc, what, message);
}

void Statement::run(std::string_view what) {
  while (step(what)) {
  }
  reset();
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view Statement::column_text(int column) const noexcept {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::string_view type_name(int type) noexcept {
  switch (type) {
    case SQLITE_INTEGER:
      return "INTEGER";
    case SQLITE_FLOAT:
      return "REAL";
    case SQLITE_TEXT:
      return "TEXT";
    case SQLITE_BLOB:
      return "BLOB";
    default:
      return "NULL";
  }
}

}  // namespace checkpoint::backends::sqlite
