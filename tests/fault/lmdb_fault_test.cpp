// I/O faults at every point of opening, reading and committing an lmdb
// store (the writer lock is taken when it is opened for writing, so opening
// is a fault point as much as committing). LMDB calls the C library
// directly, so the faults come from libfiu's POSIX preload library
// (fiu_posix_preload.so), which wraps open, pwrite, write, fdatasync, fsync,
// close, ftruncate, unlink, rename and the rest; this program re-executes
// itself with it preloaded. Every wrapped I/O call ("posix/io/...") asks
// fault_plan's next_call(), each failing with EIO and with ENOSPC. See
// fault_loop.hpp for what each fault must leave.
#include <fiu-control.h>
#include <fiu.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"
#include "tests/fault/fault_loop.hpp"
#include "tests/fault/fault_plan.hpp"
#include "tests/release1.hpp"
#include "tests/test_files.hpp"

#ifndef FIU_POSIX_PRELOAD
#error "FIU_POSIX_PRELOAD must name libfiu's fiu_posix_preload.so"
#endif

namespace checkpoint::fault {
namespace {

int decide(const char* name, int*, void** failinfo, unsigned int*) {
  int err = next_call(name);
  if (err == 0) return 0;
  *failinfo = reinterpret_cast<void*>(static_cast<std::intptr_t>(err));  // the errno to set
  return 1;
}

class LmdbFaults : public ::testing::TestWithParam<int> {
 protected:
  // The wrapped I/O calls LMDB (and the writer lock) may make. Each is
  // enabled on its own: the callback then learns which call it is.
  static constexpr const char* kPoints[] = {
      "posix/io/oc/open",    "posix/io/oc/close",       "posix/io/rw/read",
      "posix/io/rw/pread",   "posix/io/rw/readv",       "posix/io/rw/preadv",
      "posix/io/rw/write",   "posix/io/rw/pwrite",      "posix/io/rw/writev",
      "posix/io/rw/pwritev", "posix/io/rw/ftruncate",   "posix/io/rw/truncate",
      "posix/io/sync/fsync", "posix/io/sync/fdatasync", "posix/io/dir/rename",
      "posix/io/dir/unlink", "posix/mm/msync",
  };

  static void SetUpTestSuite() {
    fiu_init(0);
    for (const char* point : kPoints) fiu_enable_external(point, 1, nullptr, 0, decide);
  }
  static void TearDownTestSuite() {
    for (const char* point : kPoints) fiu_disable(point);
  }

  std::string uri(const std::string& name) const {
    return "lmdb:" + (temp_ / name / "state.lmdb").string();
  }
  LoopOptions options() const { return {GetParam(), false}; }
  void report(const std::string& what, const Tally& tally) {
    std::cout << "lmdb (" << std::strerror(GetParam()) << ") " << what << ": " << tally
              << std::endl;
    RecordProperty(what, std::to_string(tally.points));
  }

