#include "tests/fault/fault_loop.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/registry.hpp"
#include "tests/fault/fault_plan.hpp"

namespace checkpoint::fault {
namespace {

// No commit makes this many calls; a loop that gets here is broken.
constexpr std::uint64_t kMaxCalls = 10'000;

constexpr int kStreams = 3;

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

void commit_round(StateStore& store, std::uint64_t r) {
  StateMap states = round_states(r);
  std::vector<std::string> upserted, removed;
  for (const auto& [name, state] : states) upserted.push_back(name);
  if (!states.contains("stream-" + std::to_string(kStreams))) {
    removed.push_back("stream-" + std::to_string(kStreams));
  }
  store.commit(Commit{round_time(r), states, upserted, removed});
}

// The round a fresh reader loads: r if it holds exactly round r's states
// (and, with `with_time`, its update_time), else nullopt.
std::optional<std::uint64_t> loaded_round(const std::string& uri, std::uint64_t a, std::uint64_t b,
                                          bool with_time) {
  PersistedState loaded = open_store(uri)->load();
  for (std::uint64_t r : {a, b}) {
    StateMap expected = round_states(r);
    if (loaded.states.size() != expected.size()) continue;
    if (with_time && loaded.update_time != round_time(r)) continue;
    bool same = true;
    for (const auto& state : loaded.states) {
      auto it = expected.find(state.name);
      same = same && it != expected.end() && it->second == state;
    }
    if (same) return r;
  }
  return std::nullopt;
}

std::string describe_fault(std::uint64_t n, const LoopOptions& options) {
  return "call " + std::to_string(n) + " (" + fired_at() + ") failing with " +
         std::strerror(options.err) + "; calls: " + call_log();
}

// Checks the error of a failed commit: Error{io} naming the store.
void expect_io_error(const Error& e, const std::string& uri, const std::string& fault) {
  EXPECT_EQ(e.code(), ErrorCode::io) << fault << ": " << e.what();
  std::string target = parse_store_uri(uri).target;
  EXPECT_NE(std::string(e.what()).find(target), std::string::npos)
      << fault << ": the message does not name the store: " << e.what();
}

// After a fault: the reader sees `old` or, past the point of no return,
// `attempted` whole; counts which.
void check_after_fault(const std::string& uri, bool failed, std::uint64_t old,
                       std::uint64_t attempted, bool with_time, const LoopOptions& options,
                       const std::string& fault, Tally& tally) {
  std::optional<std::uint64_t> seen;
  try {
    seen = loaded_round(uri, old, attempted, with_time);
  } catch (const Error& e) {
    ADD_FAILURE() << fault << ": the store does not load: " << e.what();
    return;
  }
  if (!failed) {
    EXPECT_EQ(seen, attempted) << fault << ": commit() succeeded but did not write";
    return;
  }
  ASSERT_TRUE(seen.has_value()) << fault << ": neither the previous nor the new commit loads";
  if (*seen == attempted) {
    ++tally.new_whole;
    if (options.old_unless_renamed) {
      EXPECT_TRUE(called_before_firing("rename"))
          << fault << ": the failed commit replaced the previous one before its rename";
    }
  }
}

}  // namespace

Tally& Tally::operator+=(const Tally& other) {
  points += other.points;
  failed += other.failed;
  absorbed += other.absorbed;
  new_whole += other.new_whole;
  absorbed_calls.insert(other.absorbed_calls.begin(), other.absorbed_calls.end());
  return *this;
}

std::ostream& operator<<(std::ostream& os, const Tally& t) {
  os << t.points << " fault points (" << t.failed << " commits failed with Error{io}, "
     << t.absorbed << " absorbed";
  if (!t.absorbed_calls.empty()) {
    const char* sep = ": ";
    for (const auto& call : t.absorbed_calls) os << std::exchange(sep, ", ") << call;
  }
  return os << "; " << t.new_whole << " failed after the new commit was in place)";
}

Tally store_faults(const std::string& uri, bool lock_held, const LoopOptions& options) {
  Tally tally;
  std::uint64_t round = 0;
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    // The previous commit, by a store object gone before the faulty one opens.
    commit_round(*open_store(uri), ++round);
    auto store = open_store(uri);
    if (lock_held) commit_round(*store, ++round);
    const std::uint64_t old = round, attempted = ++round;

    bool failed = false;
    arm(n, options.err);
    try {
      commit_round(*store, attempted);
    } catch (const Error& e) {
      failed = true;
      disarm();
      expect_io_error(e, uri, describe_fault(n, options));
    }
    disarm();
    if (!fired()) {
      EXPECT_FALSE(failed) << "commit() failed with no fault injected";
      EXPECT_GT(n, 1u) << "no I/O call went through the fault seam";
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    ++tally.points;
    ++(failed ? tally.failed : tally.absorbed);
    if (!failed) tally.absorbed_calls.insert(fired_at());
    check_after_fault(uri, failed, old, attempted, true, options, fault, tally);
    if (::testing::Test::HasFatalFailure()) return tally;

    // The fault has cleared: the same store object writes.
    const std::uint64_t next = ++round;
    try {
      commit_round(*store, next);
    } catch (const Error& e) {
      ADD_FAILURE() << fault << ": the next commit failed too: " << e.what();
      return tally;
    }
    EXPECT_EQ(loaded_round(uri, next, next, true), next)
        << fault << ": the next commit is not there";
  }
  ADD_FAILURE() << "a commit made more than " << kMaxCalls << " calls";
  return tally;
}

Tally front_end_faults(const std::string& uri, const LoopOptions& options) {
  Tally tally;
  std::uint64_t round = 0;
  Options settings;
  settings.max_updates = 1'000'000;
  settings.flush_interval = std::chrono::hours(24);
  commit_round(*open_store(uri), round);
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    auto checkpoint = std::make_unique<Checkpoint>(uri, settings);
    const std::uint64_t old = round, attempted = ++round;
    // Replace every state by round `attempted`'s.
    StateMap wanted = round_states(attempted);
    for (const auto& [name, state] : checkpoint->states()) {
      if (!wanted.contains(name)) checkpoint->remove(name);
    }
    for (const auto& [name, state] : wanted) checkpoint->persist_state(state);

    bool failed = false;
    arm(n, options.err);
    try {
      checkpoint->flush();
    } catch (const Error& e) {
      failed = true;
      disarm();
      expect_io_error(e, uri, describe_fault(n, options));
    }
    disarm();
    if (!fired()) {
      EXPECT_FALSE(failed);
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    ++tally.points;
    ++(failed ? tally.failed : tally.absorbed);
    if (!failed) tally.absorbed_calls.insert(fired_at());
    // The front end keeps what failed...
    EXPECT_EQ(checkpoint->states(), wanted) << fault;
    Stats stats = checkpoint->stats();
    if (failed) {
      EXPECT_GT(stats.pending, 0u) << fault;
      EXPECT_FALSE(stats.last_error.empty()) << fault;
    }
    // (the front end's update_time is its own clock's, so only states compare)
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
    checkpoint.reset();
    EXPECT_EQ(loaded_round(uri, attempted, attempted, false), attempted)
        << fault << ": the changes kept by the front end were not written";
  }
  ADD_FAILURE() << "a flush made more than " << kMaxCalls << " calls";
  return tally;
}

Tally open_faults(const std::string& uri, const LoopOptions& options) {
  Tally tally;
  std::uint64_t round = 0;
  for (std::uint64_t n = 1; n < kMaxCalls; ++n) {
    commit_round(*open_store(uri), ++round);
    bool failed = false;
    std::unique_ptr<Checkpoint> checkpoint;
    arm(n, options.err);
    try {
      checkpoint = std::make_unique<Checkpoint>(uri);
    } catch (const Error& e) {
      failed = true;
      disarm();
      expect_io_error(e, uri, describe_fault(n, options));
    }
    disarm();
    if (!fired()) {
      EXPECT_FALSE(failed);
      return tally;
    }
    const std::string fault = describe_fault(n, options);
    ++tally.points;
    ++(failed ? tally.failed : tally.absorbed);
    if (!failed) tally.absorbed_calls.insert(fired_at());
    checkpoint.reset();
    // Opening commits the loaded states again: the same round either way.
    EXPECT_EQ(loaded_round(uri, round, round, false), round) << fault;
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
