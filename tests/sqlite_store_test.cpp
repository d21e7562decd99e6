// What is specific to the sqlite backend: its schema, its options, how it
// recognises files that are not its own, and that a commit writes only the
// changed rows. Behaviour shared by every backend is in the conformance suite.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

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

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sqlite_store_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ / "state.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string uri(const std::string& options = "") const {
    return "sqlite:" + path_.string() + (options.empty() ? "" : "?" + options);
  }

  // Commits `states` (all of them upserted) with the given update_time.
  void commit_all(StateStore& store, const StateMap& states, Timestamp update_time = {}) {
    std::vector<std::string> upserted, removed;
    for (const auto& [name, state] : states) upserted.push_back(name);
    store.commit(Commit{update_time, states, upserted, removed});
  }

  void write_file(const std::string& bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  // Opening (and loading) the store fails with `code`, naming the file.
  void expect_open_fails(ErrorCode code, const std::string& what) {
    try {
      open_store(uri())->load();
      ADD_FAILURE() << "opened and loaded, expected " << to_string(code) << " (" << what << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(path_.string()));
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  }

  fs::path dir_;
  fs::path path_;
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

// --- schema -----------------------------------------------------------------

TEST_F(SqliteStoreTest, SchemaHasVersionTablesAndDocumentedColumns) {
  {
    auto store = open_store(uri());
    commit_all(*store,
               map_of({state("max", std::numeric_limits<std::uint64_t>::max(),
                             Timestamp::parse("9999-12-31T23:59:59.999999999Z"), "<b/>"),
                       state("half", std::uint64_t{1} << 63,
                             Timestamp::parse("0001-01-01T00:00:00.000000001Z")),
                       state("small", 42, Timestamp::parse("2017-12-05T15:16:02.6721303Z"))}),
               Timestamp::from_unix(1512486967, 841893000));
  }
  Raw raw(path_);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 1);
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
  EXPECT_EQ(raw.integer("SELECT update_time_seconds FROM meta"), 1512486967);
  EXPECT_EQ(raw.integer("SELECT update_time_nanos FROM meta"), 841893000);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM meta"), 1);
}

