// I/O faults at every point of a yaml or json commit, through core's system
// call table: open, write, fsync, close, rename, unlink, mkdir, chmod,
// fchmod, stat, flock and ftruncate, each failing with EIO and with ENOSPC
// (a full disk). See fault_loop.hpp for what each fault must leave.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "tests/fault/fault_loop.hpp"
#include "tests/fault/fault_plan.hpp"

namespace checkpoint::fault {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string scheme;
  int err;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.scheme << " " << c.err; }

class FileFaults : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() { install_in_core(); }

  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "file_fault_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A store in a directory that does not exist yet, so the first commit
  // creates it too.
  std::string uri(const std::string& name) const {
    return GetParam().scheme + ":" + (dir_ / name / ("state." + GetParam().scheme)).string();
  }
  LoopOptions options() const { return {GetParam().err, true}; }
  void report(const std::string& what, const Tally& tally) {
    std::cout << GetParam().scheme << " (" << std::strerror(GetParam().err) << ") " << what << ": "
              << tally << std::endl;
    RecordProperty(what, std::to_string(tally.points));
  }

  fs::path dir_;
};

TEST_P(FileFaults, EveryCallOfACommitThatTakesTheLock) {
  Tally tally = store_faults(uri("cold"), false, options());
  report("commit taking the lock", tally);
  EXPECT_GE(tally.points, 10u);
}

TEST_P(FileFaults, EveryCallOfACommitHoldingTheLock) {
  Tally tally = store_faults(uri("warm"), true, options());
  report("commit holding the lock", tally);
  EXPECT_GE(tally.points, 8u);
}

TEST_P(FileFaults, EveryCallOfAFlushKeepsTheChangesInTheFrontEnd) {
  Tally tally = front_end_faults(uri("flush"), options());
  report("Checkpoint::flush()", tally);
  EXPECT_GE(tally.points, 8u);
}

TEST_P(FileFaults, EveryCallOfOpeningACheckpoint) {
  Tally tally = open_faults(uri("open"), options());
  report("Checkpoint constructor", tally);
  EXPECT_GE(tally.points, 10u);
}

INSTANTIATE_TEST_SUITE_P(WholeFileFormats, FileFaults,
                         ::testing::Values(Case{"yaml", EIO}, Case{"yaml", ENOSPC},
                                           Case{"json", EIO}, Case{"json", ENOSPC}),
                         [](const auto& info) {
                           return info.param.scheme + (info.param.err == EIO ? "_EIO" : "_ENOSPC");
                         });

}  // namespace
}  // namespace checkpoint::fault
