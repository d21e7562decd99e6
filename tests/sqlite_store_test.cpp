// What is specific to the sqlite backend: its schema, its options, how it
// recognises files that are not its own, that a commit writes only the
// changed rows, how readers open the file (touching nothing while no writer
// runs, never changing the journal mode), and its check and salvage.
// Behaviour shared by every backend is in the conformance suite.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::read_bytes;
using testing::TempDir;
using ::testing::UnorderedElementsAre;
using testing::write_bytes;

constexpr OpenOptions kRead{.mode = OpenMode::read};

// A raw connection, to look at and tamper with a store's file.
class Raw {
 public:
  explicit Raw(const fs::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
  }
  ~Raw() { sqlite3_close(db_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (error ? error : "?");
    }
    sqlite3_free(error);
  }

  // The first column of the first row, as text ("" when there is none).
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

  // The first column of the first row, with its storage type checked.
  std::int64_t integer(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::int64_t out = 0;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
      ADD_FAILURE() << sql << ": no row";
    } else if (sqlite3_column_type(stmt, 0) != SQLITE_INTEGER) {
      ADD_FAILURE() << sql << ": not an INTEGER";
    } else {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

EventLogState state(std::string name, std::uint64_t record, Timestamp ts = {},
                    std::string bookmark = {}) {
  return EventLogState{std::move(name), record, ts, std::move(bookmark)};
}

StateMap map_of(std::initializer_list<EventLogState> states) {
  StateMap out;
  for (const auto& s : states) out.emplace(s.name, s);
  return out;
}

std::vector<EventLogState> list_of(const StateMap& states) {
  std::vector<EventLogState> out;
  for (const auto& [name, s] : states) out.push_back(s);
  return out;
}

// Commits the changes, sorted as Changes wants them.
void commit(Store& store, std::vector<EventLogState> upserted,
            std::vector<std::string> removed = {}, Timestamp update_time = {}) {
  std::sort(upserted.begin(), upserted.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::sort(removed.begin(), removed.end());
  store.commit(Changes{.update_time = update_time, .upserted = upserted, .removed = removed});
}

// Commits `states`, all of them upserted, with the given update_time.
void commit_all(Store& store, const StateMap& states, Timestamp update_time = {}) {
  commit(store, list_of(states), {}, update_time);
}

// The names of the files in `dir`.
std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What changes when a file is written: its bytes and its modification time.
struct FileLook {
  std::string bytes;
  timespec modified{};
  bool operator==(const FileLook& o) const {
    return bytes == o.bytes && modified.tv_sec == o.modified.tv_sec &&
           modified.tv_nsec == o.modified.tv_nsec;
  }
};

FileLook look_at(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {read_bytes(path), st.st_mtim};
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string uri(const std::string& options = "") const {
    return "sqlite:" + path_.string() + (options.empty() ? "" : "?" + options);
  }

  std::unique_ptr<Store> writer(const std::string& options = "") {
    return Store::open(uri(options));
  }
  std::unique_ptr<Store> reader() { return Store::open(uri(), kRead); }

  // Opening and loading the store fails with `code`, naming the file, for a
  // reader (which leaves the file as it was) and for a writer.
  void expect_open_fails(ErrorCode code, const std::string& what) {
    for (OpenMode mode : {OpenMode::read, OpenMode::write}) {
      SCOPED_TRACE(mode == OpenMode::read ? "reader" : "writer");
      std::string before = read_bytes(path_);
      try {
        Store::open(uri(), {.mode = mode})->load();
        ADD_FAILURE() << "opened and loaded, expected " << to_string(code) << " (" << what << ")";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_THAT(e.what(), HasSubstr(path_.string()));
        EXPECT_THAT(e.what(), HasSubstr(what));
      }
      if (mode == OpenMode::read) {
        EXPECT_TRUE(read_bytes(path_) == before) << "the reader changed the file";
      }
    }
  }

  // The SQLite header's file format write and read versions (bytes 18 and
  // 19): 1 for a rollback journal, 2 for WAL.
  std::pair<int, int> format_versions() const {
    std::string bytes = read_bytes(path_);
    if (bytes.size() < 100) {
      ADD_FAILURE() << path_ << " has no SQLite header";
      return {0, 0};
    }
    return {static_cast<unsigned char>(bytes[18]), static_cast<unsigned char>(bytes[19])};
  }

  TempDir dir_{"sqlite_store_test"};
  fs::path path_ = dir_ / "state.db";
};

// --- schema -----------------------------------------------------------------

TEST_F(SqliteStoreTest, SchemaHasVersionTablesAndDocumentedColumns) {
  {
    auto store = writer();
    StateMap states = map_of(
        {state("max", std::numeric_limits<std::uint64_t>::max(),
               Timestamp::parse("9999-12-31T23:59:59.999999999Z"), "<b/>"),
         state("half", std::uint64_t{1} << 63, Timestamp::parse("0001-01-01T00:00:00.000000001Z")),
         state("small", 42, Timestamp::parse("2017-12-05T15:16:02.6721303Z"))});
    states["max"].update_time = Timestamp::from_unix(1600000000, 5);
    commit_all(*store, states, Timestamp::from_unix(1512486967, 841893000));
  }
  Raw raw(path_);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 2);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.text("SELECT type FROM sqlite_schema WHERE name = 'states'"), "table");
  EXPECT_EQ(raw.text("SELECT type FROM sqlite_schema WHERE name = 'meta'"), "table");
  // Record numbers: the uint64 bit pattern as a signed integer.
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'max'"), -1);
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'half'"),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'small'"), 42);
  // Timestamps: Unix seconds and nanoseconds.
  EXPECT_EQ(raw.integer("SELECT timestamp_seconds FROM states WHERE name = 'max'"),
            Timestamp::kMaxSeconds);
  EXPECT_EQ(raw.integer("SELECT timestamp_nanos FROM states WHERE name = 'max'"), 999999999);
  EXPECT_EQ(raw.integer("SELECT timestamp_seconds FROM states WHERE name = 'half'"),
            Timestamp::kMinSeconds);
  EXPECT_EQ(raw.integer("SELECT timestamp_nanos FROM states WHERE name = 'half'"), 1);
  EXPECT_EQ(raw.text("SELECT bookmark FROM states WHERE name = 'max'"), "<b/>");
  EXPECT_EQ(raw.text("SELECT typeof(bookmark) FROM states WHERE name = 'small'"), "text");
  // Each state's own update time, apart from the store's.
  EXPECT_EQ(raw.integer("SELECT update_time_seconds FROM states WHERE name = 'max'"), 1600000000);
  EXPECT_EQ(raw.integer("SELECT update_time_nanos FROM states WHERE name = 'max'"), 5);
  EXPECT_EQ(raw.integer("SELECT update_time_seconds FROM meta"), 1512486967);
  EXPECT_EQ(raw.integer("SELECT update_time_nanos FROM meta"), 841893000);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM meta"), 1);
}

