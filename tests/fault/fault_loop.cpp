#include "tests/fault/fault_loop.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/writer_lock.hpp"
#include "tests/fault/fault_plan.hpp"
#include "tests/state_values.hpp"

namespace checkpoint::fault {
namespace {

namespace fs = std::filesystem;

// No operation makes this many calls; a loop that gets here is broken.
constexpr std::uint64_t kMaxCalls = 10'000;

constexpr int kStreams = 3;

const std::string kComing = "stream-" + std::to_string(kStreams);

// The states of round `r`: streams whose values follow r, one stream that
// comes and goes (so commits remove too), bookmarks of varying length (so
// files grow and shrink).
StateMap round_states(std::uint64_t r) {
  StateMap out;
  for (int s = 0; s < kStreams + 1; ++s) {
    if (s == kStreams && r % 2 == 1) continue;
    std::string name = "stream-" + std::to_string(s);
    out.emplace(name, EventLogState{name, r * 1000 + static_cast<std::uint64_t>(s),
                                    Timestamp::from_unix(1'600'000'000 + static_cast<long>(r),
                                                         static_cast<std::uint32_t>(r)),
                                    std::string(r * 37 % 2000, 'b')});
  }
  return out;
}

Timestamp round_time(std::uint64_t r) {
  return Timestamp::from_unix(1'700'000'000 + static_cast<long>(r));
}

// Commits round `r` as changes: every state of the round upserted, the
// stream that comes and goes removed when the round lacks it. Whatever the
// store held before (any round), it then holds round r.
void commit_round(Store& store, std::uint64_t r) {
  const StateMap states = round_states(r);
  std::vector<EventLogState> upserted;
  for (const auto& [name, state] : states) upserted.push_back(state);
  std::vector<std::string> removed;
  if (!states.contains(kComing)) removed.push_back(kComing);
  store.commit(Changes{round_time(r), upserted, removed});
}

std::string path_of(const std::string& uri) { return parse_store_uri(uri).target; }

// What a reader loads; nullopt if the store does not exist.
std::optional<PersistedState> read_store(const std::string& uri) {
  try {
    return Store::open(uri, {.mode = OpenMode::read})->load();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::not_found) return std::nullopt;
    throw;
  }
}

// Whether `loaded` holds exactly round r's states (and, with `with_time`,
// its update_time).
bool holds_round(const PersistedState& loaded, std::uint64_t r, bool with_time) {
  const StateMap expected = round_states(r);
  if (loaded.states.size() != expected.size()) return false;
  if (with_time && loaded.update_time != round_time(r)) return false;
  for (const auto& state : loaded.states) {
    auto it = expected.find(state.name);
    // Written through the front end (without `with_time`), each state
    // carries its commit's update time, which the round does not know.
    if (it == expected.end() || it->second != (with_time ? state : testing::values(state))) {
      return false;
    }
  }
  return true;
}

std::string describe(const std::optional<PersistedState>& loaded) {
  if (!loaded) return "no store";
  std::ostringstream out;
  out << loaded->states.size() << " states, update_time " << loaded->update_time.to_string();
  for (const auto& state : loaded->states) {
    out << "; " << state.name << " = " << state.record_number;
  }
  return out.str();
}

std::string describe_fault(std::uint64_t n, const LoopOptions& options) {
  return "call " + std::to_string(n) + " (" + fired_at() + ") failing with " +
         std::strerror(options.err) + "; calls: " + call_log();
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Checks the error of a failed operation: Error{io} naming the store (and,
// where the options say so, the errno).
void expect_io_error(const Error& e, const std::string& uri, const LoopOptions& options,
                     const std::string& fault) {
  EXPECT_EQ(e.code(), ErrorCode::io) << fault << ": " << e.what();
  EXPECT_NE(std::string(e.what()).find(path_of(uri)), std::string::npos)
      << fault << ": the message does not name the store: " << e.what();
  if (options.names_os_error) {
    EXPECT_NE(lower(e.what()).find(lower(std::strerror(options.err))), std::string::npos)
        << fault << ": the message does not say what the call failed with: " << e.what();
  }
}

// Counts a fault point.
void count(Tally& tally, bool failed) {
  ++tally.points;
  ++(failed ? tally.failed : tally.absorbed);
  tally.fault_calls.insert(fired_at());
  if (!failed) tally.absorbed_calls.insert(fired_at());
}

// After a fault: a reader sees `old` (nullopt: no store, or an empty one)
// or, past the point of no return, `attempted` whole; counts which.
void check_after_fault(const std::string& uri, bool failed, std::optional<std::uint64_t> old,
                       std::uint64_t attempted, bool with_time, const LoopOptions& options,
                       const std::string& fault, Tally& tally) {
  std::optional<PersistedState> loaded;
  try {
    loaded = read_store(uri);
  } catch (const Error& e) {
    ADD_FAILURE() << fault << ": " << (failed ? "after the failure" : "after the absorbed fault")
                  << ", a reader cannot load the store: " << e.what();
    return;
  }
  const bool is_new = loaded && holds_round(*loaded, attempted, with_time);
  if (!failed) {
    EXPECT_TRUE(is_new) << fault << ": the operation succeeded but did not write; a reader loads "
                        << describe(loaded);
    return;
  }
  const bool is_old =
      old ? loaded && holds_round(*loaded, *old, with_time)
          : !loaded || (loaded->states.empty() && loaded->update_time == Timestamp());
  ASSERT_TRUE(is_old || is_new) << fault
                                << ": neither the previous nor the new commit loads; a reader "
                                   "loads "
                                << describe(loaded);
  if (is_new) {
    ++tally.new_whole;
    if (options.old_unless_renamed) {
      EXPECT_TRUE(called_before_firing("rename"))
          << fault << ": the failed commit replaced the previous one before its rename";
    }
  }
}

// The uri of a store in directories that do not exist yet, one for each n.
std::string fresh_uri(const std::string& uri, std::uint64_t n) {
  const StoreUri parsed = parse_store_uri(uri);
  const fs::path path(parsed.target);
  return parsed.scheme + ":" +
         (path.parent_path() / ("new-" + std::to_string(n)) / "sub" / path.filename()).string();
}

// What the directory holds: each name with its size and modification time.
std::map<std::string, std::string> listing(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    struct stat st {};
    ::lstat(entry.path().c_str(), &st);
    out[entry.path().filename().string()] = std::to_string(st.st_size) + " bytes, mtime " +
                                            std::to_string(st.st_mtim.tv_sec) + "." +
                                            std::to_string(st.st_mtim.tv_nsec);
  }
  return out;
}

}  // namespace

Tally& Tally::operator+=(const Tally& other) {
  points += other.points;
  failed += other.failed;
  failed_opening += other.failed_opening;
  absorbed += other.absorbed;
  new_whole += other.new_whole;
  fault_calls.insert(other.fault_calls.begin(), other.fault_calls.end());
  absorbed_calls.insert(other.absorbed_calls.begin(), other.absorbed_calls.end());
  return *this;
}

std::ostream& operator<<(std::ostream& os, const Tally& t) {
  os << t.points << " fault points (" << t.failed << " failed with Error{io}, of which "
     << t.failed_opening << " in opening; " << t.absorbed << " absorbed";
  if (!t.absorbed_calls.empty()) {
    const char* sep = ": ";
    for (const auto& call : t.absorbed_calls) os << std::exchange(sep, ", ") << call;
  }
  os << "; " << t.new_whole << " failed after the new commit was in place; calls failed:";
  for (const auto& call : t.fault_calls) os << " " << call;
  return os << ")";
}

Tally store_faults(const std::string& base_uri, Stage stage, const LoopOptions& options) {
  Tally tally;
  std::uint64_t round = 0;
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    const std::string uri = stage == Stage::creating ? fresh_uri(base_uri, n) : base_uri;
    std::optional<std::uint64_t> old;
    if (stage != Stage::creating) {
      // The previous commit, by a store object gone before the faulty one opens.
      auto previous = Store::open(uri);
      previous->load();
      commit_round(*previous, ++round);
      old = round;
    }
    std::unique_ptr<Store> store;
    if (stage == Stage::first_commit || stage == Stage::later_commit) {
      store = Store::open(uri);
      EXPECT_TRUE(holds_round(store->load(), *old, true))
          << "the writer does not load round " << *old;
      if (stage == Stage::later_commit) {
        commit_round(*store, ++round);
        old = round;
      }
    }
    const std::uint64_t attempted = ++round;

    bool failed = false, opening = !store;
    arm(n, options.err);
    try {
      if (!store) {
        store = Store::open(uri);
        store->load();
      }
      opening = false;
      commit_round(*store, attempted);
    } catch (const Error& e) {
      disarm();
      failed = true;
      expect_io_error(e, uri, options, describe_fault(n, options));
    }
    disarm();
    if (!fired()) {
      EXPECT_FALSE(failed) << "failed with no fault injected";
      EXPECT_GT(n, 1u) << "no I/O call went through the fault seam";
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    count(tally, failed);
    if (failed && opening) ++tally.failed_opening;
    if (!store) {
      EXPECT_FALSE(WriterLock::is_held(path_of(uri)))
          << fault << ": Store::open() failed, yet the store is still locked";
    }
    check_after_fault(uri, failed, old, attempted, true, options, fault, tally);
    if (::testing::Test::HasFatalFailure()) return tally;

    // The fault has cleared: the same store object (or, if it did not open,
    // a new one) writes.
    const std::uint64_t next = ++round;
    try {
      if (!store) store = Store::open(uri);
      commit_round(*store, next);
    } catch (const Error& e) {
      ADD_FAILURE() << fault << ": the next commit failed too: " << e.what();
      return tally;
    }
    std::optional<PersistedState> loaded = read_store(uri);
    EXPECT_TRUE(loaded && holds_round(*loaded, next, true))
        << fault << ": the next commit is not there; a reader loads " << describe(loaded);
  }
  ADD_FAILURE() << "an operation made more than " << kMaxCalls << " calls";
  return tally;
}

Tally read_faults(const std::string& uri, const LoopOptions& options) {
  Tally tally;
  {
    auto writer = Store::open(uri);
    writer->load();
    commit_round(*writer, 1);
  }
  const fs::path dir = fs::path(path_of(uri)).parent_path();
  const auto before = listing(dir);
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    bool failed = false;
    PersistedState loaded;
    arm(n, options.err);
    try {
      loaded = Store::open(uri, {.mode = OpenMode::read})->load();
    } catch (const Error& e) {
      disarm();
      failed = true;
      expect_io_error(e, uri, options, describe_fault(n, options));
    }
    disarm();
    if (!fired()) {
      EXPECT_FALSE(failed) << "failed with no fault injected";
      EXPECT_GT(n, 1u) << "no I/O call went through the fault seam";
      EXPECT_TRUE(holds_round(loaded, 1, true)) << "a reader loads " << describe(loaded);
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    count(tally, failed);
    if (failed) ++tally.failed_opening;
    if (!failed) {
      EXPECT_TRUE(holds_round(loaded, 1, true))
          << fault << ": the fault was absorbed, yet the reader loads " << describe(loaded);
    }
    EXPECT_FALSE(WriterLock::is_held(path_of(uri))) << fault << ": a reader locked the store";
    EXPECT_EQ(listing(dir), before) << fault << ": a reader changed the store's directory";
    std::optional<PersistedState> again = read_store(uri);
    EXPECT_TRUE(again && holds_round(*again, 1, true))
        << fault << ": the store changed; a reader loads " << describe(again);
  }
  ADD_FAILURE() << "reading made more than " << kMaxCalls << " calls";
  return tally;
}

Tally upgrade_faults(const std::string& uri, const std::string& fixture,
                     const PersistedState& expected, const LoopOptions& options) {
  Tally tally;
  const fs::path path = path_of(uri);
  auto fresh_copy = [&] {
    fs::remove_all(path.parent_path());
    fs::create_directories(path.parent_path());
    fs::copy_file(fixture, path);
  };
  auto holds_expected = [&](const std::optional<PersistedState>& loaded) {
    return loaded && loaded->update_time == expected.update_time &&
           loaded->states == expected.states;
  };
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    fresh_copy();
    bool failed = false;
    arm(n, options.err);
    std::unique_ptr<Store> writer;  // closed once the fault is cleared, as store_faults() does
    try {
      // A database upgrades when a writer opens it; a whole-file format at
      // its first commit (here one that changes nothing).
      writer = Store::open(uri);
      writer->load();
      writer->commit(Changes{expected.update_time, {}, {}});
    } catch (const Error& e) {
      disarm();
      failed = true;
      expect_io_error(e, uri, options, describe_fault(n, options));
    }
    disarm();
    writer.reset();
    if (!fired()) {
      EXPECT_FALSE(failed) << "failed with no fault injected";
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    count(tally, failed);
    if (failed) ++tally.failed_opening;
    EXPECT_FALSE(WriterLock::is_held(path)) << fault << ": the failed writer holds the store";
    const std::optional<PersistedState> loaded = read_store(uri);
    EXPECT_TRUE(holds_expected(loaded)) << fault << ": a reader loads " << describe(loaded);
    try {
      const PersistedState again = Store::open(uri)->load();
      EXPECT_TRUE(holds_expected(again))
          << fault << ": a writer after the fault loads " << describe(again);
    } catch (const Error& e) {
      ADD_FAILURE() << fault << ": a writer cannot open the store after the fault: " << e.what();
    }
  }
  ADD_FAILURE() << "opening made more than " << kMaxCalls << " calls";
  return tally;
}

Tally front_end_faults(const std::string& uri, const LoopOptions& options) {
  Tally tally;
  std::uint64_t round = 0;
  Options settings;
  settings.max_updates = 1'000'000;
  settings.flush_interval = std::chrono::hours(24);
  {
    auto first = Store::open(uri);
    first->load();
    commit_round(*first, round);
  }
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    auto checkpoint = std::make_unique<Checkpoint>(uri, settings);
    const std::uint64_t old = round, attempted = ++round;
    // Replace every state by round `attempted`'s.
    StateMap wanted = round_states(attempted);
    for (const auto& [name, state] : checkpoint->states()) {
      if (!wanted.contains(name)) checkpoint->remove(name);
    }
    for (const auto& [name, state] : wanted) checkpoint->persist_state(state);
    const std::uint64_t failed_before = checkpoint->stats().failed_commits;

    bool failed = false;
    arm(n, options.err);
    try {
      checkpoint->flush();
    } catch (const Error& e) {
      failed = true;
      disarm();
      expect_io_error(e, uri, options, describe_fault(n, options));
    }
    disarm();
    if (!fired()) {
      EXPECT_FALSE(failed);
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    count(tally, failed);
    // The front end keeps what failed...
    EXPECT_EQ(testing::values(checkpoint->states()), wanted) << fault;
    Stats stats = checkpoint->stats();
    if (failed) {
      EXPECT_GT(stats.pending, 0u) << fault;
      EXPECT_EQ(stats.failed_commits, failed_before + 1) << fault;
      EXPECT_FALSE(stats.last_error.empty()) << fault;
    }
    // (the front end's update_time is its own clock's, so only states
    // compare; the Checkpoint still holds the store: a reader loads)
    check_after_fault(uri, failed, old, attempted, false, options, fault, tally);
    if (::testing::Test::HasFatalFailure()) return tally;
    // ...and its next flush writes it.
    try {
      checkpoint->flush();
    } catch (const Error& e) {
      ADD_FAILURE() << fault << ": the next flush failed too: " << e.what();
      return tally;
    }
    EXPECT_EQ(checkpoint->stats().pending, 0u) << fault;
    EXPECT_TRUE(checkpoint->stats().last_error.empty()) << fault;
    std::optional<PersistedState> loaded = read_store(uri);
    EXPECT_TRUE(loaded && holds_round(*loaded, attempted, false))
        << fault << ": the changes kept by the front end were not written; a reader loads "
        << describe(loaded);
    checkpoint.reset();
    loaded = read_store(uri);
    EXPECT_TRUE(loaded && holds_round(*loaded, attempted, false))
        << fault << ": after shutdown a reader loads " << describe(loaded);
  }
  ADD_FAILURE() << "a flush made more than " << kMaxCalls << " calls";
  return tally;
}

Tally open_faults(const std::string& uri, const LoopOptions& options) {
  Tally tally;
  std::uint64_t round = 0;
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    {
      auto previous = Store::open(uri);
      previous->load();
      commit_round(*previous, ++round);
    }
    bool failed = false;
    std::unique_ptr<Checkpoint> checkpoint;
    arm(n, options.err);
    try {
      checkpoint = std::make_unique<Checkpoint>(uri);
    } catch (const Error& e) {
      failed = true;
      disarm();
      expect_io_error(e, uri, options, describe_fault(n, options));
    }
    disarm();
    if (!fired()) {
      EXPECT_FALSE(failed);
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    count(tally, failed);
    if (failed) {
      ++tally.failed_opening;
      EXPECT_FALSE(WriterLock::is_held(path_of(uri)))
          << fault << ": the Checkpoint was not made, yet the store is still locked";
    } else {
      EXPECT_EQ(checkpoint->states(), round_states(round)) << fault;
    }
    checkpoint.reset();
    // Opening commits no change: the same states either way.
    std::optional<PersistedState> loaded = read_store(uri);
    EXPECT_TRUE(loaded && holds_round(*loaded, round, false))
        << fault << ": a reader loads " << describe(loaded);
    // Opened again with the fault gone, it sees everything.
    try {
      Checkpoint again(uri);
      EXPECT_EQ(again.states(), round_states(round)) << fault;
    } catch (const Error& e) {
      ADD_FAILURE() << fault << ": cannot open after the fault: " << e.what();
      return tally;
    }
  }
  ADD_FAILURE() << "opening made more than " << kMaxCalls << " calls";
  return tally;
}

}  // namespace checkpoint::fault
