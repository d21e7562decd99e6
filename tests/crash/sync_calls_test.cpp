// SQLite and LMDB do their own file I/O, so the power-cut model of
// checkpoint/power_cut.hpp cannot see it. What can be checked is that each
// commit makes the calls their documentation says durability rests on,
// observed where they reach the C library (io_trace.hpp):
//
// - SQLite in WAL mode with synchronous=FULL: "the WAL file is synchronized
//   before each commit" (https://sqlite.org/pragma.html#pragma_synchronous),
//   i.e. every commit ends with an fsync/fdatasync of the -wal file after
//   its last write to it; and a journal it creates has its directory synced
//   (the unix VFS syncs the directory at the first sync of a new -wal), so
//   the -wal file itself survives.
// - LMDB without MDB_NOSYNC: a commit writes the data pages, syncs them
//   (fdatasync), then writes the meta page that makes them current through
//   a descriptor opened O_DSYNC (http://www.lmdb.tech/doc/, mdb_env_open:
//   "MDB_NOSYNC: Don't flush system buffers to disk when committing a
//   transaction"); the meta page must not reach the disk before the pages
//   it points to.
//
// Each check has teeth: with synchronous=off or normal (SQLite) and sync=off
// (LMDB) the same check must report the missing calls.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/store.hpp"
#include "tests/crash/io_trace.hpp"
#include "tests/test_files.hpp"