TEST_F(SqliteStoreTest, ReadableViewShowsUnsignedNumbersAndRfc3339Times) {
  auto max_time = Timestamp::parse("9999-12-31T23:59:59.999999999Z");
  auto first_time = Timestamp::parse("0001-01-01T00:00:00Z");
  auto some_time = Timestamp::parse("2017-12-05T15:16:02.6721303Z");
  {
    auto store = writer();
    StateMap states = map_of({state("max", std::numeric_limits<std::uint64_t>::max(), max_time),
                              state("first", 0, first_time), state("some", 7, some_time)});
    states["some"].update_time = some_time;
    commit_all(*store, states);
  }
  Raw raw(path_);
  EXPECT_EQ(raw.text("SELECT record_number FROM states_readable WHERE name = 'max'"),
            "18446744073709551615");
  EXPECT_EQ(raw.text("SELECT timestamp FROM states_readable WHERE name = 'max'"),
            max_time.to_string());
  EXPECT_EQ(raw.text("SELECT timestamp FROM states_readable WHERE name = 'first'"),
            first_time.to_string());
  EXPECT_EQ(raw.text("SELECT timestamp FROM states_readable WHERE name = 'some'"),
            some_time.to_string());
  EXPECT_EQ(raw.text("SELECT update_time FROM states_readable WHERE name = 'some'"),
            some_time.to_string());
  EXPECT_EQ(raw.text("SELECT update_time FROM states_readable WHERE name = 'max'"),
            first_time.to_string());
}

