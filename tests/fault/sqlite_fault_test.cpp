// I/O faults at every point of opening, reading and committing a sqlite
// store: SQLite's own I/O through a fault-injecting VFS
// (sqlite_fault_vfs.hpp), the writer lock's and the reader's checks through
// the toolkit's system call table, each failing with EIO and with ENOSPC.
// The writer lock is taken when the store is opened for writing, so
// opening is a fault point as much as committing. See fault_loop.hpp for
// what each fault must leave.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/fault/fault_loop.hpp"
#include "tests/fault/fault_plan.hpp"
#include "tests/fault/sqlite_fault_vfs.hpp"
#include "tests/release1.hpp"
#include "tests/test_files.hpp"

namespace checkpoint::fault {
namespace {

class SqliteFaults : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    install_in_core();
    install_in_sqlite();
  }

  std::string uri(const std::string& name) const {
    return "sqlite:" + (temp_ / name / "state.db").string();
  }
  LoopOptions options() const { return {GetParam(), false}; }
  void report(const std::string& what, const Tally& tally) {
    std::cout << "sqlite (" << std::strerror(GetParam()) << ") " << what << ": " << tally
              << std::endl;
    RecordProperty(what, std::to_string(tally.points));
  }
  static void expect_faulted(const Tally& tally, const std::string& call) {
    EXPECT_TRUE(tally.fault_calls.contains(call)) << "no fault in " << call << ": " << tally;
  }

  checkpoint::testing::TempDir temp_{"sqlite_fault_test"};
};

// Schema 1 to 2: one transaction that rewrites every row.
TEST_P(SqliteFaults, EveryCallOfUpgradingARelease1Store) {
  Tally tally = upgrade_faults(uri("upgrade"), testing::release1_fixture("db"),
                               testing::release1_expected(), options());
  report("upgrading a release 0.1 store", tally);
  EXPECT_GE(tally.points, 20u);
  for (const char* call : {"xRead", "xWrite", "xSync"}) expect_faulted(tally, call);
}

TEST_P(SqliteFaults, EveryCallOfCreatingAStoreInANewDirectory) {
  Tally tally = store_faults(uri("new"), Stage::creating, options());
  report("creating a store", tally);
  EXPECT_GE(tally.points, 30u);
  EXPECT_GE(tally.failed_opening, 20u);
  for (const char* call : {"mkdir", "flock", "xWrite", "xSync"}) expect_faulted(tally, call);
}

TEST_P(SqliteFaults, EveryCallOfOpeningForWritingAndItsFirstCommit) {
  Tally tally = store_faults(uri("cold"), Stage::opening, options());
  report("opening for writing and the first commit", tally);
  EXPECT_GE(tally.points, 20u);
  EXPECT_GE(tally.failed_opening, 10u);
  for (const char* call : {"flock", "xOpen", "xRead", "xWrite"}) expect_faulted(tally, call);
}

TEST_P(SqliteFaults, EveryCallOfTheFirstCommitAfterOpening) {
  Tally tally = store_faults(uri("first"), Stage::first_commit, options());
  report("the first commit after opening", tally);
  EXPECT_GE(tally.points, 5u);
  EXPECT_EQ(tally.failed_opening, 0u);
}

TEST_P(SqliteFaults, EveryCallOfACommitHoldingTheLock) {
  Tally tally = store_faults(uri("warm"), Stage::later_commit, options());
  report("commit holding the lock", tally);
  EXPECT_GE(tally.points, 4u);
  EXPECT_EQ(tally.failed_opening, 0u);
}

TEST_P(SqliteFaults, EveryCallOfReading) {
  Tally tally = read_faults(uri("read"), options());
  report("opening for reading and loading", tally);
  EXPECT_GE(tally.points, 5u);
  for (const char* call : {"stat", "xOpen", "xRead"}) expect_faulted(tally, call);
}

TEST_P(SqliteFaults, EveryCallOfAFlushKeepsTheChangesInTheFrontEnd) {
  Tally tally = front_end_faults(uri("flush"), options());
  report("Checkpoint::flush()", tally);
  EXPECT_GE(tally.points, 5u);
}

TEST_P(SqliteFaults, EveryCallOfOpeningACheckpoint) {
  Tally tally = open_faults(uri("open"), options());
  report("Checkpoint constructor", tally);
  EXPECT_GE(tally.points, 20u);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteFaults, ::testing::Values(EIO, ENOSPC),
                         [](const auto& info) { return info.param == EIO ? "EIO" : "ENOSPC"; });

}  // namespace
}  // namespace checkpoint::fault
