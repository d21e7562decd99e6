// How states() merges the shards' copies (core/state_runs.hpp): the result
// holds every state once, and a name that comes twice keeps its first copy.
// A map holds its names in order whatever order they were inserted in, so
// the merge order is checked by merge() itself: in builds with assertions
// (the tests' debug build) it aborts when the tournament gives a name out of
// order, whatever the runs' order, the names' shared prefix (found as the
// states come, so it may shrink late), names that tie in their 8-byte keys,
// or runs streamed from a source that changed since they began.
#include "core/state_runs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace checkpoint::detail {
namespace {

EventLogState state(std::string name, std::uint64_t record = 1) {
  return {std::move(name), record, Timestamp::from_unix(1'700'000'000, 5), "bookmark"};
}

// What `a` and `b` begin with, both.
std::string shared_prefix(const std::string& a, const std::string& b) {
  return a.substr(0, common_prefix(a, b));
}

// A streamed run's states, handed out from a vector as merge() asks.
class VectorSource final : public StateRuns::Source {
 public:
  explicit VectorSource(std::vector<EventLogState> states) : states_(std::move(states)) {}
  bool copy(StateRuns& runs, std::size_t limit) override {
    EXPECT_GE(limit, 1u);
    ++calls;
    for (std::size_t added = 0; next_ < states_.size() && added < limit; ++added) {
      runs.add(states_[next_++]);
    }
    return next_ < states_.size();
  }
  std::size_t calls = 0;

 private:
  std::vector<EventLogState> states_;
  std::size_t next_ = 0;
};

// The runs, each added in the order given, merged; `streamed` says which
// are streamed (the others are gathered whole), by their index.
StateMap merged(const std::vector<std::vector<EventLogState>>& runs,
                const std::vector<bool>& streamed = {}) {
  StateRuns gathered;
  std::vector<std::unique_ptr<VectorSource>> sources;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto& run = runs[r];
    if (r < streamed.size() && streamed[r] && !run.empty()) {
      sources.push_back(std::make_unique<VectorSource>(run));
      gathered.begin_stream(*sources.back(), shared_prefix(run.front().name, run.back().name));
    } else {
      gathered.begin_run(run.size());
      for (const auto& s : run) gathered.add(s);
    }
  }
  return gathered.merge();
}

StateMap map_of(const std::vector<std::vector<EventLogState>>& runs) {
  StateMap out;
  for (const auto& run : runs) {
    for (const auto& s : run) out.emplace(s.name, s);
  }
  return out;
}

TEST(StateRuns, NoRunsOrEmptyRunsGiveNothing) {
  EXPECT_TRUE(merged({}).empty());
  EXPECT_TRUE(merged({{}, {}, {}}).empty());
}

TEST(StateRuns, MergesSortedAndUnsortedRunsInNameOrder) {
  const std::vector<std::vector<EventLogState>> runs = {
      {state("/var/log/b"), state("/var/log/d")},
      {},
      {state("/var/log/e"), state("/var/log/a"), state("/var/log/c")},  // not sorted
      {state("/var/log/f")},
  };
  EXPECT_EQ(merged(runs), map_of(runs));
}

TEST(StateRuns, APrefixThatShrinksLateStillOrdersTheFirstStates) {
  // The first names share 30 bytes; the last one shares none with them, so
  // the keys taken before it must be taken again.
  const std::string dir = "/var/log/containers/app-0000-";
  const std::vector<std::vector<EventLogState>> runs = {
      {state(dir + "b"), state(dir + "d")},
      {state(dir + "a"), state(dir + "c")},
      {state(dir + "e"), state("C:\\Windows\\Application")},
  };
  EXPECT_EQ(merged(runs), map_of(runs));
}

TEST(StateRuns, NamesThatTieInTheirKeysAreComparedWhole) {
  // Equal for 8 bytes after the shared prefix, and prefixes of each other;
  // a NUL byte and a missing byte make the same key.
  const std::string p = "prefix/";
  const std::vector<std::vector<EventLogState>> runs = {
      {state(p + "abcdefgh-2"), state(p + "abcdefgh-4"), state(p + "ab")},
      {state(p + "abcdefgh-1"), state(p + "abcdefgh-3"), state(p + std::string("ab\0", 3))},
      {state(p + "abcdefgh"), state(p + "a")},
  };
  EXPECT_EQ(merged(runs), map_of(runs));
}

TEST(StateRuns, BytesAbove127SortAfterAscii) {
  const std::vector<std::vector<EventLogState>> runs = {
      {state("k\xc3\xa9y"), state("kz")},
      {state("key"), state("k\xe2\x82\xac")},
  };
  const StateMap out = merged(runs);
  EXPECT_EQ(out, map_of(runs));
  std::vector<std::string> names;
  for (const auto& [name, s] : out) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"key", "kz", "k\xc3\xa9y", "k\xe2\x82\xac"}));
}

