// Kill -9 at random moments. For each file backend, crash_writer is started
// on one store and killed with SIGKILL at a random moment, again and again;
// after every kill the store must load, every stream must hold at least the
// last record number the writer acknowledged (at most one more: the flush
// under way may have committed without its acknowledgement), all streams
// must hold the same one (a commit is all or nothing), and every field must
// be the one derived from it (no torn value). The store is read as
// checkpointctl reads it (OpenMode::read), and the writer lock of the
// killed writer must be gone (WriterLock::is_held()).
//
// CHECKPOINT_KILL_SEED=N repeats a run (the seed is printed);
// CHECKPOINT_KILLS=N changes the number of kills per backend (default 200).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <random>
#include <string>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/writer_lock.hpp"
#include "tests/crash/child_lines.hpp"
#include "tests/crash/crash_values.hpp"
#include "tests/release1.hpp"
#include "tests/state_values.hpp"

#ifndef CRASH_WRITER
#error "CRASH_WRITER must name the crash_writer program"
#endif

namespace checkpoint::crash {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Bounds a broken writer only (one that never acknowledges); never reached
// when things work.
constexpr auto kPatience = 20s;

// One run of crash_writer: each line it prints acknowledges a flush of
// the record number it names.
class Writer {
 public:
  explicit Writer(const std::string& uri)
      : child_(CRASH_WRITER, {uri}, [this](const std::string& line) {
          last_ = std::strtoull(line.c_str(), nullptr, 10);
          ++acks_;
          return true;
        }) {}

  // Reads acknowledgements until `deadline` or until `count` more have come.
  // False if the writer's output ended (it exited).
  bool read_until(Clock::time_point deadline, std::uint64_t count = UINT64_MAX) {
    const std::uint64_t target = count == UINT64_MAX ? UINT64_MAX : acks_ + count;
    return child_.read_until(deadline, [&] { return acks_ >= target; });
  }
  // Kills the writer, reads what it wrote before it died; true if SIGKILL
  // is what ended it.
  bool kill() { return child_.kill(); }

  std::uint64_t last_ack() const { return last_; }
  std::uint64_t acks() const { return acks_; }
  int status() const { return child_.status(); }