TEST_F(SqliteStoreTest, CreatesParentDirectoryAndPrivateFile) {
  path_ = dir_ / "a" / "b" / "state.sqlite";
  auto store = writer();
  commit_all(*store, map_of({state("x", 1)}));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((path_.string() + "-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(path_.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

TEST_F(SqliteStoreTest, ExtensionsPickSqlite) {
  for (const char* name : {"x.db", "x.sqlite", "x.SQLITE3"}) {
    EXPECT_EQ(parse_store_uri((dir_ / name).string()).scheme, "sqlite") << name;
  }
  auto store = Store::open((dir_ / "plain.db").string());
  commit_all(*store, map_of({state("x", 1)}));
  Raw raw(dir_ / "plain.db");
  EXPECT_EQ(raw.integer("SELECT record_number FROM states"), 1);
}

TEST_F(SqliteStoreTest, RelativePathsThatLookSpecialAreFiles) {
  // SQLite reads "file:..." as a URI and ":memory:" as no file at all; a
  // reader that opens the file by URI (immutable=1) must escape what a URI
  // reads as syntax.
  struct Case {
    const char* encoded;  // in the config string
    const char* file;     // the file it names
  };
  auto old = fs::current_path();
  fs::current_path(dir_.path());
  for (const Case& c : {Case{":memory:", ":memory:"}, Case{"file:x.db", "file:x.db"},
                        Case{"a%3Fb%2520%23c.db", "a?b%20#c.db"}}) {
    SCOPED_TRACE(c.file);
    {
      auto store = Store::open(std::string("sqlite:") + c.encoded);
      commit_all(*store, map_of({state("x", 5)}));
    }
    EXPECT_TRUE(fs::exists(dir_ / c.file));
    EXPECT_EQ(Store::open(std::string("sqlite:") + c.encoded)->load().states.size(), 1u);
    EXPECT_EQ(Store::open(std::string("sqlite:") + c.encoded, kRead)->load().states.size(), 1u);
  }
  fs::current_path(old);
}

// --- options ------------------------------------------------------------------

TEST_F(SqliteStoreTest, AcceptsEveryDocumentedOptionValue) {
  for (const char* sync : {"full", "normal", "off", "FULL"}) {
    for (const char* mode : {"wal", "delete"}) {
      std::string options =
          std::string("synchronous=") + sync + "&journal_mode=" + mode + "&busy_timeout_ms=0";
      auto store = writer(options);
      commit_all(*store, map_of({state("x", 3)}));
      EXPECT_EQ(store->load().states.size(), 1u) << options;
    }
  }
}

TEST_F(SqliteStoreTest, JournalModeOptionIsApplied) {
  writer("journal_mode=delete");
  EXPECT_EQ(Raw(path_).text("PRAGMA journal_mode"), "delete");
  writer();
  EXPECT_EQ(Raw(path_).text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, InvalidOptionValuesAreInvalidConfigAndCreateNothing) {
  for (const char* options :
       {"synchronous=extra", "synchronous=", "journal_mode=memory", "journal_mode=truncate",
        "busy_timeout_ms=-1", "busy_timeout_ms=abc", "busy_timeout_ms=1.5",
        "busy_timeout_ms=2147483648", "busy_timeout_ms=99999999999999999999", "sync=off"}) {
    for (OpenMode mode : {OpenMode::write, OpenMode::read}) {
      try {
        Store::open(uri(options), {.mode = mode});
        ADD_FAILURE() << options << " was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_config) << options << ": " << e.what();
      }
    }
  }
  EXPECT_TRUE(fs::is_empty(dir_.path()));
  try {
    Store::open("sqlite:");
    ADD_FAILURE() << "sqlite: without a path was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
  }
}

TEST_F(SqliteStoreTest, BusyDatabaseIsLockedAndKeepsThePreviousCommit) {
  auto store = writer("busy_timeout_ms=0");
  commit_all(*store, map_of({state("a", 1)}), Timestamp::from_unix(100));
  Raw other(path_);
  other.exec("BEGIN IMMEDIATE");
  try {
    commit_all(*store, map_of({state("a", 2), state("b", 1)}), Timestamp::from_unix(200));
    ADD_FAILURE() << "committed while another connection held the write lock";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::locked) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(path_.string()));
  }
  other.exec("ROLLBACK");
  auto loaded = store->load();
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(100));
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0], state("a", 1));
  // The store is still usable once the lock is gone.
  commit_all(*store, map_of({state("a", 2), state("b", 1)}), Timestamp::from_unix(200));
  EXPECT_EQ(store->load().states.size(), 2u);
}

