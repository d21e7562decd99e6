// Kill -9 while records are in flight. ack_writer tracks records of
// several streams and acknowledges them in random order, saying which
// before each ack() ("a STREAM RECORD") and after each flush() ("f"); it
// is killed with SIGKILL at random moments, again and again, and resumes
// each stream after the position the store holds. After every kill, for
// every stream, the store must hold a position that
//   - passes no record that was not acknowledged (every record between the
//     previous position and it was announced): nothing unacknowledged is
//     ever skipped;
//   - is at least the newest record with every earlier one acknowledged
//     before the last flush() returned: nothing acknowledged and flushed is
//     lost;
//   - is whole (every field derived from its record number).
//
// CHECKPOINT_KILL_SEED=N repeats a run's writers (the kill moments vary);
// CHECKPOINT_KILLS=N changes the number of kills per backend (default 100).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "tests/crash/child_lines.hpp"
#include "tests/crash/crash_values.hpp"
#include "tests/state_values.hpp"

#ifndef ACK_WRITER
#error "ACK_WRITER must name the ack_writer program"
#endif

namespace checkpoint::crash {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Bounds a broken writer only (one that never flushes); never reached when
// things work.
constexpr auto kPatience = 20s;

// What one run of the writer announced, per stream, as the model sees it.
struct Model {
  std::vector<std::uint64_t> base;             // the positions the run started from
  std::vector<std::set<std::uint64_t>> acked;  // records after base announced as acknowledged
  std::vector<std::uint64_t> flushed;          // the positions at the last "f"
  std::uint64_t acks = 0, flushes = 0;

  explicit Model(const std::vector<std::uint64_t>& from)
      : base(from), acked(from.size()), flushed(from) {}

  // The newest record of `stream` with every earlier one announced.
  std::uint64_t released(std::size_t stream) const {
    std::uint64_t at = base[stream];
    while (acked[stream].contains(at + 1)) ++at;
    return at;
  }
  // One line of the writer's output; false if it is not one.
  bool take(const std::string& line) {
    if (line == "f") {
      for (std::size_t s = 0; s < base.size(); ++s) flushed[s] = released(s);
      ++flushes;
      return true;
    }
    std::istringstream in(line);
    char kind = 0;
    std::size_t stream = 0;
    std::uint64_t record = 0;
    if (!(in >> kind >> stream >> record) || kind != 'a' || stream >= base.size()) return false;
    acked[stream].insert(record);
    ++acks;
    return true;
  }
};

// One run of ack_writer, its standard output read into a Model.
class Writer {
 public:
  Writer(const std::string& uri, std::uint64_t seed, Model& model)
      : model_(model),
        child_(ACK_WRITER, {uri, std::to_string(seed)},
               [this](const std::string& line) { return model_.take(line); }) {}

  // Reads until `deadline` or until `flushes` more flushes were announced.
  // False if the writer's output ended (it exited).
  bool read_until(Clock::time_point deadline, std::uint64_t flushes = UINT64_MAX) {
    const std::uint64_t target = flushes == UINT64_MAX ? UINT64_MAX : model_.flushes + flushes;
    return child_.read_until(deadline, [&] { return model_.flushes >= target; });
  }
  // Kills the writer and reads what it wrote before it died; true if
  // SIGKILL is what ended it. A line cut short by the kill is not counted:
  // its ack() was never called.
  bool kill() { return child_.kill(); }

  int status() const { return child_.status(); }
  const std::string& strange() const { return child_.strange(); }