namespace checkpoint::crash {
namespace {

namespace fs = std::filesystem;
using Kind = IoEvent::Kind;

bool is_sync(const IoEvent& e) {
  return e.kind == Kind::fsync || e.kind == Kind::fdatasync || e.kind == Kind::msync;
}

std::string listing(const std::vector<IoEvent>& events) {
  std::string out;
  for (const auto& e : events) out += "\n      " + to_string(e);
  return out;
}

// The last event at or after `from` for which `match` holds; npos if none.
template <typename Match>
std::size_t last(const std::vector<IoEvent>& events, Match match) {
  for (std::size_t i = events.size(); i-- > 0;) {
    if (match(events[i])) return i;
  }
  return std::string::npos;
}

template <typename Match>
std::size_t first_after(const std::vector<IoEvent>& events, std::size_t from, Match match) {
  for (std::size_t i = from + 1; i < events.size(); ++i) {
    if (match(events[i])) return i;
  }
  return std::string::npos;
}

// What one SQLite commit (WAL mode) failed to do for durability. `wal_new`:
// the -wal file did not exist before it.
std::vector<std::string> sqlite_commit_problems(const std::vector<IoEvent>& events,
                                                const fs::path& db, bool wal_new) {
  const std::string wal = db.string() + "-wal";
  const std::string dir = db.parent_path().string();
  std::vector<std::string> problems;
  auto wal_write = [&](const IoEvent& e) { return e.kind == Kind::write && e.path == wal; };
  const std::size_t last_write = last(events, wal_write);
  if (last_write == std::string::npos) {
    problems.push_back("the commit wrote nothing to " + wal);
    return problems;
  }
  if (first_after(events, last_write, [&](const IoEvent& e) {
        return is_sync(e) && e.path == wal;
      }) == std::string::npos) {
    problems.push_back("the WAL was not synced after the commit's last write to it");
  }
  if (wal_new) {
    const std::size_t first_write =
        std::find_if(events.begin(), events.end(), wal_write) - events.begin();
    if (first_after(events, first_write, [&](const IoEvent& e) {
          return is_sync(e) && e.directory && e.path == dir;
        }) == std::string::npos) {
      problems.push_back("the directory was not synced after the WAL was created in it");
    }
  }
  return problems;
}

// What one LMDB commit failed to do for durability.
std::vector<std::string> lmdb_commit_problems(const std::vector<IoEvent>& events,
                                              const fs::path& data_file) {
  // Pages 0 and 1 are the meta pages; LMDB's page size is the system's.
  const auto meta_end = 2 * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::string path = data_file.string();
  std::vector<std::string> problems;
  const std::size_t last_data = last(events, [&](const IoEvent& e) {
    return e.kind == Kind::write && e.path == path && e.offset >= meta_end;
  });
  const std::size_t meta = last(events, [&](const IoEvent& e) {
    return e.kind == Kind::write && e.path == path && e.offset < meta_end;
  });
  if (last_data == std::string::npos || meta == std::string::npos) {
    problems.push_back("the commit did not write both data pages and a meta page of " + path);
    return problems;
  }
  const std::size_t data_sync = first_after(
      events, last_data, [&](const IoEvent& e) { return is_sync(e) && e.path == path; });
  if (data_sync == std::string::npos || data_sync > meta) {
    problems.push_back("the data pages were not synced before the meta page was written");
  }
  if (!events[meta].synchronous && first_after(events, meta, [&](const IoEvent& e) {
                                     return is_sync(e) && e.path == path;
                                   }) == std::string::npos) {
    problems.push_back("the meta page was not synced (no O_DSYNC, no sync after it)");
  }
  return problems;
}

EventLogState state_for(int commit) {
  return {"stream-" + std::to_string(commit % 3), static_cast<std::uint64_t>(commit) * 1000,
          Timestamp::from_unix(1'700'000'000 + commit), "<b/>"};
}

Changes changes_for(int commit, const EventLogState& state) {
  return {Timestamp::from_unix(1'700'000'000 + commit), {&state, 1}, {}};
}

class SyncCalls : public ::testing::Test {
 protected:
  void SetUp() override { start_io_trace(temp_.path()); }
  void TearDown() override { stop_io_trace(); }

  // Opens `uri` anew and commits `commits` times; the problems of each
  // commit (opening included in the first, which creates the -wal file),
  // one string per commit, empty if it did everything.
  std::vector<std::string> sqlite_commits(const std::string& options, int commits) {
    const fs::path db = dir_ / "state.db";
    auto store = Store::open("sqlite:" + db.string() + options);
    std::vector<std::string> out;
    for (int i = 0; i < commits; ++i) {
      const bool wal_new = i == 0;  // opening created it
      std::vector<IoEvent> before = i == 0 ? take_io_trace() : std::vector<IoEvent>{};
      const EventLogState state = state_for(i);
      store->commit(changes_for(i, state));
      std::vector<IoEvent> events = take_io_trace();
      events.insert(events.begin(), before.begin(), before.end());
      std::string problems;
      for (const auto& p : sqlite_commit_problems(events, db, wal_new)) problems += p + "; ";
      out.push_back(problems.empty() ? ""
                                     : "commit " + std::to_string(i) + ": " + problems +
                                           "the calls were:" + listing(events));
    }
    return out;
  }

  std::vector<std::string> lmdb_commits(const std::string& options, int commits) {
    const fs::path file = dir_ / "state.lmdb";
    auto store = Store::open("lmdb:" + file.string() + options);
    take_io_trace();  // creating the store, checked separately
    std::vector<std::string> out;
    for (int i = 0; i < commits; ++i) {
      const EventLogState state = state_for(i);
      store->commit(changes_for(i, state));
      std::vector<IoEvent> events = take_io_trace();
      std::string problems;
      for (const auto& p : lmdb_commit_problems(events, file)) problems += p + "; ";
      out.push_back(problems.empty() ? ""
                                     : "commit " + std::to_string(i) + ": " + problems +
                                           "the calls were:" + listing(events));
    }
    return out;
  }

  checkpoint::testing::TempDir temp_{"sync_calls_test"};
  // As /proc/self/fd names the files in it.
  const fs::path dir_ = fs::weakly_canonical(temp_.path());
};

constexpr int kCommits = 5;

TEST_F(SyncCalls, SqliteSyncsTheWalAtEveryCommitAndItsDirectoryWhenItIsCreated) {
  for (const auto& problems : sqlite_commits("", kCommits)) EXPECT_EQ(problems, "");
}

TEST_F(SyncCalls, SqliteSyncsTheNewWalDirectoryAgainAfterReopening) {
  const fs::path db = dir_ / "state.db";
  const EventLogState first = state_for(0);
  Store::open("sqlite:" + db.string())->commit(changes_for(0, first));
  // The last connection's close checkpointed the WAL and removed it.
  ASSERT_FALSE(fs::exists(db.string() + "-wal"));
  take_io_trace();
  auto store = Store::open("sqlite:" + db.string());
  const EventLogState second = state_for(1);
  store->commit(changes_for(1, second));
  const std::vector<IoEvent> events = take_io_trace();
  EXPECT_EQ(sqlite_commit_problems(events, db, true), std::vector<std::string>{})
      << listing(events);
}

TEST_F(SyncCalls, SqliteWithSynchronousOffIsCaught) {
  const auto results = sqlite_commits("?synchronous=off", kCommits);
  for (const auto& problems : results) {
    EXPECT_NE(problems.find("the WAL was not synced"), std::string::npos) << problems;
  }
  EXPECT_NE(results[0].find("the directory was not synced"), std::string::npos) << results[0];
}

// In WAL mode, NORMAL syncs only at checkpoints: a commit can be lost.
TEST_F(SyncCalls, SqliteWithSynchronousNormalIsCaught) {
  for (const auto& problems : sqlite_commits("?synchronous=normal", kCommits)) {
    EXPECT_NE(problems.find("the WAL was not synced"), std::string::npos) << problems;
  }
}

TEST_F(SyncCalls, LmdbSyncsTheDataPagesThenWritesTheMetaPageSynchronously) {
  for (const auto& problems : lmdb_commits("", kCommits)) EXPECT_EQ(problems, "");
}

TEST_F(SyncCalls, LmdbSyncsTheDirectoryOfANewStore) {
  auto store = Store::open("lmdb:" + (dir_ / "state.lmdb").string());
  const std::vector<IoEvent> events = take_io_trace();
  const std::string dir = dir_.string();
  EXPECT_NE(
      last(events, [&](const IoEvent& e) { return is_sync(e) && e.directory && e.path == dir; }),
      std::string::npos)
      << listing(events);
}

TEST_F(SyncCalls, LmdbWithSyncOffIsCaught) {
  for (const auto& problems : lmdb_commits("?sync=off", kCommits)) {
    EXPECT_NE(problems.find("the data pages were not synced"), std::string::npos) << problems;
    EXPECT_NE(problems.find("the meta page was not synced"), std::string::npos) << problems;
  }
}

}  // namespace
}  // namespace checkpoint::crash