// --- missing stores -------------------------------------------------------------

TEST_F(SqliteStoreTest, MissingStoreWithoutCreateIfMissingIsNotFoundAndCreatesNothing) {
  for (fs::path path : {dir_ / "state.db", dir_ / "sub" / "dir" / "state.db"}) {
    SCOPED_TRACE(path);
    path_ = path;
    try {
      Store::open(uri(), {.create_if_missing = false});
      ADD_FAILURE() << "opened a missing store for writing";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::not_found) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(path_.string()));
    }
    EXPECT_TRUE(fs::is_empty(dir_.path())) << "no file, lock file or directory made";
  }
}

TEST_F(SqliteStoreTest, ReaderOfAMissingStoreIsNotFoundAndCreatesNothing) {
  for (fs::path path : {dir_ / "state.db", dir_ / "sub" / "dir" / "state.db"}) {
    SCOPED_TRACE(path);
    path_ = path;
    try {
      reader()->load();
      ADD_FAILURE() << "read a missing store";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::not_found) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(path_.string()));
    }
    EXPECT_TRUE(fs::is_empty(dir_.path())) << "no file, lock file or directory made";
  }
}

// --- readers ---------------------------------------------------------------------

// A reader never changes a setting: opening a rollback-journal store to read
// it, with or without a writer beside it, leaves it in that mode.
TEST_F(SqliteStoreTest, ReaderKeepsARollbackJournalStoreInItsMode) {
  const StateMap states = map_of({state("a", 1), state("b", 2, {}, "<bm/>")});
  { commit_all(*writer("journal_mode=delete"), states, Timestamp::from_unix(100)); }
  ASSERT_EQ(format_versions(), std::make_pair(1, 1));
  {
    auto store = reader();
    PersistedState loaded = store->load();
    EXPECT_EQ(loaded.states, list_of(states));
    EXPECT_EQ(loaded.update_time, Timestamp::from_unix(100));
    EXPECT_TRUE(store->check().ok());
    EXPECT_EQ(format_versions(), std::make_pair(1, 1)) << "while the reader is open";
    EXPECT_FALSE(fs::exists(path_.string() + "-wal"));
  }
  EXPECT_EQ(format_versions(), std::make_pair(1, 1)) << "after the reader closed";
  EXPECT_FALSE(fs::exists(path_.string() + "-wal"));
  EXPECT_FALSE(fs::exists(path_.string() + "-shm"));

  // And beside a writer that keeps the rollback journal.
  auto store = writer("journal_mode=delete");
  auto beside = reader();
  EXPECT_EQ(beside->load().states, list_of(states));
  commit(*store, {state("c", 3)}, {"a"}, Timestamp::from_unix(200));
  PersistedState loaded = beside->load();
  EXPECT_EQ(loaded.states, list_of(map_of({state("b", 2, {}, "<bm/>"), state("c", 3)})));
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(200));
  EXPECT_EQ(format_versions(), std::make_pair(1, 1));
  EXPECT_FALSE(fs::exists(path_.string() + "-wal"));
  EXPECT_EQ(Raw(path_).text("PRAGMA journal_mode"), "delete");
}