  checkpoint::testing::TempDir temp_{"lmdb_fault_test"};
};

// Format 1 to 2: one write transaction that rewrites every value.
TEST_P(LmdbFaults, EveryCallOfUpgradingARelease1Store) {
  Tally tally = upgrade_faults(uri("upgrade"), testing::release1_fixture("lmdb"),
                               testing::release1_expected(), options());
  report("upgrading a release 0.1 store", tally);
  EXPECT_GE(tally.points, 5u);
}

TEST_P(LmdbFaults, EveryCallOfCreatingAStoreInANewDirectory) {
  Tally tally = store_faults(uri("new"), Stage::creating, options());
  report("creating a store", tally);
  EXPECT_GE(tally.points, 20u);
  EXPECT_GE(tally.failed_opening, 10u);
}

TEST_P(LmdbFaults, EveryCallOfOpeningForWritingAndItsFirstCommit) {
  Tally tally = store_faults(uri("cold"), Stage::opening, options());
  report("opening for writing and the first commit", tally);
  EXPECT_GE(tally.points, 10u);
  EXPECT_GE(tally.failed_opening, 8u);
}

TEST_P(LmdbFaults, EveryCallOfTheFirstCommitAfterOpening) {
  Tally tally = store_faults(uri("first"), Stage::first_commit, options());
  report("the first commit after opening", tally);
  EXPECT_GE(tally.points, 3u);
  EXPECT_EQ(tally.failed_opening, 0u);
}

TEST_P(LmdbFaults, EveryCallOfACommitHoldingTheLock) {
  Tally tally = store_faults(uri("warm"), Stage::later_commit, options());
  report("commit holding the lock", tally);
  EXPECT_GE(tally.points, 3u);
  EXPECT_EQ(tally.failed_opening, 0u);
}

TEST_P(LmdbFaults, EveryCallOfReading) {
  Tally tally = read_faults(uri("read"), options());
  report("opening for reading and loading", tally);
  EXPECT_GE(tally.points, 5u);
}

TEST_P(LmdbFaults, EveryCallOfAFlushKeepsTheChangesInTheFrontEnd) {
  Tally tally = front_end_faults(uri("flush"), options());
  report("Checkpoint::flush()", tally);
  EXPECT_GE(tally.points, 3u);
}

TEST_P(LmdbFaults, EveryCallOfOpeningACheckpoint) {
  Tally tally = open_faults(uri("open"), options());
  report("Checkpoint constructor", tally);
  EXPECT_GE(tally.points, 10u);
}

// Store::compact() (checkpointctl compact) with the Nth call failing: it
// throws Error{io} naming the store or succeeds, and either way the store
// holds exactly the same states, read beside the writer and by a writer
// opened afterwards.
TEST_P(LmdbFaults, EveryCallOfCompactingKeepsTheStates) {
  const std::string store = uri("compact");
  {
    auto writer = Store::open(store);
    std::vector<EventLogState> states;
    std::vector<std::string> removed;
    for (int i = 0; i < 300; ++i) {
      states.push_back({"s" + std::to_string(1000 + i), static_cast<std::uint64_t>(i),
                        Timestamp::from_unix(1), "<b/>"});
      if (i % 10 != 0) removed.push_back(states.back().name);
    }
    writer->commit(Changes{Timestamp::from_unix(2), states, {}});
    writer->commit(Changes{Timestamp::from_unix(3), {}, removed});
  }
  const PersistedState expected = Store::open(store, {.mode = OpenMode::read})->load();
  ASSERT_EQ(expected.states.size(), 30u);
  auto same = [&](const PersistedState& loaded) {
    return loaded.states == expected.states && loaded.update_time == expected.update_time;
  };
  std::uint64_t points = 0, failed = 0;
  for (std::uint64_t n = 1;; ++n) {
    auto writer = Store::open(store);
    ASSERT_TRUE(same(writer->load()));
    arm(n, GetParam());
    try {
      writer->compact();
    } catch (const Error& e) {
      ++failed;
      EXPECT_EQ(e.code(), ErrorCode::io) << "call " << n << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("lmdb store " + store.substr(5)), std::string::npos)
          << e.what();
    }
    const bool hit = fired();
    const std::string at = fired_at();
    disarm();
    EXPECT_TRUE(same(Store::open(store, {.mode = OpenMode::read})->load()))
        << "a reader, after a fault at call " << n << " (" << at << ")";
    writer.reset();
    EXPECT_TRUE(same(Store::open(store)->load()))
        << "a writer opened anew, after a fault at call " << n << " (" << at << ")";
    if (!hit) break;
    ++points;
  }
  std::cout << "lmdb (" << std::strerror(GetParam()) << ") compact: " << points << " fault points, "
            << failed << " failed" << std::endl;
  EXPECT_GE(points, 5u);
  EXPECT_GE(failed, 3u);
}

INSTANTIATE_TEST_SUITE_P(Lmdb, LmdbFaults, ::testing::Values(EIO, ENOSPC),
                         [](const auto& info) { return info.param == EIO ? "EIO" : "ENOSPC"; });

}  // namespace
}  // namespace checkpoint::fault

int main(int argc, char** argv) {
  // Without the preload library no call would fail: run again with it.
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload == nullptr || std::strstr(preload, "fiu_posix_preload") == nullptr) {
    std::string value = FIU_POSIX_PRELOAD;
    if (preload != nullptr && *preload != '\0') value += std::string(":") + preload;
    ::setenv("LD_PRELOAD", value.c_str(), 1);
    ::execv("/proc/self/exe", argv);
    std::perror("lmdb_fault_test: cannot run again with " FIU_POSIX_PRELOAD);
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
