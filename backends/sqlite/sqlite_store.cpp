#include "backends/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/options.hpp"
#include "checkpoint/toolkit/system_calls.hpp"
#include "checkpoint/writer_lock.hpp"
#include "core/checksum.hpp"
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
  toolkit::FileModes modes;                   // file_mode, dir_mode
  std::chrono::milliseconds lock_timeout{0};  // waiting for the writer lock
};

Settings read_settings(const StoreUri& uri) {
  Settings s;
  s.path = toolkit::require_path(uri);
  s.synchronous = toolkit::choice_option(uri, "synchronous", {"full", "normal", "off"}, "full");
  s.journal_mode = toolkit::choice_option(uri, "journal_mode", {"wal", "delete"}, "wal");
  std::uint64_t timeout = toolkit::uint_option(uri, "busy_timeout_ms", 5000);
  if (timeout > INT_MAX) {
    throw Error(ErrorCode::invalid_config,
                "config string \"" + uri.text + "\": option busy_timeout_ms=\"" +
                    uri.options.at("busy_timeout_ms") + "\" is invalid; expected at most " +
                    std::to_string(INT_MAX));
  }
  s.busy_timeout_ms = static_cast<int>(timeout);
  s.modes = toolkit::file_modes_option(uri);
  s.lock_timeout = toolkit::lock_timeout_option(uri);
  return s;
}

// SQLite takes a file too short to hold its header for an empty database
// and would write a new one over it. Empty is a new file (ours, or one
// whose first commit is still in its -wal file); any other file must start
// with SQLite's header and hold at least one page. Something that is not a
// regular file is refused before SQLite opens it (a FIFO would block).
void check_file(const std::filesystem::path& path, const std::string& label) {
  static constexpr char kHeader[] = "SQLite format 3";  // and its NUL: 16 bytes
  static constexpr std::size_t kMinPageSize = 512;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      throw toolkit::store_error(ErrorCode::not_found, label,
                                 "no such store (" + path.string() + " does not exist)");
    }
    throw toolkit::system_error(ErrorCode::io, label, "cannot open " + path.string(), errno);
  }
  char header[sizeof kHeader] = {};
  struct stat st {};
  bool stat_ok = ::fstat(fd, &st) == 0;
  int err = errno;
  bool regular = stat_ok && S_ISREG(st.st_mode);
  bool ok =
      regular && (st.st_size == 0 || (static_cast<std::size_t>(st.st_size) >= kMinPageSize &&
                                      ::pread(fd, header, sizeof header, 0) == sizeof header &&
                                      std::memcmp(header, kHeader, sizeof header) == 0));
  ::close(fd);
  if (!stat_ok)
    throw toolkit::system_error(ErrorCode::io, label, "cannot stat " + path.string(), err);
  if (!regular) {
    throw toolkit::store_error(ErrorCode::invalid_config, label,
                               path.string() + " is not a regular file: it cannot hold a store");
  }
  if (!ok) {
    throw Error(ErrorCode::corrupt, label + ": cannot open: file is not a database (" +
                                        std::to_string(st.st_size) +
                                        " bytes without SQLite's header)");
  }
}

// Creates a missing database file with `mode` (whatever the umask), since
// SQLite gives its -wal, -shm and -journal files the mode of the database
// file (whatever the umask too: it fchmod()s each one it creates).
// The new directory entry becomes durable with the schema's commit: SQLite
// fsyncs the directory the first time it syncs a journal it created there.
void create_file(const std::filesystem::path& path, const std::string& label, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return;
    throw toolkit::system_error(ErrorCode::io, label, "cannot create " + path.string(), errno);
  }
  int rc = ::fchmod(fd, mode);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    throw toolkit::system_error(ErrorCode::io, label, "cannot chmod " + path.string(), err);
}

// The name to give SQLite: it reads "file:..." as a URI and ":memory:" as
// no file at all, so a relative path gets "./" in front.
std::string sqlite_name(const std::filesystem::path& path) {
  return path.is_absolute() ? path.string() : "./" + path.string();
}