// With no writer running, a reader of a WAL store reads the database file
// alone: it creates no -wal or -shm file, and changes nothing.
TEST_F(SqliteStoreTest, ReadingAWalStoreWithNoWriterTouchesNothing) {
  const StateMap states = map_of({state("a", 1), state("b", 2, {}, "<bm/>"), state("c", 3)});
  { commit_all(*writer(), states, Timestamp::from_unix(100)); }
  ASSERT_EQ(format_versions(), std::make_pair(2, 2)) << "a WAL database";
  // The last connection to close copied the log into the database.
  const std::vector<std::string> files = files_in(dir_.path());
  ASSERT_EQ(files, (std::vector<std::string>{"state.db", "state.db.lock"}));
  const FileLook before = look_at(path_);
  {
    auto store = reader();
    PersistedState loaded = store->load();
    EXPECT_EQ(loaded.states, list_of(states));
    EXPECT_EQ(loaded.update_time, Timestamp::from_unix(100));
    EXPECT_EQ(store->load().states.size(), 3u) << "a second load";
    CheckReport report = store->check();
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_EQ(report.states, 3u);
    Salvage salvaged = store->salvage();
    EXPECT_TRUE(salvaged.damage.empty());
    EXPECT_EQ(salvaged.readable.states, list_of(states));
    EXPECT_EQ(files_in(dir_.path()), files) << "while the reader is open";
    EXPECT_TRUE(look_at(path_) == before) << "while the reader is open";
    try {
      commit(*store, {state("d", 4)});
      ADD_FAILURE() << "a reader committed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    }
  }
  EXPECT_EQ(files_in(dir_.path()), files);
  EXPECT_TRUE(look_at(path_) == before);
}

// A reader beside a writer sees each of its commits, whether the reader was
// opened before the writer came (and first read the file alone) or while
// the writer held the store.
TEST_F(SqliteStoreTest, ReaderSeesTheCommitsOfAWriterThatHoldsTheStore) {
  for (const char* mode : {"wal", "delete"}) {
    for (bool reader_first : {true, false}) {
      SCOPED_TRACE(std::string(mode) + (reader_first ? ", reader first" : ", writer first"));
      path_ = dir_ / (std::string(mode) + (reader_first ? "-reader-first" : "") + ".db");
      const std::string options = std::string("journal_mode=") + mode;
      { commit_all(*writer(options), map_of({state("a", 1)}), Timestamp::from_unix(1)); }

      std::unique_ptr<Store> early = reader_first ? reader() : nullptr;
      if (early) {
        EXPECT_EQ(early->load().states, list_of(map_of({state("a", 1)})));
      }
      auto store = writer(options);
      EXPECT_EQ(store->load().states.size(), 1u);
      auto beside = early ? std::move(early) : reader();
      try {
        writer(options);
        ADD_FAILURE() << "a second writer opened";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::locked) << e.what();
      }
      StateMap states = map_of({state("a", 1)});
      for (int round = 2; round <= 5; ++round) {
        std::string name = "s" + std::to_string(round);
        states.insert_or_assign("a", state("a", static_cast<std::uint64_t>(round)));
        states.emplace(name, state(name, 7));
        commit(*store, {state("a", static_cast<std::uint64_t>(round)), state(name, 7)}, {},
               Timestamp::from_unix(round));
        PersistedState loaded = beside->load();
        EXPECT_EQ(loaded.states, list_of(states)) << "round " << round;
        EXPECT_EQ(loaded.update_time, Timestamp::from_unix(round)) << "round " << round;
      }
      // The writer gone, the reader still reads the last commit.
      store.reset();
      EXPECT_EQ(beside->load().states, list_of(states));
      EXPECT_EQ(reader()->load().states, list_of(states));
    }
  }
}

// --- check and salvage --------------------------------------------------------------

// Stores the wrong checksum in one row, as damage inside a row would.
void damage_checksum(const fs::path& path, const std::string& name) {
  Raw(path).exec("UPDATE states SET checksum = checksum + 1 WHERE name = '" + name + "'");
}