 private:
  std::uint64_t last_ = 0, acks_ = 0;
  ChildLines child_;  // last: it calls back into the members above
};

struct Backend {
  std::string name, file;
  bool whole_file = false;  // written as FILE.new, then renamed
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class KillTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kill_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

// What the store holds after a kill: the one record number all streams
// hold, or 0 for no states yet. Fails the test on anything torn.
::testing::AssertionResult held(const PersistedState& loaded, std::uint64_t& n) {
  n = 0;
  if (loaded.states.empty()) return ::testing::AssertionSuccess();
  if (loaded.states.size() != static_cast<std::size_t>(kStreams)) {
    return ::testing::AssertionFailure()
           << loaded.states.size() << " states, expected " << kStreams;
  }
  n = loaded.states[0].record_number;
  for (int stream = 0; stream < kStreams; ++stream) {
    const EventLogState& got = loaded.states[static_cast<std::size_t>(stream)];
    // Every stream changes in every flush: the states carry the update time
    // of one commit, no later than the store's (a writer's first commit,
    // when it opens, changes no state).
    const Timestamp changed = loaded.states[0].update_time;
    if (testing::values(got) != crash_state(stream, got.record_number) ||
        got.name != stream_name(stream) || got.update_time != changed ||
        loaded.update_time < changed) {
      return ::testing::AssertionFailure()
             << "state " << got.name << " is torn: record_number " << got.record_number
             << ", timestamp " << got.timestamp.to_string() << ", bookmark of "
             << got.bookmark.size() << " bytes, update_time " << got.update_time.to_string()
             << " (the store's " << loaded.update_time.to_string() << ")";
    }
    if (got.record_number != n) {
      return ::testing::AssertionFailure()
             << "a mixed commit: " << loaded.states[0].name << " holds " << n << ", " << got.name
             << " holds " << got.record_number;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST_P(KillTest, EveryAcknowledgedFlushSurvivesKill9) {
  const std::string uri = GetParam().name + ":" + (dir_ / GetParam().file).string();
  const std::uint64_t seed = env_number("CHECKPOINT_KILL_SEED", std::random_device{}());
  const std::uint64_t kills = env_number("CHECKPOINT_KILLS", 200);
  std::cout << GetParam().name << ": seed " << seed << " (CHECKPOINT_KILL_SEED=" << seed
            << " repeats this run)" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  std::uint64_t base = 0;  // what the store held after the previous kill
  std::uint64_t acked_flushes = 0, before_first_ack = 0, unacknowledged_commits = 0;
  // yaml and json: kills in the middle of writing FILE.new, which the next
  // commit must clean up.
  const fs::path temporary = dir_ / (GetParam().file + ".new");
  std::uint64_t mid_write = 0;
  const auto started = Clock::now();
  for (std::uint64_t kill = 1; kill <= kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill) + " of " + std::to_string(kills) + ", seed " +
                 std::to_string(seed));
    Writer writer(uri);
    // Half the kills at any moment of the writer's life (often while it
    // starts: loading, the first commit, taking the lock), half once it
    // has acknowledged a few flushes (often in the middle of the next one).
    if (rng() % 2 == 0) {
      writer.read_until(Clock::now() + std::chrono::microseconds(rng() % 20'000));
    } else {
      ASSERT_TRUE(writer.read_until(Clock::now() + kPatience, 1 + rng() % 4))
          << "the writer ended before it was killed";
      ASSERT_GT(writer.acks(), 0u) << "no acknowledgement in " << kPatience.count() << " s";
      writer.read_until(Clock::now() + std::chrono::microseconds(rng() % 3'000));
    }
    ASSERT_TRUE(writer.kill()) << "the writer ended on its own (wait status " << writer.status()
                               << "); its message is above";
    acked_flushes += writer.acks();
    if (fs::exists(fs::symlink_status(temporary))) ++mid_write;
    if (writer.acks() == 0) ++before_first_ack;

    std::uint64_t floor = std::max(base, writer.last_ack()), n = 0;
    EXPECT_FALSE(WriterLock::is_held(dir_ / GetParam().file))
        << "the killed writer's lock is still held";
    PersistedState loaded;
    try {
      loaded = Store::open(uri, {.mode = OpenMode::read})->load();
    } catch (const Error& e) {
      // Killed before its first commit made the store: nothing to load.
      if (e.code() != ErrorCode::not_found || writer.acks() != 0 || base != 0) {
        FAIL() << "the store does not load after kill -9: " << e.what();
      }
    } catch (const std::exception& e) {
      FAIL() << "the store does not load after kill -9: " << e.what();
    }
    ASSERT_TRUE(held(loaded, n));
    ASSERT_GE(n, floor) << "an acknowledged flush was lost";
    ASSERT_LE(n, floor + 1) << "a record number that was never written";
    if (n == floor + 1) ++unacknowledged_commits;
    base = n;
  }
  const auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << GetParam().name << ": " << kills << " kills survived in " << seconds << " s; "
            << acked_flushes << " acknowledged flushes, none lost; " << before_first_ack
            << " kills before the first acknowledgement; " << unacknowledged_commits
            << " flushes committed but killed before acknowledging; ";
  if (GetParam().whole_file) {
    std::cout << mid_write << " kills left a " << temporary.filename().string() << " behind; ";
  }
  std::cout << "record number " << base << " at the end" << std::endl;
  RecordProperty("kills", std::to_string(kills));
  RecordProperty("acknowledged_flushes", std::to_string(acked_flushes));
}

// A store written by release 0.1 is upgraded by its first writer (SQLite
// and LMDB when it opens, YAML and JSON at the constructor's commit): killed
// at any moment, often in the middle of the upgrade, the store must load
// every state of the release exactly (upgraded or not), plus, once the
// writer committed, the writer's streams of one commit.
TEST_P(KillTest, AnUpgradeKilledAtAnyMomentLeavesTheOldStoreOrTheNewOneWhole) {
  const fs::path path = dir_ / GetParam().file;
  const std::string uri = GetParam().name + ":" + path.string();
  const std::string extension = path.extension().string().substr(1);
  const std::uint64_t seed = env_number("CHECKPOINT_KILL_SEED", std::random_device{}());
  const std::uint64_t kills = env_number("CHECKPOINT_KILLS", 200) / 4;
  std::cout << GetParam().name << ": seed " << seed << std::endl;
  std::mt19937_64 rng(seed);
  const PersistedState release = testing::release1_expected();
  std::uint64_t before_first_ack = 0;
  for (std::uint64_t kill = 1; kill <= kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill) + " of " + std::to_string(kills) + ", seed " +
                 std::to_string(seed));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy_file(testing::release1_fixture(extension == "yml" ? "yml" : extension), path);
    Writer writer(uri);
    writer.read_until(Clock::now() + std::chrono::microseconds(rng() % 15'000));
    ASSERT_TRUE(writer.kill()) << "the writer ended on its own (wait status " << writer.status()
                               << "); its message is above";
    if (writer.acks() == 0) ++before_first_ack;
    PersistedState loaded;
    try {
      loaded = Store::open(uri, {.mode = OpenMode::read})->load();
    } catch (const std::exception& e) {
      FAIL() << "the store does not load after kill -9: " << e.what();
    }
    // The release's states, exactly, and the writer's streams, if any.
    PersistedState writers;
    std::vector<EventLogState> release_states;
    for (auto& state : loaded.states) {
      (state.name.starts_with("stream-") ? writers.states : release_states).push_back(state);
    }
    ASSERT_EQ(release_states, release.states) << "the release's states changed";
    writers.update_time = loaded.update_time;
    std::uint64_t n = 0;
    ASSERT_TRUE(held(writers, n));
    ASSERT_GE(n, writer.last_ack()) << "an acknowledged flush was lost";
    // And a writer opens it again.
    EXPECT_NO_THROW(Store::open(uri)->load());
  }
  std::cout << GetParam().name << ": " << kills << " kills during or after an upgrade, "
            << before_first_ack << " before the first acknowledgement" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(FileBackends, KillTest,
                         ::testing::Values(Backend{"yaml", "state.yml", true},
                                           Backend{"json", "state.json", true},
                                           Backend{"sqlite", "state.db"},
                                           Backend{"lmdb", "state.lmdb"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace checkpoint::crash