TEST_F(SqliteStoreTest, ReadableViewShowsUnsignedNumbersAndRfc3339Times) {
  auto max_time = Timestamp::parse("9999-12-31T23:59:59.999999999Z");
  auto first_time = Timestamp::parse("0001-01-01T00:00:00Z");
  auto some_time = Timestamp::parse("2017-12-05T15:16:02.6721303Z");
  {
    auto store = open_store(uri());
    commit_all(*store, map_of({state("max", std::numeric_limits<std::uint64_t>::max(), max_time),
                               state("first", 0, first_time), state("some", 7, some_time)}));
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
}

TEST_F(SqliteStoreTest, CreatesParentDirectoryAndPrivateFile) {
  path_ = dir_ / "a" / "b" / "state.sqlite";
  auto store = open_store(uri());
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
  auto store = open_store((dir_ / "plain.db").string());
  commit_all(*store, map_of({state("x", 1)}));
  Raw raw(dir_ / "plain.db");
  EXPECT_EQ(raw.integer("SELECT record_number FROM states"), 1);
}

TEST_F(SqliteStoreTest, RelativePathsThatLookSpecialAreFiles) {
  // SQLite reads "file:..." as a URI and ":memory:" as no file at all.
  auto old = fs::current_path();
  fs::current_path(dir_);
  for (const char* name : {":memory:", "file:x.db"}) {
    {
      auto store = open_store(std::string("sqlite:") + name);
      commit_all(*store, map_of({state("x", 5)}));
    }
    EXPECT_TRUE(fs::exists(dir_ / name)) << name;
    EXPECT_EQ(open_store(std::string("sqlite:") + name)->load().states.size(), 1u) << name;
  }
  fs::current_path(old);
}

// --- options ------------------------------------------------------------------

TEST_F(SqliteStoreTest, AcceptsEveryDocumentedOptionValue) {
  for (const char* sync : {"full", "normal", "off", "FULL"}) {
    for (const char* mode : {"wal", "delete"}) {
      std::string options =
          std::string("synchronous=") + sync + "&journal_mode=" + mode + "&busy_timeout_ms=0";
      auto store = open_store(uri(options));
      commit_all(*store, map_of({state("x", 3)}));
      EXPECT_EQ(store->load().states.size(), 1u) << options;
    }
  }
}

TEST_F(SqliteStoreTest, JournalModeOptionIsApplied) {
  open_store(uri("journal_mode=delete"));
  EXPECT_EQ(Raw(path_).text("PRAGMA journal_mode"), "delete");
  open_store(uri());
  EXPECT_EQ(Raw(path_).text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, InvalidOptionValuesAreInvalidConfigAndCreateNothing) {
  for (const char* options :
       {"synchronous=extra", "synchronous=", "journal_mode=memory", "journal_mode=truncate",
        "busy_timeout_ms=-1", "busy_timeout_ms=abc", "busy_timeout_ms=1.5",
        "busy_timeout_ms=2147483648", "busy_timeout_ms=99999999999999999999", "sync=off"}) {
    try {
      open_store(uri(options));
      ADD_FAILURE() << options << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_config) << options << ": " << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(path_));
  try {
    open_store("sqlite:");
    ADD_FAILURE() << "sqlite: without a path was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
  }
}

TEST_F(SqliteStoreTest, BusyDatabaseIsLockedAndKeepsThePreviousCommit) {
  auto store = open_store(uri("busy_timeout_ms=0"));
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

// --- files that are not ours --------------------------------------------------

TEST_F(SqliteStoreTest, TextFileIsCorrupt) {
  write_file("update_time: 2017-12-05T15:16:07.841893Z\nevent_logs: []\n");
  expect_open_fails(ErrorCode::corrupt, "not a database");
}

TEST_F(SqliteStoreTest, NulFilledFileIsCorrupt) {
  write_file(std::string(8192, '\0'));
  expect_open_fails(ErrorCode::corrupt, "not a database");
}

TEST_F(SqliteStoreTest, TruncatedFileIsCorrupt) {
  {
    auto store = open_store(uri("journal_mode=delete"));
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
  open_store(uri());
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
                "timestamp_seconds INTEGER, timestamp_nanos INTEGER, checksum INTEGER), "
                "expected"},
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
    open_store(uri("journal_mode=delete"));
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
           Case{"UPDATE states SET name = x'62' WHERE name = 'b'", "name is BLOB, expected TEXT"},
           Case{"UPDATE states SET name = '' WHERE name = 'a'", "row 1: name is empty"},
           Case{"UPDATE meta SET update_time_nanos = 'soon'",
                "table meta: update_time_nanos is TEXT"},
       }) {
    fs::remove(path_);
    {
      auto store = open_store(uri("journal_mode=delete"));
      commit_all(*store, map_of({state("a", 1), state("b", 2), state("c", 3)}));
    }
    Raw(path_).exec(c.sql);
    SCOPED_TRACE(c.sql);
    expect_open_fails(ErrorCode::corrupt, c.what);
  }
}

// --- incremental commits ------------------------------------------------------

TEST_F(SqliteStoreTest, CommitWritesOnlyUpsertedAndRemovedRows) {
  auto store = open_store(uri());
  commit_all(*store, map_of({state("a", 1), state("b", 1), state("c", 1)}));

  // `states` says b is 99 and c is gone, but only a is upserted and nothing
  // removed: a store that writes only what changed leaves b and c alone.
  StateMap states = map_of({state("a", 2), state("b", 99)});
  std::vector<std::string> upserted{"a"}, removed;
  store->commit(Commit{Timestamp::from_unix(5), states, upserted, removed});

  Raw raw(path_);
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'a'"), 2);
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'b'"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM states WHERE name = 'c'"), 1);

  // Removing touches only the removed row.
  std::vector<std::string> none, gone{"c"};
  store->commit(Commit{Timestamp::from_unix(6), states, none, gone});
  EXPECT_EQ(raw.integer("SELECT count(*) FROM states"), 2);
  EXPECT_EQ(raw.integer("SELECT record_number FROM states WHERE name = 'b'"), 1);
  EXPECT_EQ(raw.integer("SELECT update_time_seconds FROM meta"), 6);
}

TEST_F(SqliteStoreTest, FailedCommitRollsBackEverything) {
  auto store = open_store(uri());
  commit_all(*store, map_of({state("a", 1)}), Timestamp::from_unix(100));
  // A trigger that refuses one row fails the commit half way through.
  Raw(path_).exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON states WHEN NEW.name = 'z' "
      "BEGIN SELECT RAISE(ABORT, 'refused'); END");
  StateMap states = map_of({state("a", 2), state("b", 1), state("z", 1)});
  std::vector<std::string> upserted{"a", "b", "z"}, removed;
  try {
    store->commit(Commit{Timestamp::from_unix(200), states, upserted, removed});
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
}

}  // namespace
}  // namespace checkpoint