// A URI that opens `path` as immutable: SQLite then reads the file alone,
// with no locks and no -wal, -shm or -journal file, not even created.
std::string immutable_uri(const std::filesystem::path& path) {
  std::string out = "file:";
  for (char c : sqlite_name(path)) {
    if (c == '%' || c == '?' || c == '#') {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "?immutable=1";
}

// What tells whether a database file changed between two looks: its
// identity, size and time, and SQLite's file change counter (header bytes
// 24..27, which every commit in rollback mode increments; file times are
// only as fine as the kernel's clock tick).
struct FileVersion {
  ino_t inode = 0;
  off_t size = 0;
  timespec modified{};
  std::uint32_t change_counter = 0;
  bool operator==(const FileVersion& o) const {
    return inode == o.inode && size == o.size && modified.tv_sec == o.modified.tv_sec &&
           modified.tv_nsec == o.modified.tv_nsec && change_counter == o.change_counter;
  }
};

std::optional<FileVersion> version_of(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  unsigned char counter[4] = {};
  bool ok = ::fstat(fd, &st) == 0;
  if (ok && st.st_size >= 28) ok = ::pread(fd, counter, sizeof counter, 24) == sizeof counter;
  ::close(fd);
  if (!ok) return std::nullopt;
  return FileVersion{st.st_ino, st.st_size, st.st_mtim,
                     std::uint32_t{counter[0]} << 24 | std::uint32_t{counter[1]} << 16 |
                         std::uint32_t{counter[2]} << 8 | counter[3]};
}

// Rows per statement when many states are written: one statement for many
// rows costs SQLite less per row than one statement per row.
constexpr int kRowsPerUpsert = 64;

// Parameters per row: name, record_number, timestamp_seconds,
// timestamp_nanos, bookmark, checksum, update_time_seconds,
// update_time_nanos.
constexpr int kColumns = 8;

// INSERT ... VALUES (kColumns parameters) x `rows`, updating rows that exist.
std::string upsert_sql(int rows) {
  std::string sql =
      "INSERT INTO states (name, record_number, timestamp_seconds, timestamp_nanos, bookmark, "
      "checksum, update_time_seconds, update_time_nanos) VALUES ";
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
         "checksum = excluded.checksum, update_time_seconds = excluded.update_time_seconds, "
         "update_time_nanos = excluded.update_time_nanos";
}

// SELECT of every column of a row, in the order read_state() reads them,
// of a schema version; schema 1 has no update time.
std::string state_select_sql(int version) {
  return std::string(
             "SELECT name, record_number, timestamp_seconds, timestamp_nanos, bookmark, checksum") +
         (version >= 2 ? ", update_time_seconds, update_time_nanos" : "") + " FROM states";
}

// The statements every store runs, prepared once.
struct ReadStatements {
  ReadStatements(Database& db, int version)
      : begin_read(db, "BEGIN"),
        commit(db, "COMMIT"),
        select_meta(db,
                    "SELECT update_time_seconds, update_time_nanos, checksum FROM meta "
                    "WHERE id = 0"),
        select_states(db, (state_select_sql(version) + " ORDER BY name").c_str()) {}

  Statement begin_read, commit;
  Statement select_meta, select_states;
};

// And those only writers run.
struct WriteStatements {
  explicit WriteStatements(Database& db)
      : begin_write(db, "BEGIN IMMEDIATE"),
        upsert(db, upsert_sql(1).c_str()),
        upsert_many(db, upsert_sql(kRowsPerUpsert).c_str()),
        erase(db, "DELETE FROM states WHERE name = ?1"),
        write_meta(db,
                   "INSERT INTO meta (id, update_time_seconds, update_time_nanos, checksum) "
                   "VALUES (0, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET "
                   "update_time_seconds = excluded.update_time_seconds, "
                   "update_time_nanos = excluded.update_time_nanos, checksum = excluded.checksum") {
  }

  Statement begin_write;
  Statement upsert, upsert_many, erase, write_meta;
};

// What is wrong with a row, where.
struct RowProblem {
  std::string where;  // "table states, row \"name\"" or "table states, row 7"
  std::string what;
  std::string name;  // the row's name if it could be read
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const Settings& settings, const OpenOptions& options)
      // Through a symlink, the file it leads to, as SQLite itself does (its
      // -wal lies beside that file): checked, created and locked there.
      : path_(toolkit::follow_symlinks(settings.path, "sqlite store " + settings.path)),
        label_("sqlite store " + settings.path),
        settings_(settings),
        mode_(options.mode) {
    if (mode_ == OpenMode::read) {
      // Only whether it is there: a damaged file is opened by scan(), check()
      // and salvage(), which each report the damage their own way. Beside a
      // writer of this process, not even that: closing a descriptor of the
      // file would drop the POSIX locks of the writer's connection, so the
      // file is left to SQLite (which shares its descriptors within a
      // process), and it has been checked by that writer.
      beside_writer_ = WriterLock::held_in_this_process(path_);
      if (!beside_writer_) check_file(path_, label_);
      return;
    }
    if (!options.create_if_missing && !toolkit::exists(path_, label_)) check_file(path_, label_);
    // The lock first, before anything is read: what this writer loads is
    // what it overwrites. It holds a descriptor of the database file (a
    // flock() on it, for hard links), which stays open until after the
    // connection is closed: lock_ is declared before db_, since closing
    // any descriptor of the file would drop SQLite's POSIX locks on it.
    // With the store's modes: its directories, PATH.lock and (now or once
    // made) the database file get them, before SQLite opens the file.
    lock_ = WriterLock::acquire(path_, label_, settings_.modes, settings_.lock_timeout);
    if (options.create_if_missing) create_file(path_, label_, settings_.modes.file);
    lock_.lock_data_file();  // made just now, if it was missing
    check_file(path_, label_);
    refuse_other_names();
    open_database();
  }

  // VACUUM rewrites the database into the fewest pages, as one
  // transaction: a crash leaves the old file or the new. In WAL mode it
  // goes through the -wal, so the -wal is checkpointed into the file and
  // truncated before (what VACUUM copies is then all in the file) and
  // after (the file shrinks to the new page count, the -wal to nothing).
  void compact() override {
    if (mode_ != OpenMode::write) {
      throw toolkit::store_error(ErrorCode::invalid_argument, label_,
                                 "opened for reading; cannot compact");
    }
    open_database();
    db_->exec("PRAGMA wal_checkpoint(TRUNCATE)", "cannot checkpoint the write-ahead log");
    db_->exec("VACUUM", "cannot compact the database");
    db_->exec("PRAGMA wal_checkpoint(TRUNCATE)", "cannot checkpoint the write-ahead log");
  }

  Timestamp scan(const StateSink& sink) override {
    open_database();
    if (immutable_) {
      // Read without locks while no writer could change the file, then
      // check that none came; if one did, read again as SQLite's readers do.
      std::vector<EventLogState> states;
      auto before = version_of(path_);
      Timestamp update_time =
          read_all([&](EventLogState&& state) { states.push_back(std::move(state)); });
      if (before && before == version_of(path_) && quiet()) {
        for (auto& state : states) sink(std::move(state));
        return update_time;
      }
      close_database();
      open_database(/*allow_immutable=*/false);
    }
    return read_all(sink);
  }

  void commit(const Changes& changes) override {
    if (mode_ != OpenMode::write) {
      throw toolkit::store_error(ErrorCode::invalid_argument, label_,
                                 "opened for reading; cannot commit");
    }
    writes_->begin_write.run("cannot begin a transaction");
    try {
      Statement& erase = writes_->erase;
      for (const auto& name : changes.removed) {
        erase.bind(1, name);
        erase.run("cannot delete a state");
      }
      const auto& rows = changes.upserted;
      std::size_t done = 0;
      for (; rows.size() - done >= kRowsPerUpsert; done += kRowsPerUpsert) {
        for (int i = 0; i < kRowsPerUpsert; ++i) {
          bind_state(writes_->upsert_many, kColumns * i, rows[done + i]);
        }
        writes_->upsert_many.run("cannot write a state");
      }
      for (; done < rows.size(); ++done) {
        bind_state(writes_->upsert, 0, rows[done]);
        writes_->upsert.run("cannot write a state");
      }
      Statement& meta = writes_->write_meta;
      meta.bind(1, changes.update_time.unix_seconds());
      meta.bind(2, static_cast<std::int64_t>(changes.update_time.nanos()));
      meta.bind(3, std::int64_t{detail::timestamp_checksum(changes.update_time)});
      meta.run("cannot write update_time");
      reads_->commit.run("cannot commit");
    } catch (...) {
      db_->rollback();
      throw;
    }
  }

  // Every row's checksum (through salvage()), and SQLite's own check of
  // every page and index.
  CheckReport check() override {
    CheckReport report = Store::check();
    for (auto& problem : report.problems) problem = label_ + ": " + problem;
    if (db_ && version_ != 0) {
      try {
        Statement integrity(*db_, "PRAGMA integrity_check");
        ResetOnExit reset(integrity);
        while (integrity.step("cannot check integrity")) {
          std::string line(integrity.column_text(0));
          if (line != "ok") report.problems.push_back(label_ + ": integrity_check: " + line);
        }
      } catch (const Error& e) {
        if (e.code() != ErrorCode::corrupt) throw;
        report.problems.push_back(e.what());
      }
    }
    return report;
  }

  // Every row that reads back and matches its checksum. A damaged page
  // stops a walk in name order; a second walk from the end then reads the
  // rows after it, so only the rows on damaged pages are lost.
  Salvage salvage() override {
    Salvage out;
    try {
      open_database();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      out.damage.push_back({"the file", reason(e), ""});
      return out;
    }
    if (version_ == 0) return out;
    try {
      out.readable.update_time = read_update_time();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      db_->rollback();
      out.damage.push_back({"table meta", reason(e), ""});
    }
    std::optional<std::string> stopped_after;  // set when a damaged page stopped the walk
    bool stopped = walk(reads_->select_states, std::nullopt, out, stopped_after);
    // Read with the store's update time, lost if that was damaged.
    if (stopped) {
      std::vector<EventLogState> forward = std::move(out.readable.states);
      out.readable.states.clear();
      std::string sql = state_select_sql(version_) + (stopped_after ? " WHERE name > ?1" : "") +
                        " ORDER BY name DESC";
      Statement backward(*db_, sql.c_str(), "cannot read table states");
      std::optional<std::string> ignored;
      bool stopped_again = walk(backward, stopped_after, out, ignored);
      std::string from = stopped_after ? "after \"" + *stopped_after + "\"" : "from the start";
      std::string to = out.readable.states.empty()
                           ? "to the end"
                           : "up to \"" + out.readable.states.back().name + "\"";
      out.damage.push_back({"table states",
                            "a damaged page: the rows " + from + " " + to +
                                (stopped_again ? " and beyond" : "") + " cannot be read",
                            ""});
      std::reverse(out.readable.states.begin(), out.readable.states.end());
      forward.insert(forward.end(), std::make_move_iterator(out.readable.states.begin()),
                     std::make_move_iterator(out.readable.states.end()));
      out.readable.states = std::move(forward);
    }
    return out;
  }

 private:
  // No journal holds anything: the database file alone holds everything
  // committed, and can be read as an immutable file. (A writer that starts
  // meanwhile and writes the file, or leaves frames in its -wal, is seen by
  // the check after the read. A -wal file too short for its 32-byte header
  // holds nothing: a writer that failed to start, on a full disk say, can
  // leave one.)
  bool quiet() const {
    for (const char* journal : {"-wal", "-journal"}) {
      const std::string file = path_.string() + journal;
      struct stat st;
      if (toolkit::sys().stat(file.c_str(), &st) == 0) {
        if (st.st_size >= 32) return false;
      } else if (errno != ENOENT) {
        throw toolkit::system_error(ErrorCode::io, label_, "cannot stat " + file, errno);
      }
    }
    return true;
  }

  // SQLite keeps its -wal beside the name it opened the database by, so a
  // commit made through one hard link is missed (or later undone) by a
  // writer that comes through another: a writer refuses a database file
  // with more than one name. (A symlink is followed to the one file.)
  void refuse_other_names() const {
    struct stat st;
    if (toolkit::sys().stat(path_.c_str(), &st) != 0) {
      throw toolkit::system_error(ErrorCode::io, label_, "cannot stat " + path_.string(), errno);
    }
    if (st.st_nlink > 1) {
      throw toolkit::store_error(
          ErrorCode::invalid_config, label_,
          path_.string() + " has " + std::to_string(st.st_nlink) +
              " names (hard links); SQLite keeps its journal beside the name it opens, so "
              "commits made through one name would be lost through another: keep one name "
              "(a symbolic link to it is fine)");
    }
  }

  Timestamp read_all(const StateSink& sink) {
    if (version_ == 0) return Timestamp();
    Timestamp update_time;
    // One read transaction, so update_time and the states are of one commit.
    reads_->begin_read.run("cannot begin reading");
    try {
      // A writer may have upgraded the schema since this reader opened:
      // read with the statements of the version this transaction sees.
      if (const int now = current_version(); now != version_) {
        db_->rollback();
        version_ = now;
        reads_.emplace(*db_, version_);
        return read_all(sink);
      }
      update_time = read_update_time();
      Statement& rows = reads_->select_states;
      ResetOnExit reset(rows);
      std::size_t position = 0;
      while (rows.step("cannot read table states")) {
        EventLogState state;
        if (auto problem = read_state(rows, ++position, version_, update_time, state)) {
          throw Error(ErrorCode::corrupt, label_ + ": " + problem->where + ": " + problem->what);
        }
        sink(std::move(state));
      }
      reads_->commit.run("cannot end reading");
    } catch (...) {
      db_->rollback();
      throw;
    }
    return update_time;
  }

  // PRAGMA user_version, inside a read transaction.
  int current_version() {
    Statement pragma(*db_, "PRAGMA user_version", "cannot read the schema version");
    ResetOnExit reset(pragma);
    return pragma.step("cannot read the schema version") ? static_cast<int>(pragma.column_int64(0))
                                                         : 0;
  }

  // Opens the connection and reads the schema, once. Readers open SQLite
  // read-only, and never change a setting (the journal mode). A read-only
  // connection still creates the -wal and -shm files of a WAL database if
  // they are missing, so while no writer is there (and none left a
  // journal) a reader opens the file as immutable instead, which creates
  // and locks nothing.
  void open_database(bool allow_immutable = true) {
    // An immutable connection caches what it read and never looks again:
    // once the file changed (or a journal appeared), it is opened anew.
    if (db_ && immutable_ && (version_of(path_) != opened_version_ || !quiet())) {
      close_database();
    }
    if (db_) return;
    const bool write = mode_ == OpenMode::write;
    immutable_ = !write && allow_immutable && !beside_writer_ && quiet();
    if (immutable_) opened_version_ = version_of(path_);
    // SQLite opens these itself, and would block on a FIFO (reading a
    // journal) or write through a link; immutable, it opens none of them.
    if (!immutable_) {
      for (const char* companion : {"-wal", "-shm", "-journal"}) {
        toolkit::check_companion_file(path_.string() + companion, label_);
        // New ones get the database file's mode from SQLite; those left
        // by an earlier writer get the configured mode from this one.
        if (write)
          toolkit::apply_file_mode(path_.string() + companion, settings_.modes.file, label_);
      }
    }
    // Not SQLITE_OPEN_CREATE: a writer made the file, with our mode.
    int flags = (write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
    if (immutable_) flags |= SQLITE_OPEN_URI;
    auto db = std::make_unique<Database>(immutable_ ? immutable_uri(path_) : sqlite_name(path_),
                                         flags, label_);
    sqlite3_busy_timeout(db->get(), settings_.busy_timeout_ms);
    if (write) {
      db->exec(("PRAGMA synchronous = " + settings_.synchronous).c_str(), "cannot set synchronous");
      // The journal mode first: the schema of a new database is then
      // committed through the WAL, and a crash while it is made leaves no
      // rollback journal that only a writer could undo.
      set_journal_mode(*db, settings_.journal_mode);
      sqlite::prepare_schema(*db, [this](Database& db) { upgrade_rows(db); });
      version_ = sqlite::kSchemaVersion;
    } else {
      version_ = sqlite::read_schema(*db);
    }
    if (version_ != 0) {
      reads_.emplace(*db, version_);
      if (write) writes_.emplace(*db);
    }
    db_ = std::move(db);
  }

  void close_database() {
    writes_.reset();
    reads_.reset();
    db_.reset();
  }

  // Walks `rows` (bound to `after` when given), adding what reads back to
  // out.readable and each bad row to out.damage. True if a damaged page
  // stopped it; `last` is then the last name it read.
  bool walk(Statement& rows, const std::optional<std::string>& after, Salvage& out,
            std::optional<std::string>& last) {
    ResetOnExit reset(rows);
    if (after) rows.bind(1, *after);
    std::size_t position = 0;
    try {
      while (rows.step("cannot read table states")) {
        EventLogState state;
        auto problem = read_state(rows, ++position, version_, out.readable.update_time, state);
        std::string name = problem ? problem->name : state.name;
        if (!name.empty()) last = name;
        if (problem) {
          out.damage.push_back({problem->where, problem->what, problem->name});
        } else {
          out.readable.states.push_back(std::move(state));
        }
      }
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      return true;
    }
    return false;
  }

  // The error's reason, without the label.
  std::string reason(const Error& e) const {
    std::string what = e.what();
    if (what.starts_with(label_ + ": ")) what.erase(0, label_.size() + 2);
    return what;
  }

  // Schema 1 to 2, inside prepare_schema()'s transaction, after the columns
  // were added: each row gets the store's update time (what a reader of
  // schema 1 gives it) and the checksum that covers it. Rows that do not
  // match their schema 1 checksum stop the upgrade (Error{corrupt}: the
  // transaction is rolled back), a few thousand at a time.
  void upgrade_rows(Database& db) {
    Timestamp update_time;
    {
      Statement meta(db,
                     "SELECT update_time_seconds, update_time_nanos, checksum FROM meta "
                     "WHERE id = 0",
                     "cannot read table meta");
      update_time = read_update_time(meta);
    }
    Statement rows(db, (state_select_sql(1) + " WHERE name > ?1 ORDER BY name LIMIT 4096").c_str(),
                   "cannot read table states");
    Statement update(db,
                     "UPDATE states SET update_time_seconds = ?2, update_time_nanos = ?3, "
                     "checksum = ?4 WHERE name = ?1",
                     "cannot upgrade table states");
    std::string after;  // every name is greater: names are not empty
    std::size_t position = 0;
    std::vector<EventLogState> chunk;
    do {
      chunk.clear();
      {
        ResetOnExit reset(rows);
        rows.bind(1, std::string_view(after));
        while (rows.step("cannot read table states")) {
          EventLogState& state = chunk.emplace_back();
          if (auto problem = read_state(rows, ++position, 1, update_time, state)) {
            throw Error(ErrorCode::corrupt, label_ + ": cannot upgrade to schema version 2: " +
                                                problem->where + ": " + problem->what);
          }
        }
      }
      for (const EventLogState& state : chunk) {
        update.bind(1, std::string_view(state.name));
        update.bind(2, state.update_time.unix_seconds());
        update.bind(3, static_cast<std::int64_t>(state.update_time.nanos()));
        update.bind(4, std::int64_t{detail::state_checksum_with_update_time(state)});
        update.run("cannot upgrade table states");
      }
      if (!chunk.empty()) after = chunk.back().name;
    } while (!chunk.empty());
  }

  // Binds a state to parameters first + 1 to first + kColumns of an upsert.
  static void bind_state(Statement& upsert, int first, const EventLogState& state) {
    upsert.bind(first + 1, std::string_view(state.name));
    // The uint64 bit pattern as a signed 64-bit integer; read back the same way.
    upsert.bind(first + 2, static_cast<std::int64_t>(state.record_number));
    upsert.bind(first + 3, state.timestamp.unix_seconds());
    upsert.bind(first + 4, static_cast<std::int64_t>(state.timestamp.nanos()));
    upsert.bind(first + 5, std::string_view(state.bookmark));
    upsert.bind(first + 6, std::int64_t{detail::state_checksum_with_update_time(state)});
    upsert.bind(first + 7, state.update_time.unix_seconds());
    upsert.bind(first + 8, static_cast<std::int64_t>(state.update_time.nanos()));
  }

  void set_journal_mode(Database& db, const std::string& mode) {
    Statement pragma(db, ("PRAGMA journal_mode = " + mode).c_str());
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

  Timestamp read_update_time() { return read_update_time(reads_->select_meta); }

  Timestamp read_update_time(Statement& meta) {
    ResetOnExit reset(meta);
    if (!meta.step("cannot read table meta")) return Timestamp();
    std::optional<std::string> problem;
    Timestamp out;
    auto value = read_time(meta, 0, "update_time_seconds", "update_time_nanos", problem);
    if (!problem) {
      auto checksum = read_integer(meta, 2, "checksum", problem);
      if (!problem && value && *checksum != detail::timestamp_checksum(*value)) {
        problem = "the update time does not match its checksum: the file is damaged";
      }
      if (value) out = *value;
    }
    if (problem) throw Error(ErrorCode::corrupt, label_ + ": table meta: " + *problem);
    return out;
  }

  // Each reader returns nullopt and sets `problem` when the value is wrong.
  static std::optional<std::int64_t> read_integer(const Statement& row, int column,
                                                  const char* field,
                                                  std::optional<std::string>& problem) {
    int type = row.column_type(column);
    if (type != SQLITE_INTEGER) {
      problem =
          std::string(field) + " is " + std::string(sqlite::type_name(type)) + ", expected INTEGER";
      return std::nullopt;
    }
    return row.column_int64(column);
  }

  static std::optional<std::string_view> read_text(const Statement& row, int column,
                                                   const char* field,
                                                   std::optional<std::string>& problem) {
    int type = row.column_type(column);
    if (type != SQLITE_TEXT) {
      problem =
          std::string(field) + " is " + std::string(sqlite::type_name(type)) + ", expected TEXT";
      return std::nullopt;
    }
    std::string_view text = row.column_text(column);
    if (!detail::is_valid_utf8(text)) {
      problem = std::string(field) + " is not UTF-8";
      return std::nullopt;
    }
    return text;
  }

  // Two columns, Unix seconds and nanoseconds.
  static std::optional<Timestamp> read_time(const Statement& row, int column,
                                            const char* seconds_field, const char* nanos_field,
                                            std::optional<std::string>& problem) {
    auto seconds = read_integer(row, column, seconds_field, problem);
    if (!seconds) return std::nullopt;
    auto nanos = read_integer(row, column + 1, nanos_field, problem);
    if (!nanos) return std::nullopt;
    if (*seconds < Timestamp::kMinSeconds || *seconds > Timestamp::kMaxSeconds || *nanos < 0 ||
        *nanos > 999'999'999) {
      problem = std::string(seconds_field) + " " + std::to_string(*seconds) + ", " + nanos_field +
                " " + std::to_string(*nanos) + " are outside 0001-01-01..9999-12-31";
      return std::nullopt;
    }
    return Timestamp::from_unix(*seconds, static_cast<std::uint32_t>(*nanos));
  }

  // Reads the row of schema `version` into `state`; what is wrong with it,
  // if anything. Schema 1 has no update time: the state gets the store's,
  // `update_time`.
  static std::optional<RowProblem> read_state(const Statement& row, std::size_t position,
                                              int version, Timestamp update_time,
                                              EventLogState& state) {
    std::optional<std::string> problem;
    auto name = read_text(row, 0, "name", problem);
    if (!name || name->empty()) {
      return RowProblem{"table states, row " + std::to_string(position),
                        problem.value_or("name is empty"), ""};
    }
    state.name = *name;
    auto bad = [&] {
      return RowProblem{"table states, row \"" + state.name + "\"", *problem, state.name};
    };
    auto record_number = read_integer(row, 1, "record_number", problem);
    if (!record_number) return bad();
    state.record_number = static_cast<std::uint64_t>(*record_number);
    auto timestamp = read_time(row, 2, "timestamp_seconds", "timestamp_nanos", problem);
    if (!timestamp) return bad();
    state.timestamp = *timestamp;
    auto bookmark = read_text(row, 4, "bookmark", problem);
    if (!bookmark) return bad();
    state.bookmark = *bookmark;
    // SQLite does not checksum its pages: without this, damage inside a
    // row would read back as another value.
    auto checksum = read_integer(row, 5, "checksum", problem);
    if (!checksum) return bad();
    if (version >= 2) {
      auto own = read_time(row, 6, "update_time_seconds", "update_time_nanos", problem);
      if (!own) return bad();
      state.update_time = *own;
    } else {
      state.update_time = update_time;
    }
    if (*checksum != (version >= 2 ? detail::state_checksum_with_update_time(state)
                                   : detail::state_checksum(state))) {
      problem = "the values do not match their checksum: the file is damaged";
      return bad();
    }
    return std::nullopt;
  }

  std::filesystem::path path_;
  std::string label_;
  Settings settings_;
  OpenMode mode_;
  WriterLock lock_;                            // writers only, taken before the database is opened
  bool beside_writer_ = false;                 // a reader in the process of the store's writer
  bool immutable_ = false;                     // a reader's connection opened with immutable=1
  std::optional<FileVersion> opened_version_;  // of the file, when that was done
  int version_ = 0;                            // of the schema; 0: none yet (an empty database)
  std::unique_ptr<Database> db_;
  std::optional<ReadStatements> reads_;  // after db_: finalised before it closes
  std::optional<WriteStatements> writes_;
};

// The database and its journals, beside the file a symlink leads to.
std::vector<std::filesystem::path> sqlite_files(const StoreUri& uri) {
  const std::string path = toolkit::require_path(uri);
  const std::string file = toolkit::follow_symlinks(path, "sqlite store " + path).string();
  return {file, file + "-wal", file + "-shm", file + "-journal"};
}

}  // namespace

BackendInfo sqlite_backend_info() {
  return {"sqlite",
          "SQLite database, one row per state; a commit writes only what changed",
          {"synchronous", "journal_mode", "busy_timeout_ms", "file_mode", "dir_mode",
           "lock_timeout_ms"},
          {".db", ".sqlite", ".sqlite3"},
          false,
          sqlite_files};
}

std::unique_ptr<Store> open_sqlite_store(const StoreUri& uri, const OpenOptions& options) {
  return std::make_unique<SqliteStore>(read_settings(uri), options);
}

}  // namespace checkpoint::backends
