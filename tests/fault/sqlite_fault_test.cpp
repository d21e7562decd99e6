// I/O faults at every point of a sqlite commit: SQLite's own I/O through a
// fault-injecting VFS (sqlite_fault_vfs.hpp) and the writer lock's through
// core's system call table, each failing with EIO and with ENOSPC. See
// fault_loop.hpp for what each fault must leave.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "tests/fault/fault_loop.hpp"
#include "tests/fault/fault_plan.hpp"
#include "tests/fault/sqlite_fault_vfs.hpp"

namespace checkpoint::fault {
namespace {

namespace fs = std::filesystem;

class SqliteFaults : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    install_in_core();
    install_in_sqlite();
  }

  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sqlite_fault_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string uri(const std::string& name) const {
    return "sqlite:" + (dir_ / name / "state.db").string();
  }
  LoopOptions options() const { return {GetParam(), false}; }
  void report(const std::string& what, const Tally& tally) {
    std::cout << "sqlite (" << std::strerror(GetParam()) << ") " << what << ": " << tally
              << std::endl;
    RecordProperty(what, std::to_string(tally.points));
  }

  fs::path dir_;
};

TEST_P(SqliteFaults, EveryCallOfACommitThatTakesTheLock) {
  Tally tally = store_faults(uri("cold"), false, options());
  report("commit taking the lock", tally);
  EXPECT_GE(tally.points, 10u);
}

TEST_P(SqliteFaults, EveryCallOfACommitHoldingTheLock) {
  Tally tally = store_faults(uri("warm"), true, options());
  report("commit holding the lock", tally);
  EXPECT_GE(tally.points, 5u);
}

TEST_P(SqliteFaults, EveryCallOfAFlushKeepsTheChangesInTheFrontEnd) {
  Tally tally = front_end_faults(uri("flush"), options());
  report("Checkpoint::flush()", tally);
  EXPECT_GE(tally.points, 5u);
}

TEST_P(SqliteFaults, EveryCallOfOpeningACheckpoint) {
  Tally tally = open_faults(uri("open"), options());
  report("Checkpoint constructor", tally);
  EXPECT_GE(tally.points, 10u);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteFaults, ::testing::Values(EIO, ENOSPC),
                         [](const auto& info) { return info.param == EIO ? "EIO" : "ENOSPC"; });

}  // namespace
}  // namespace checkpoint::fault
