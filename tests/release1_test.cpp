// Stores written by release 0.1 (tests/fixtures/release1/): every format
// reads them exactly, each state taking the store's update time, without
// changing a byte; the first write upgrades them (SQLite schema 2, LMDB
// format 2, a per-state update_time in YAML and JSON), and the states not
// changed by that write keep the store's old update time. What a crash or
// an I/O error during the upgrade leaves is tested by the fault loops
// (tests/fault, EveryCallOfUpgradingARelease1Store).
#include "tests/release1.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/store.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;

struct Format {
  std::string scheme, extension;
};

void PrintTo(const Format& f, std::ostream* os) { *os << f.scheme; }

// What says which version a file is: the SQLite schema version, the LMDB
// format version, or the number of update_time keys of a YAML or JSON
// document (1 before the upgrade: the store's alone).
std::int64_t version_mark(const Format& format, const fs::path& path) {
  if (format.scheme == "sqlite") {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const std::int64_t version = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return version;
  }
  if (format.scheme == "lmdb") {
    MDB_env* env = nullptr;
    EXPECT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 2);
    EXPECT_EQ(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600), 0);
    MDB_txn* txn = nullptr;
    EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
    MDB_dbi meta;
    EXPECT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val key{14, const_cast<char*>("format_version")}, value;
    EXPECT_EQ(mdb_get(txn, meta, &key, &value), 0);
    std::uint32_t version = 0;
    if (value.mv_size == 4) std::memcpy(&version, value.mv_data, 4);  // little-endian
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return version;
  }
  const std::string text = testing::read_bytes(path);
  std::int64_t keys = 0;
  for (auto at = text.find("update_time"); at != std::string::npos;
       at = text.find("update_time", at + 1)) {
    ++keys;
  }
  return keys;
}

class Release1 : public ::testing::TestWithParam<Format> {
 protected:
  fs::path copy() {
    const fs::path path = dir_ / ("state." + GetParam().extension);
    fs::copy_file(testing::release1_fixture(GetParam().extension), path);
    return path;
  }
  std::string uri(const fs::path& path) const { return GetParam().scheme + ":" + path.string(); }

  testing::TempDir dir_{"release1_test"};
  const PersistedState expected_ = testing::release1_expected();
};

TEST_P(Release1, TheExpectationHasTheStoresUpdateTimeOnEveryState) {
  ASSERT_EQ(expected_.states.size(), 20u);
  EXPECT_EQ(expected_.update_time.to_string(), "2026-11-26T17:46:34.038711459Z");
  for (const auto& state : expected_.states) EXPECT_EQ(state.update_time, expected_.update_time);
}

TEST_P(Release1, AReaderLoadsItExactlyAndChangesNothing) {
  const fs::path path = copy();
  const std::string before = testing::read_bytes(path);
  const PersistedState loaded = Store::open(uri(path), {.mode = OpenMode::read})->load();
  EXPECT_EQ(loaded.update_time, expected_.update_time);
  EXPECT_EQ(loaded.states, expected_.states);
  EXPECT_TRUE(testing::read_bytes(path) == before) << "a reader changed the file";
  EXPECT_EQ(version_mark(GetParam(), path), 1);
}

TEST_P(Release1, TheFirstWriteUpgradesItAndKeepsEveryOtherStateExactly) {
  const fs::path path = copy();
  const Timestamp later = Timestamp::parse("2027-01-02T03:04:05.000000006Z");
  {
    auto writer = Store::open(uri(path));
    const PersistedState loaded = writer->load();
    EXPECT_EQ(loaded.states, expected_.states);
    EventLogState changed = expected_.states.front();
    changed.record_number += 1;
    changed.update_time = later;
    const std::vector<EventLogState> upserted{changed};
    const std::vector<std::string> removed{expected_.states.back().name};
    writer->commit(Changes{later, upserted, removed});
  }
  PersistedState want = expected_;
  want.update_time = later;
  want.states.front().record_number += 1;
  want.states.front().update_time = later;
  want.states.pop_back();
  const PersistedState loaded = Store::open(uri(path), {.mode = OpenMode::read})->load();
  EXPECT_EQ(loaded.update_time, want.update_time);
  EXPECT_EQ(loaded.states, want.states);
  const std::int64_t upgraded =
      GetParam().scheme == "sqlite" || GetParam().scheme == "lmdb"
          ? 2
          : 1 + static_cast<std::int64_t>(want.states.size());  // the store's, then each state's
  EXPECT_EQ(version_mark(GetParam(), path), upgraded);
}

// Through the front end, as a shipper upgrading in place meets it.
TEST_P(Release1, ACheckpointResumesFromItAndStampsOnlyWhatChanges) {
  const fs::path path = copy();
  {
    Checkpoint checkpoint(uri(path));
    StateMap want;
    for (const auto& state : expected_.states) want.emplace(state.name, state);
    EXPECT_EQ(checkpoint.states(), want);
    checkpoint.persist("new stream", 1, Timestamp::from_unix(1));
  }
  const PersistedState loaded = Store::open(uri(path), {.mode = OpenMode::read})->load();
  ASSERT_EQ(loaded.states.size(), expected_.states.size() + 1);
  for (const auto& state : loaded.states) {
    if (state.name == "new stream") {
      EXPECT_EQ(state.update_time, loaded.update_time);
    } else {
      EXPECT_EQ(state.update_time, expected_.update_time) << state.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, Release1,
                         ::testing::Values(Format{"yaml", "yml"}, Format{"json", "json"},
                                           Format{"sqlite", "db"}, Format{"lmdb", "lmdb"}),
                         [](const auto& info) { return info.param.scheme; });

}  // namespace
}  // namespace checkpoint
