// I/O faults at every point of opening, reading and committing a yaml or
// json store, through the toolkit's system call table: open, read, write,
// fsync, close, rename, unlink, mkdir, chmod, fchmod, stat, flock,
// ftruncate, fstat and lstat, each failing with EIO and with ENOSPC (a full
// disk). The writer lock is taken when the store is opened for writing, so
// opening is a fault point as much as committing. See fault_loop.hpp for
// what each fault must leave.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/fault/fault_loop.hpp"
#include "tests/fault/fault_plan.hpp"
#include "tests/release1.hpp"
#include "tests/test_files.hpp"

namespace checkpoint::fault {
namespace {

struct Case {
  std::string scheme;
  int err;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.scheme << " " << c.err; }

class FileFaults : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() { install_in_core(); }

  std::string uri(const std::string& name) const {
    return GetParam().scheme + ":" + (temp_ / name / ("state." + GetParam().scheme)).string();
  }
  LoopOptions options() const { return {GetParam().err, true, true}; }
  void report(const std::string& what, const Tally& tally) {
    std::cout << GetParam().scheme << " (" << std::strerror(GetParam().err) << ") " << what << ": "
              << tally << std::endl;
    RecordProperty(what, std::to_string(tally.points));
  }
  // Whether a fault was injected into `call` (and so the code made it
  // through the seam).
  static void expect_faulted(const Tally& tally, const std::string& call) {
    EXPECT_TRUE(tally.fault_calls.contains(call)) << "no fault in " << call << ": " << tally;
  }

  checkpoint::testing::TempDir temp_{"file_fault_test"};
};

TEST_P(FileFaults, EveryCallOfUpgradingARelease1Store) {
  const std::string ext = GetParam().scheme == "yaml" ? "yml" : "json";
  Tally tally = upgrade_faults(uri("upgrade"), testing::release1_fixture(ext),
                               testing::release1_expected(), options());
  report("upgrading a release 0.1 store", tally);
  EXPECT_GE(tally.points, 10u);
  for (const char* call : {"open", "write", "fsync", "rename"}) expect_faulted(tally, call);
}

TEST_P(FileFaults, EveryCallOfCreatingAStoreInANewDirectory) {
  Tally tally = store_faults(uri("new"), Stage::creating, options());
  report("creating a store", tally);
  EXPECT_GE(tally.points, 15u);
  EXPECT_GE(tally.failed_opening, 10u);
  for (const char* call : {"mkdir", "chmod", "flock", "rename"}) expect_faulted(tally, call);
}

TEST_P(FileFaults, EveryCallOfOpeningForWritingAndItsFirstCommit) {
  Tally tally = store_faults(uri("cold"), Stage::opening, options());
  report("opening for writing and the first commit", tally);
  EXPECT_GE(tally.points, 15u);
  EXPECT_GE(tally.failed_opening, 4u);
  for (const char* call : {"open", "flock", "fstat", "read", "rename"}) expect_faulted(tally, call);
  EXPECT_FALSE(tally.absorbed_calls.contains("fstat")) << "a failed fstat went unreported";
}

TEST_P(FileFaults, EveryCallOfTheFirstCommitAfterOpening) {
  Tally tally = store_faults(uri("first"), Stage::first_commit, options());
  report("the first commit after opening", tally);
  EXPECT_GE(tally.points, 8u);
  EXPECT_EQ(tally.failed_opening, 0u);
}

TEST_P(FileFaults, EveryCallOfACommitHoldingTheLock) {
  Tally tally = store_faults(uri("warm"), Stage::later_commit, options());
  report("commit holding the lock", tally);
  EXPECT_GE(tally.points, 8u);
  EXPECT_EQ(tally.failed_opening, 0u);
}

TEST_P(FileFaults, EveryCallOfReading) {
  Tally tally = read_faults(uri("read"), options());
  report("opening for reading and loading", tally);
  EXPECT_GE(tally.points, 4u);
  for (const char* call : {"lstat", "open", "fstat", "read"}) expect_faulted(tally, call);
  for (const char* call : {"lstat", "fstat"}) {
    EXPECT_FALSE(tally.absorbed_calls.contains(call)) << "a failed " << call << " went unreported";
  }
}

TEST_P(FileFaults, EveryCallOfAFlushKeepsTheChangesInTheFrontEnd) {
  Tally tally = front_end_faults(uri("flush"), options());
  report("Checkpoint::flush()", tally);
  EXPECT_GE(tally.points, 8u);
}

TEST_P(FileFaults, EveryCallOfOpeningACheckpoint) {
  Tally tally = open_faults(uri("open"), options());
  report("Checkpoint constructor", tally);
  EXPECT_GE(tally.points, 15u);
}

INSTANTIATE_TEST_SUITE_P(WholeFileFormats, FileFaults,
                         ::testing::Values(Case{"yaml", EIO}, Case{"yaml", ENOSPC},
                                           Case{"json", EIO}, Case{"json", ENOSPC}),
                         [](const auto& info) {
                           return info.param.scheme + (info.param.err == EIO ? "_EIO" : "_ENOSPC");
                         });

}  // namespace
}  // namespace checkpoint::fault