TEST_F(SqliteStoreTest, CheckReportsARowWithABadChecksum) {
  const StateMap states = map_of({state("a", 1), state("b", 2), state("c", 3)});
  { commit_all(*writer(), states, Timestamp::from_unix(100)); }
  damage_checksum(path_, "b");

  auto store = reader();
  try {
    store->load();
    ADD_FAILURE() << "loaded a damaged row";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("\"b\""));
  }
  CheckReport report;
  ASSERT_NO_THROW(report = store->check());
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.states, 2u);
  EXPECT_EQ(report.update_time, Timestamp::from_unix(100));
  ASSERT_EQ(report.problems.size(), 1u) << ::testing::PrintToString(report.problems);
  EXPECT_THAT(report.problems[0], HasSubstr(path_.string()));
  EXPECT_THAT(report.problems[0], HasSubstr("row \"b\""));
  EXPECT_THAT(report.problems[0], HasSubstr("checksum"));
  // A writer's check reports the same.
  auto store_writer = writer();
  EXPECT_EQ(store_writer->check().problems, report.problems);
}

TEST_F(SqliteStoreTest, CheckReportsWhatIntegrityCheckFinds) {
  const StateMap states = map_of({state("a", 1, {}, "x"), state("b", 2, {}, "y")});
  { commit_all(*writer(), states, Timestamp::from_unix(100)); }
  // An index whose entries no longer match its definition: every row reads
  // back, but SQLite's integrity_check finds the index wrong.
  {
    Raw raw(path_);
    raw.exec("CREATE INDEX extra ON states (record_number)");
    raw.exec("PRAGMA writable_schema = ON");
    raw.exec(
        "UPDATE sqlite_schema SET sql = 'CREATE INDEX extra ON states (bookmark)' "
        "WHERE name = 'extra'");
  }
  auto store = reader();
  EXPECT_EQ(store->load().states, list_of(states)) << "the rows themselves are intact";
  CheckReport report;
  ASSERT_NO_THROW(report = store->check());
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.states, 2u);
  EXPECT_EQ(report.update_time, Timestamp::from_unix(100));
  ASSERT_FALSE(report.problems.empty());
  for (const auto& problem : report.problems) {
    EXPECT_THAT(problem, HasSubstr(path_.string()));
    EXPECT_THAT(problem, HasSubstr("integrity_check"));
    EXPECT_THAT(problem, HasSubstr("index extra"));
  }
}

TEST_F(SqliteStoreTest, SalvageReturnsEveryIntactRowAndNamesTheDamagedOne) {
  StateMap states;
  for (int i = 0; i < 300; ++i) {
    std::string name = "stream-" + std::to_string(1000 + i);
    states.emplace(name, state(name, static_cast<std::uint64_t>(i), Timestamp::from_unix(i),
                               i % 2 ? "<bookmark/>" : ""));
  }
  { commit_all(*writer(), states, Timestamp::from_unix(12345, 6)); }
  const std::string damaged = "stream-1150";
  damage_checksum(path_, damaged);

  auto store = reader();
  Salvage salvaged;
  ASSERT_NO_THROW(salvaged = store->salvage());
  StateMap intact = states;
  intact.erase(damaged);
  EXPECT_EQ(salvaged.readable.states, list_of(intact));
  EXPECT_EQ(salvaged.readable.update_time, Timestamp::from_unix(12345, 6));
  ASSERT_EQ(salvaged.damage.size(), 1u);
  EXPECT_EQ(salvaged.damage[0].name, damaged);
  EXPECT_THAT(salvaged.damage[0].where, HasSubstr(damaged));
  EXPECT_THAT(salvaged.damage[0].what, HasSubstr("checksum"));
}

// --- files that are not ours --------------------------------------------------

TEST_F(SqliteStoreTest, TextFileIsCorrupt) {
  write_bytes(path_, "update_time: 2017-12-05T15:16:07.841893Z\nevent_logs: []\n");
  expect_open_fails(ErrorCode::corrupt, "not a database");
}

TEST_F(SqliteStoreTest, NulFilledFileIsCorrupt) {
  write_bytes(path_, std::string(8192, '\0'));
  expect_open_fails(ErrorCode::corrupt, "not a database");
}