TEST(StateRuns, ANameThatComesTwiceKeepsItsFirstCopy) {
  const StateMap out = merged({{state("a", 1), state("b", 1), state("a", 2)}, {state("c", 1)}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.at("a").record_number, 1u);
}

TEST(StateRuns, CopiesEveryValueExactly) {
  EventLogState s{"name", 18'446'744'073'709'551'615u, Timestamp::from_unix(-62'135'596'800, 0),
                  std::string("<x>\0y</x>", 9)};
  s.update_time = Timestamp::from_unix(1'800'000'000, 999'999'999);
  const StateMap out = merged({{s}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.at("name"), s);
}

TEST(StateRuns, AStreamedRunIsCopiedAsTheMergeNeedsIt) {
  std::vector<EventLogState> streamed, gathered;
  for (int i = 0; i < 1000; ++i) {
    (i % 2 == 0 ? streamed : gathered).push_back(state("/var/log/" + std::to_string(10000 + i)));
  }
  VectorSource source(streamed);
  StateRuns runs;
  runs.begin_stream(source, shared_prefix(streamed.front().name, streamed.back().name));
  runs.begin_run(gathered.size());
  for (const auto& s : gathered) runs.add(s);
  EXPECT_EQ(source.calls, 0u) << "nothing copied before merge()";
  const StateMap out = runs.merge();
  EXPECT_EQ(out, map_of({streamed, gathered}));
  EXPECT_GT(source.calls, 10u) << "a few states at a time";
}

TEST(StateRuns, AStreamedRunThatChangedMeanwhileStillMergesWhole) {
  // It said its names begin with `dir`; then it gives a name before the
  // one it gave last, one without that prefix, and one twice.
  const std::string dir = "/var/log/containers/app-";
  const std::vector<EventLogState> gives = {
      state(dir + "a"), state(dir + "c"),    state(dir + "b"), state("C:\\Logs\\x"),
      state(dir + "d"), state(dir + "d", 2), state(dir + "e"),
  };
  VectorSource source(gives);
  StateRuns runs;
  runs.begin_stream(source, dir);
  runs.begin_run(2);
  runs.add(state(dir + "b0"));
  runs.add(state(dir + "f"));
  const StateMap out = runs.merge();
  EXPECT_EQ(out, map_of({gives, {state(dir + "b0"), state(dir + "f")}}));
  EXPECT_EQ(out.at(dir + "d").record_number, 1u) << "its first copy";
}

TEST(StateRuns, ANameInTwoRunsKeepsTheCopyOfTheEarlierRun) {
  const std::vector<std::vector<EventLogState>> runs = {
      {state("a", 1), state("b", 1)},
      {state("b", 2), state("c", 2)},
  };
  EXPECT_EQ(merged(runs, {true, false}).at("b").record_number, 1u);
  EXPECT_EQ(merged(runs, {false, true}).at("b").record_number, 1u);
  // The later run's copy reaches the head first.
  const std::vector<std::vector<EventLogState>> later = {{state("b", 1)},
                                                         {state("a", 2), state("b", 2)}};
  EXPECT_EQ(merged(later).at("b").record_number, 1u);
  EXPECT_EQ(merged(later, {true, true}).at("b").record_number, 1u);
}

TEST(StateRuns, RandomRunsMergeAsAMapWould) {
  std::mt19937_64 random(7);
  for (int round = 0; round < 200; ++round) {
    const std::size_t run_count = 1 + random() % 70;
    std::vector<std::vector<EventLogState>> runs(run_count);
    const std::string prefix = round % 3 == 0 ? "" : std::string(random() % 20, 'p');
    StateMap expected;
    for (std::size_t n = random() % 400; n > 0; --n) {
      // Short names over a small alphabet: many shared prefixes and ties.
      std::string name = prefix;
      for (std::size_t len = random() % 12; len > 0; --len) name += "ab\x01\xff"[random() % 4];
      EventLogState s = state(name, random());
      if (expected.emplace(name, s).second) runs[random() % run_count].push_back(s);
    }
    // Each run sorted but in every fourth round.
    if (round % 4 != 0) {
      for (auto& run : runs) {
        std::sort(run.begin(), run.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
      }
    }
    EXPECT_EQ(merged(runs), expected) << "round " << round;
    // Sorted runs streamed, some or all.
    if (round % 4 != 0) {
      std::vector<bool> streamed(run_count);
      for (std::size_t r = 0; r < run_count; ++r) streamed[r] = round % 2 == 0 || random() % 2;
      EXPECT_EQ(merged(runs, streamed), expected) << "round " << round << ", streamed";
    }
  }
}

}  // namespace
}  // namespace checkpoint::detail