 private:
  Model& model_;
  ChildLines child_;  // last: it calls back into model_
};

struct Backend {
  std::string name, file;
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class AckKillTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ack_kill_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_P(AckKillTest, NoUnacknowledgedRecordIsSkippedAndNoFlushedOneLost) {
  const std::string uri = GetParam().name + ":" + (dir_ / GetParam().file).string();
  const std::uint64_t seed = env_number("CHECKPOINT_KILL_SEED", std::random_device{}());
  const std::uint64_t kills = env_number("CHECKPOINT_KILLS", 100);
  std::cout << GetParam().name << ": seed " << seed << " (CHECKPOINT_KILL_SEED=" << seed
            << " repeats this run's writers)" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  std::vector<std::uint64_t> position(kStreams, 0);  // what the store held after the last kill
  std::uint64_t acks = 0, flushes = 0, held_back = 0, beyond_flush = 0;
  bool store_made = false;
  const auto started = Clock::now();
  for (std::uint64_t kill = 1; kill <= kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill) + " of " + std::to_string(kills) + ", seed " +
                 std::to_string(seed));
    Model model(position);
    {
      Writer writer(uri, rng(), model);
      // Half the kills at any moment (often while it starts), half after a
      // few flushes (often in the middle of acknowledgements or commits).
      if (rng() % 2 == 0) {
        writer.read_until(Clock::now() + std::chrono::microseconds(rng() % 20'000));
      } else {
        ASSERT_TRUE(writer.read_until(Clock::now() + kPatience, 1 + rng() % 4))
            << "the writer ended before it was killed";
        writer.read_until(Clock::now() + std::chrono::microseconds(rng() % 3'000));
      }
      ASSERT_TRUE(writer.kill()) << "the writer ended on its own (wait status " << writer.status()
                                 << "); its message is above";
      ASSERT_EQ(writer.strange(), "") << "a line the writer should not write";
    }
    acks += model.acks;
    flushes += model.flushes;

    PersistedState loaded;
    try {
      loaded = Store::open(uri, {.mode = OpenMode::read})->load();
      store_made = true;
    } catch (const Error& e) {
      // Killed before its first commit made the store: nothing to load.
      if (e.code() != ErrorCode::not_found || model.flushes != 0 || store_made) {
        FAIL() << "the store does not load after kill -9: " << e.what();
      }
    }
    std::vector<std::uint64_t> now(kStreams, 0);
    for (const EventLogState& state : loaded.states) {
      bool known = false;
      for (int stream = 0; stream < kStreams; ++stream) {
        if (state.name != stream_name(stream)) continue;
        known = true;
        ASSERT_EQ(testing::values(state), crash_state(stream, state.record_number))
            << state.name << " is torn at record " << state.record_number;
        now[static_cast<std::size_t>(stream)] = state.record_number;
      }
      ASSERT_TRUE(known) << "a state the writer never wrote: " << state.name;
    }
    for (std::size_t s = 0; s < now.size(); ++s) {
      SCOPED_TRACE(stream_name(static_cast<int>(s)));
      ASSERT_LE(now[s], model.released(s))
          << "the store passed record " << model.released(s) + 1
          << ", which was never acknowledged (it started at " << position[s] << ")";
      ASSERT_GE(now[s], model.flushed[s]) << "records acknowledged before a flush() were lost";
      if (now[s] < model.released(s)) ++held_back;
      if (now[s] > model.flushed[s]) ++beyond_flush;
    }
    position = now;
  }
  const auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::uint64_t total = 0;
  for (std::uint64_t p : position) total += p;
  std::cout << GetParam().name << ": " << kills << " kills survived in " << seconds << " s; "
            << acks << " acknowledgements, " << flushes << " flushes; after a kill, " << held_back
            << " stream positions behind their acknowledged records (released "
            << "but not yet committed), " << beyond_flush
            << " ahead of the last flush (committed in the background); " << total
            << " records delivered in all" << std::endl;
  RecordProperty("kills", std::to_string(kills));
  RecordProperty("acknowledgements", std::to_string(acks));
}

INSTANTIATE_TEST_SUITE_P(FileBackends, AckKillTest,
                         ::testing::Values(Backend{"yaml", "state.yml"},
                                           Backend{"sqlite", "state.db"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace checkpoint::crash