TEST_F(SqliteStoreTest, TruncatedFileIsCorrupt) {
  {
    auto store = writer("journal_mode=delete");
    StateMap states;
    for (int i = 0; i < 2000; ++i) {
      std::string name = "stream-" + std::to_string(i) + std::string(40, 'x');
      states.emplace(name, state(name, i));
    }
    commit_all(*store, states);
  }
  auto size = fs::file_size(path_);
  ASSERT_GT(size, 16384u);
  for (auto keep : {size / 2, std::uintmax_t{4096}}) {
    fs::resize_file(path_, keep);
    expect_open_fails(ErrorCode::corrupt, "malformed");
  }
  // Shorter than a page: SQLite alone would take it for a new database.
  for (auto keep : {std::uintmax_t{50}, std::uintmax_t{1}}) {
    fs::resize_file(path_, keep);
    expect_open_fails(ErrorCode::corrupt, "not a database");
  }
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsUnsupported) {
  writer();
  Raw(path_).exec("PRAGMA user_version = 99");
  expect_open_fails(ErrorCode::unsupported, "schema version 99");
}

TEST_F(SqliteStoreTest, UnrelatedDatabaseIsCorrupt) {
  Raw(path_).exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)");
  expect_open_fails(ErrorCode::corrupt, "not a checkpoint store");
}

TEST_F(SqliteStoreTest, WrongShapedTablesAreCorrupt) {
  struct Case {
    const char* sql;
    const char* what;
  };
  for (const Case& c : {
           Case{"DROP TABLE meta", "table meta is missing"},
           Case{"ALTER TABLE states RENAME COLUMN record_number TO record", "table states"},
           Case{"DROP VIEW states_readable; ALTER TABLE states DROP COLUMN bookmark",
                "table states has columns (name TEXT PRIMARY KEY, record_number INTEGER, "
                "timestamp_seconds INTEGER, timestamp_nanos INTEGER, checksum INTEGER, "
                "update_time_seconds INTEGER, update_time_nanos INTEGER), expected"},
           Case{"DROP VIEW states_readable; DROP TABLE states; CREATE TABLE states (name TEXT "
                "PRIMARY KEY, record_number TEXT, timestamp_seconds INTEGER, timestamp_nanos "
                "INTEGER, bookmark TEXT)",
                "record_number TEXT"},
           Case{"DROP VIEW states_readable; DROP TABLE states; CREATE TABLE states (name TEXT, "
                "record_number INTEGER, timestamp_seconds INTEGER, timestamp_nanos INTEGER, "
                "bookmark TEXT)",
                "(name TEXT, record_number"},
           Case{"ALTER TABLE meta ADD COLUMN extra TEXT", "table meta"},
           Case{"DROP VIEW states_readable; DROP TABLE states; CREATE VIEW states AS SELECT 'x' AS "
                "name, 1 AS "
                "record_number, 0 AS timestamp_seconds, 0 AS timestamp_nanos, '' AS bookmark",
                "table states is missing"},
       }) {
    fs::remove(path_);
    writer("journal_mode=delete");
    Raw(path_).exec(c.sql);
    SCOPED_TRACE(c.sql);
    expect_open_fails(ErrorCode::corrupt, c.what);
  }
}

TEST_F(SqliteStoreTest, WrongValuesInRowsAreCorruptNamingTheRow) {
  struct Case {
    const char* sql;
    const char* what;
  };
  for (const Case& c : {
           Case{"UPDATE states SET record_number = 'many' WHERE name = 'b'",
                "row \"b\": record_number is TEXT, expected INTEGER"},
           Case{"UPDATE states SET record_number = 1.5 WHERE name = 'b'",
                "row \"b\": record_number is REAL"},
           Case{"UPDATE states SET timestamp_seconds = '2017-12-05' WHERE name = 'b'",
                "row \"b\": timestamp_seconds is TEXT"},
           Case{"UPDATE states SET timestamp_nanos = 1000000000 WHERE name = 'b'",
                "row \"b\": timestamp_seconds"},
           Case{"UPDATE states SET timestamp_seconds = 253402300800 WHERE name = 'b'",
                "row \"b\": timestamp_seconds 253402300800"},
           Case{"UPDATE states SET bookmark = x'00ff' WHERE name = 'b'",
                "row \"b\": bookmark is BLOB"},
           Case{"UPDATE states SET bookmark = CAST(x'c328' AS TEXT) WHERE name = 'b'",
                "row \"b\": bookmark is not UTF-8"},
           Case{"UPDATE states SET checksum = checksum + 1 WHERE name = 'b'",
                "row \"b\": the values do not match their checksum"},
           Case{"UPDATE states SET name = x'62' WHERE name = 'b'", "name is BLOB, expected TEXT"},
           Case{"UPDATE states SET name = '' WHERE name = 'a'", "row 1: name is empty"},
           Case{"UPDATE meta SET update_time_nanos = 'soon'",
                "table meta: update_time_nanos is TEXT"},
       }) {
    fs::remove(path_);
    {
      auto store = writer("journal_mode=delete");
      commit_all(*store, map_of({state("a", 1), state("b", 2), state("c", 3)}));
    }
    Raw(path_).exec(c.sql);
    SCOPED_TRACE(c.sql);
    expect_open_fails(ErrorCode::corrupt, c.what);
  }
}

