#include "backends/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backends/sqlite/sqlite_handle.hpp"
#include "backends/sqlite/sqlite_schema.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/writer_lock.hpp"
#include "core/checksum.hpp"
#include "core/commit_states.hpp"
#include "core/durable_file.hpp"
#include "core/store_options.hpp"
#include "core/utf8.hpp"

namespace checkpoint::backends {
namespace {

using sqlite::Database;
using sqlite::ResetOnExit;
using sqlite::Statement;

struct Settings {
  std::string path;
  std::string synchronous;   // full, normal or off
  std::string journal_mode;  // wal or delete
  int busy_timeout_ms = 0;
};

Settings read_settings(const StoreUri& uri) {
  Settings s;
  s.path = detail::require_path(uri);
  s.synchronous = detail::choice_option(uri, "synchronous", {"full", "normal", "off"}, "full");
  s.journal_mode = detail::choice_option(uri, "journal_mode", {"wal", "delete"}, "wal");
  std::uint64_t timeout = detail::uint_option(uri, "busy_timeout_ms", 5000);
  if (timeout > INT_MAX) {
    throw Error(ErrorCode::invalid_config,
                "config string \"" + uri.text + "\": option busy_timeout_ms=\"" +
                    uri.options.at("busy_timeout_ms") + "\" is invalid; expected at most " +
                    std::to_string(INT_MAX));
  }
  s.busy_timeout_ms = static_cast<int>(timeout);
  return s;
}

// SQLite takes a file too short to hold its header for an empty database
// and would write a new one over it. Empty is a new file (ours, or one
// whose first commit is still in its -wal file); any other file must start
// with SQLite's header and hold at least one page.
void check_header(const std::filesystem::path& path, const std::string& label) {
  static constexpr char kHeader[] = "SQLite format 3";  // and its NUL: 16 bytes
  static constexpr std::size_t kMinPageSize = 512;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // SQLite reports what is wrong
  char header[sizeof kHeader] = {};
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 &&
            (st.st_size == 0 || (static_cast<std::size_t>(st.st_size) >= kMinPageSize &&
                                 ::pread(fd, header, sizeof header, 0) == sizeof header &&
                                 std::memcmp(header, kHeader, sizeof header) == 0));
  ::close(fd);
  if (!ok) {
    throw Error(ErrorCode::corrupt, label + ": cannot open: file is not a database (" +
                                        std::to_string(st.st_size) +
                                        " bytes without SQLite's header)");
  }
}

// Creates a missing database file with mode 0600 (whatever the umask),
// since SQLite gives its -wal and -shm files the mode of the database file.
// The new directory entry becomes durable with the schema's commit: SQLite
// fsyncs the directory the first time it syncs a journal it created there.
// Returns the name to give SQLite: it reads "file:..." as a URI and
// ":memory:" as no file at all, so a relative path gets "./" in front.
std::string create_file(const std::filesystem::path& path, const std::string& label) {
  detail::create_directories(path.parent_path(), label);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) check_header(path, label);
  if (fd >= 0) {
    int rc = ::fchmod(fd, 0600);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
      throw Error(ErrorCode::io,
                  label + ": cannot chmod " + path.string() + ": " + std::strerror(err));
    }
  } else if (errno != EEXIST) {
    throw Error(ErrorCode::io,
                label + ": cannot create " + path.string() + ": " + std::strerror(errno));
  }
  return path.is_absolute() ? path.string() : "./" + path.string();
}

[[noreturn]] void corrupt(const std::string& label, const std::string& what) {
  throw Error(ErrorCode::corrupt, label + ": " + what);
}

// Rows per statement when many states are written: one statement for many
// rows costs SQLite less per row than one statement per row.
constexpr int kRowsPerUpsert = 64;

// Parameters per row: name, record_number, timestamp_seconds,
// timestamp_nanos, bookmark, checksum.
constexpr int kColumns = 6;

// INSERT ... VALUES (kColumns parameters) x `rows`, updating rows that exist.
std::string upsert_sql(int rows) {
  std::string sql =
      "INSERT INTO states (name, record_number, timestamp_seconds, timestamp_nanos, bookmark, "
      "checksum) VALUES ";
  for (int i = 0; i < rows; ++i) {
    const int p = kColumns * i;
    sql += (i == 0 ? "(?" : ", (?") + std::to_string(p + 1);
    for (int k = 2; k <= kColumns; ++k) sql += ", ?" + std::to_string(p + k);
    sql += ")";
  }
  return sql +
         " ON CONFLICT (name) DO UPDATE SET "
         "record_number = excluded.record_number, "
         "timestamp_seconds = excluded.timestamp_seconds, "
         "timestamp_nanos = excluded.timestamp_nanos, bookmark = excluded.bookmark, "
         "checksum = excluded.checksum";
}

