// Kill -9 during compaction. For sqlite and lmdb, a child process opens the
// store as a writer and compacts it again and again (Store::compact(), what
// checkpointctl compact runs) until it is killed with SIGKILL at a random
// moment; after every kill the store must load exactly the states it held
// (compaction changes no value), read as checkpointctl reads it and by a
// writer opened anew, which can then compact and commit.
//
// CHECKPOINT_KILL_SEED=N repeats a run (the seed is printed);
// CHECKPOINT_KILLS=N changes the number of kills per backend (default 40).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::strtoull(value, nullptr, 10) : fallback;
}

class CompactKill : public ::testing::TestWithParam<std::string> {
 protected:
  checkpoint::testing::TempDir temp_{"compact_kill_test"};
};

TEST_P(CompactKill, AKilledCompactionLeavesTheSameStates) {
  const std::string uri = GetParam() + ":" + (temp_.path() / ("state." + GetParam())).string();
  {
    auto writer = Store::open(uri);
    std::vector<EventLogState> states;
    std::vector<std::string> removed;
    for (int i = 0; i < 20'000; ++i) {
      states.push_back({"stream-" + std::to_string(100'000 + i), static_cast<std::uint64_t>(i),
                        Timestamp::from_unix(1'700'000'000 + i, 7), "<bookmark/>"});
      if (i % 10 != 0) removed.push_back(states.back().name);
    }
    writer->commit(Changes{Timestamp::from_unix(1'800'000'000), states, {}});
    writer->commit(Changes{Timestamp::from_unix(1'800'000'001), {}, removed});
  }
  const PersistedState expected = Store::open(uri, {.mode = OpenMode::read})->load();
  ASSERT_EQ(expected.states.size(), 2'000u);
  auto same = [&](const PersistedState& loaded) {
    return loaded.states == expected.states && loaded.update_time == expected.update_time;
  };

  const std::uint64_t seed = env_number("CHECKPOINT_KILL_SEED", std::random_device{}());
  const std::uint64_t kills = env_number("CHECKPOINT_KILLS", 40);
  std::cout << GetParam() << ": seed " << seed << ", " << kills << " kills" << std::endl;
  std::mt19937_64 random(seed);
  for (std::uint64_t k = 0; k < kills; ++k) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        auto writer = Store::open(uri);
        for (;;) writer->compact();
      } catch (...) {
        ::_exit(2);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 60'000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the compacting child exited with status "
                                     << WEXITSTATUS(status) << " (kill " << k << ")";
    ASSERT_TRUE(same(Store::open(uri, {.mode = OpenMode::read})->load()))
        << "a reader after kill " << k << " (seed " << seed << ")";
    auto writer = Store::open(uri);
    ASSERT_TRUE(same(writer->load())) << "a writer after kill " << k << " (seed " << seed << ")";
  }
  auto writer = Store::open(uri);
  writer->compact();
  writer->commit(Changes{Timestamp::from_unix(1'800'000'002), {}, {}});
  EXPECT_EQ(writer->load().states, expected.states);
}

INSTANTIATE_TEST_SUITE_P(FileBackends, CompactKill, ::testing::Values("sqlite", "lmdb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace checkpoint