// --- incremental commits ------------------------------------------------------

TEST_F(SqliteStoreTest, CommitWritesOnlyUpsertedAndRemovedRows) {
  auto store = writer();
  commit_all(*store, map_of({state("a", 1), state("b", 1), state("c", 1)}));
  // Every row written from now on is logged.
  Raw raw(path_);
  raw.exec(
      "CREATE TABLE writes (name TEXT, op TEXT);"
      "CREATE TRIGGER log_insert AFTER INSERT ON states "
      "BEGIN INSERT INTO writes VALUES (NEW.name, 'insert'); END;"
      "CREATE TRIGGER log_update AFTER UPDATE ON states "
      "BEGIN INSERT INTO writes VALUES (NEW.name, 'update'); END;"
      "CREATE TRIGGER log_delete AFTER DELETE ON states "
      "BEGIN INSERT INTO writes VALUES (OLD.name, 'delete'); END;");
  auto written = [&] {
    return raw.text(
        "SELECT group_concat(name || ':' || op, ' ') FROM (SELECT * FROM writes ORDER BY rowid)");
  };

  commit(*store, {state("a", 2)}, {}, Timestamp::from_unix(5));
  EXPECT_EQ(written(), "a:update");
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'a'"), 2);
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'b'"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM states WHERE name = 'c'"), 1);

  // Removing touches only the removed row; a name never stored is no error.
  commit(*store, {}, {"c", "never"}, Timestamp::from_unix(6));
  EXPECT_EQ(written(), "a:update c:delete");
  EXPECT_EQ(raw.integer("SELECT count(*) FROM states"), 2);
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'b'"), 1);
  EXPECT_EQ(raw.integer("SELECT update_time_seconds FROM meta"), 6);

  // Many rows at once (several statements of many rows, and the rest).
  raw.exec("DELETE FROM writes");
  std::vector<EventLogState> many;
  for (int i = 0; i < 150; ++i) many.push_back(state("m" + std::to_string(1000 + i), i));
  commit(*store, many, {"a"}, Timestamp::from_unix(7));
  EXPECT_EQ(raw.integer("SELECT count(*) FROM writes WHERE op = 'insert'"), 150);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM writes WHERE op = 'delete' AND name = 'a'"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM writes"), 151);
  PersistedState loaded = store->load();
  EXPECT_EQ(loaded.states.size(), 151u);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(7));
  EXPECT_EQ(loaded.states.back(), state("m1149", 149));
}

TEST_F(SqliteStoreTest, FailedCommitRollsBackEverything) {
  auto store = writer();
  commit_all(*store, map_of({state("a", 1)}), Timestamp::from_unix(100));
  // A trigger that refuses one row fails the commit half way through.
  Raw(path_).exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON states WHEN NEW.name = 'z' "
      "BEGIN SELECT RAISE(ABORT, 'refused'); END");
  try {
    commit(*store, {state("a", 2), state("b", 1), state("z", 1)}, {}, Timestamp::from_unix(200));
    ADD_FAILURE() << "commit succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(path_.string()));
    EXPECT_THAT(e.what(), HasSubstr("refused"));
  }
  auto loaded = store->load();
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(100));
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0], state("a", 1));
  // And a reader sees the same.
  EXPECT_EQ(reader()->load().states, loaded.states);
}

}  // namespace
}  // namespace checkpoint