// The statements a store runs, prepared once.
struct Statements {
  explicit Statements(Database& db)
      : begin_read(db, "BEGIN"),
        begin_write(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        select_meta(db,
                    "SELECT update_time_seconds, update_time_nanos, checksum FROM meta "
                    "WHERE id = 0"),
        select_states(db,
                      "SELECT name, record_number, timestamp_seconds, timestamp_nanos, bookmark, "
                      "checksum FROM states ORDER BY name"),
        upsert(db, upsert_sql(1).c_str()),
        upsert_many(db, upsert_sql(kRowsPerUpsert).c_str()),
        erase(db, "DELETE FROM states WHERE name = ?1"),
        write_meta(db,
                   "INSERT INTO meta (id, update_time_seconds, update_time_nanos, checksum) "
                   "VALUES (0, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET "
                   "update_time_seconds = excluded.update_time_seconds, "
                   "update_time_nanos = excluded.update_time_nanos, checksum = excluded.checksum") {
  }

  Statement begin_read, begin_write, commit;
  Statement select_meta, select_states;
  Statement upsert, upsert_many, erase, write_meta;
};

class SqliteStore final : public StateStore {
 public:
  explicit SqliteStore(const Settings& settings)
      : path_(settings.path),
        label_("sqlite store " + settings.path),
        // Not SQLITE_OPEN_CREATE: the file exists by now, with our mode.
        db_(create_file(settings.path, label_), SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
            label_) {
    sqlite3_busy_timeout(db_.get(), settings.busy_timeout_ms);
    db_.exec(("PRAGMA synchronous = " + settings.synchronous).c_str(), "cannot set synchronous");
    sqlite::prepare_schema(db_);
    set_journal_mode(settings.journal_mode);
    sql_.emplace(db_);
  }

  PersistedState load() override {
    PersistedState out;
    // One read transaction, so update_time and the states are of one commit.
    sql_->begin_read.run("cannot begin reading");
    try {
      {
        Statement& meta = sql_->select_meta;
        ResetOnExit reset(meta);
        if (meta.step("cannot read table meta")) {
          auto where = [] { return std::string("table meta"); };
          out.update_time = read_time(meta, 0, "update_time_seconds", "update_time_nanos", where);
          if (read_integer(meta, 2, "checksum", where) !=
              detail::timestamp_checksum(out.update_time)) {
            corrupt(label_,
                    "table meta: the update time does not match its checksum: the file "
                    "is damaged");
          }
        }
      }
      {
        Statement& rows = sql_->select_states;
        ResetOnExit reset(rows);
        while (rows.step("cannot read table states")) {
          out.states.push_back(read_state(rows, out.states.size() + 1));
        }
      }
      sql_->commit.run("cannot end reading");
    } catch (...) {
      db_.rollback();
      throw;
    }
    return out;
  }

  void commit(const Commit& commit) override {
    // The first commit takes the writer lock, held until the store is
    // destroyed. It is a flock() on PATH.lock, never a lock on the database
    // file itself: closing any other descriptor of that file would drop
    // SQLite's own POSIX locks on it.
    if (!lock_.held()) lock_ = WriterLock::acquire(path_, label_);
    sql_->begin_write.run("cannot begin a transaction");
    try {
      Statement& erase = sql_->erase;
      for (const auto& name : commit.removed) {
        erase.bind(1, name);
        erase.run("cannot delete a state");
      }
      std::vector<const EventLogState*> rows = detail::find_states(commit.states, commit.upserted);
      std::erase(rows, nullptr);  // added, then removed again
      std::size_t done = 0;
      for (; rows.size() - done >= kRowsPerUpsert; done += kRowsPerUpsert) {
        for (int i = 0; i < kRowsPerUpsert; ++i)
          bind_state(sql_->upsert_many, kColumns * i, *rows[done + i]);
        sql_->upsert_many.run("cannot write a state");
      }
      for (; done < rows.size(); ++done) {
        bind_state(sql_->upsert, 0, *rows[done]);
        sql_->upsert.run("cannot write a state");
      }
      Statement& meta = sql_->write_meta;
      meta.bind(1, commit.update_time.unix_seconds());
      meta.bind(2, static_cast<std::int64_t>(commit.update_time.nanos()));
      meta.bind(3, std::int64_t{detail::timestamp_checksum(commit.update_time)});
      meta.run("cannot write update_time");
      sql_->commit.run("cannot commit");
    } catch (...) {
      db_.rollback();
      throw;
    }
  }

 private:
  // Binds a state to parameters first + 1 to first + 5 of an upsert.
  static void bind_state(Statement& upsert, int first, const EventLogState& state) {
    upsert.bind(first + 1, std::string_view(state.name));
    // The uint64 bit pattern as a signed 64-bit integer; read back the same way.
    upsert.bind(first + 2, static_cast<std::int64_t>(state.record_number));
    upsert.bind(first + 3, state.timestamp.unix_seconds());
    upsert.bind(first + 4, static_cast<std::int64_t>(state.timestamp.nanos()));
    upsert.bind(first + 5, std::string_view(state.bookmark));
    upsert.bind(first + 6, std::int64_t{detail::state_checksum(state)});
  }

  void set_journal_mode(const std::string& mode) {
    Statement pragma(db_, ("PRAGMA journal_mode = " + mode).c_str());
    ResetOnExit reset(pragma);
    std::string result;
    if (pragma.step("cannot set journal_mode")) result = pragma.column_text(0);
    if (result != mode) {
      // SQLite keeps the old mode when it cannot switch, e.g. out of WAL
      // while another connection has the database open.
      throw Error(ErrorCode::io, label_ + ": cannot set journal_mode=" + mode +
                                     " (the database stays in mode \"" + result + "\")");
    }
  }

  // `where` names the row for messages; built only when something is wrong.
  template <typename Where>
  std::int64_t read_integer(const Statement& row, int column, const char* field,
                            const Where& where) const {
    int type = row.column_type(column);
    if (type != SQLITE_INTEGER) {
      corrupt(label_, where() + ": " + field + " is " + std::string(sqlite::type_name(type)) +
                          ", expected INTEGER");
    }
    return row.column_int64(column);
  }

  template <typename Where>
  std::string_view read_text(const Statement& row, int column, const char* field,
                             const Where& where) const {
    int type = row.column_type(column);
    if (type != SQLITE_TEXT) {
      corrupt(label_, where() + ": " + field + " is " + std::string(sqlite::type_name(type)) +
                          ", expected TEXT");
    }
    std::string_view text = row.column_text(column);
    if (!detail::is_valid_utf8(text)) corrupt(label_, where() + ": " + field + " is not UTF-8");
    return text;
  }

  // Two columns, Unix seconds and nanoseconds.
  template <typename Where>
  Timestamp read_time(const Statement& row, int column, const char* seconds_field,
                      const char* nanos_field, const Where& where) const {
    std::int64_t seconds = read_integer(row, column, seconds_field, where);
    std::int64_t nanos = read_integer(row, column + 1, nanos_field, where);
    if (seconds < Timestamp::kMinSeconds || seconds > Timestamp::kMaxSeconds || nanos < 0 ||
        nanos > 999'999'999) {
      corrupt(label_, where() + ": " + seconds_field + " " + std::to_string(seconds) + ", " +
                          nanos_field + " " + std::to_string(nanos) +
                          " are outside 0001-01-01..9999-12-31");
    }
    return Timestamp::from_unix(seconds, static_cast<std::uint32_t>(nanos));
  }

  EventLogState read_state(const Statement& row, std::size_t position) const {
    EventLogState state;
    auto by_position = [&] { return "table states, row " + std::to_string(position); };
    state.name = read_text(row, 0, "name", by_position);
    if (state.name.empty()) corrupt(label_, by_position() + ": name is empty");
    auto by_name = [&] { return "table states, row \"" + state.name + "\""; };
    state.record_number =
        static_cast<std::uint64_t>(read_integer(row, 1, "record_number", by_name));
    state.timestamp = read_time(row, 2, "timestamp_seconds", "timestamp_nanos", by_name);
    state.bookmark = read_text(row, 4, "bookmark", by_name);
    // SQLite does not checksum its pages: without this, damage inside a
    // row would read back as another value.
    if (read_integer(row, 5, "checksum", by_name) != detail::state_checksum(state)) {
      corrupt(label_, by_name() + ": the values do not match their checksum: the file is damaged");
    }
    return state;
  }

  std::filesystem::path path_;
  std::string label_;
  WriterLock lock_;
  Database db_;
  std::optional<Statements> sql_;  // after db_: finalised before it closes
};

}  // namespace

BackendInfo sqlite_backend_info() {
  return {"sqlite",
          "SQLite database, one row per state; a commit writes only what changed",
          {"synchronous", "journal_mode", "busy_timeout_ms"},
          {".db", ".sqlite", ".sqlite3"}};
}

std::unique_ptr<StateStore> open_sqlite_store(const StoreUri& uri) {
  return std::make_unique<SqliteStore>(read_settings(uri));
}

}  // namespace checkpoint::backends
