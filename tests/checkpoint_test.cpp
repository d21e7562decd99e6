// The Checkpoint front end, driven through a test store whose behaviour the
// test scripts: it records every commit, can fail the next N commits, and can
// hold a commit inside Store::commit() until the test releases it.
// Waits are on a condition variable; the only deadline (kPatience) bounds a
// broken implementation, it is never part of what is checked.
#include "checkpoint/checkpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/state_values.hpp"

namespace checkpoint {
namespace {

using testing::values;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr auto kPatience = 30s;  // only a failing test ever waits this long
constexpr auto kNever = std::chrono::hours(24);

using Clock = std::chrono::steady_clock;
using Names = std::vector<std::string>;

// One successful call to Store::commit(), copied.
struct Recorded {
  Timestamp update_time;
  StateMap states;          // what the store holds after it
  Names upserted, removed;  // the names it changed
  Clock::time_point started;
};

enum class Failure { error, std_exception, bad_alloc, other };

// Shared by the test and the store it hands to Checkpoint.
struct Journal {
  std::mutex mutex;
  std::condition_variable changed;

  // Set by the test.
  PersistedState stored;  // what load() returns
  bool fail_load = false;
  int fail_next = 0;  // this many commits fail from now on
  Failure failure = Failure::error;
  bool hold = false;  // commit() waits inside until the test clears it

  // Set by the store.
  int loads = 0;
  int attempts = 0;  // commit() calls, failed or not
  int inside = 0;    // commit() calls under way
  std::vector<Recorded> commits;

  // Waits until `pred` holds (with the mutex held); false after kPatience.
  template <typename Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, kPatience, pred);
  }
  template <typename Fn>
  auto with_lock(Fn fn) {
    std::lock_guard lock(mutex);
    return fn();
  }
  std::size_t commit_count() {
    return with_lock([&] { return commits.size(); });
  }
  Recorded commit(std::size_t i) {
    return with_lock([&] { return commits.at(i); });
  }
  void set_hold(bool on) {
    with_lock([&] { hold = on; });
    changed.notify_all();
  }
};

class TestStore final : public Store {
 public:
  explicit TestStore(std::shared_ptr<Journal> journal) : journal_(std::move(journal)) {}

  Timestamp scan(const StateSink& sink) override {
    PersistedState stored;
    {
      std::lock_guard lock(journal_->mutex);
      journal_->loads++;
      if (journal_->fail_load) throw Error(ErrorCode::corrupt, "test store: garbage");
      stored = journal_->stored;
    }
    for (auto& state : stored.states) sink(std::move(state));
    return stored.update_time;
  }

  void commit(const Changes& changes) override {
    auto started = Clock::now();
    std::unique_lock lock(journal_->mutex);
    journal_->attempts++;
    journal_->inside++;
    journal_->changed.notify_all();
    journal_->changed.wait(lock, [&] { return !journal_->hold; });
    journal_->inside--;
    if (journal_->fail_next > 0) {
      journal_->fail_next--;
      journal_->changed.notify_all();
      switch (journal_->failure) {
        case Failure::error:
          throw Error(ErrorCode::io, "test store: disk full");
        case Failure::std_exception:
          throw std::runtime_error("test store: out of luck");
        case Failure::bad_alloc:
          throw std::bad_alloc();
        case Failure::other:
          throw 42;
      }
    }
    // What the contract promises a store: sorted, unique, disjoint lists.
    Names upserted, removed(changes.removed.begin(), changes.removed.end());
    for (const auto& state : changes.upserted) upserted.push_back(state.name);
    auto sorted_unique = [](const Names& names) {
      return std::adjacent_find(names.begin(), names.end(), std::greater_equal<>()) == names.end();
    };
    EXPECT_TRUE(sorted_unique(upserted)) << ::testing::PrintToString(upserted);
    EXPECT_TRUE(sorted_unique(removed)) << ::testing::PrintToString(removed);
    for (const auto& name : removed) {
      EXPECT_FALSE(std::binary_search(upserted.begin(), upserted.end(), name)) << name;
    }
    // The store's contents after the commit: what it held, changed.
    StateMap states;
    for (const auto& state : journal_->stored.states) states[state.name] = state;
    for (const auto& name : removed) states.erase(name);
    for (const auto& state : changes.upserted) states[state.name] = state;
    journal_->commits.push_back({changes.update_time, states, upserted, removed, started});
    journal_->stored.update_time = changes.update_time;
    journal_->stored.states.clear();
    for (const auto& [name, state] : states) journal_->stored.states.push_back(state);
    journal_->changed.notify_all();
  }

 private:
  std::shared_ptr<Journal> journal_;
};

EventLogState state(std::string name, std::uint64_t record, std::string bookmark = {}) {
  return {std::move(name), record, Timestamp::from_unix(1'512'486'998, 253'058'800),
          std::move(bookmark)};
}

StateMap map_of(std::initializer_list<EventLogState> states) {
  StateMap out;
  for (const auto& s : states) out.emplace(s.name, s);
  return out;
}

Options quiet(std::size_t max_updates = 1'000'000) {
  Options options;
  options.max_updates = max_updates;
  options.flush_interval = kNever;
  return options;
}

// Collects on_error calls.
struct ErrorLog {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> messages;
  std::vector<Stats> stats_seen;  // stats() as the callback saw them

  std::function<void(const Error&)> callback(const Checkpoint* const* cp = nullptr) {
    return [this, cp](const Error& e) {
      std::lock_guard lock(mutex);
      messages.push_back(e.what());
      if (cp != nullptr && *cp != nullptr) stats_seen.push_back((*cp)->stats());
      changed.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, kPatience, [&] { return messages.size() >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return messages.size();
  }
};

class CheckpointTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> store() { return std::make_unique<TestStore>(journal_); }
  std::shared_ptr<Journal> journal_ = std::make_shared<Journal>();
};

// --- construction ---

TEST_F(CheckpointTest, LoadsAndCommitsOnceAtConstruction) {
  journal_->stored.states = {state("Application", 7), state("System", 9, "<b/>")};
  Checkpoint cp(store(), quiet());

  EXPECT_EQ(journal_->loads, 1);
  ASSERT_EQ(journal_->commit_count(), 1u);
  Recorded first = journal_->commit(0);
  EXPECT_EQ(first.states, map_of({state("Application", 7), state("System", 9, "<b/>")}));
  EXPECT_THAT(first.upserted, IsEmpty());
  EXPECT_THAT(first.removed, IsEmpty());
  EXPECT_FALSE(first.update_time.is_zero());

  EXPECT_EQ(cp.states(), first.states);
  Stats stats = cp.stats();
  EXPECT_EQ(stats.commits, 1u);
  EXPECT_EQ(stats.failed_commits, 0u);
  EXPECT_EQ(stats.states, 2u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.last_error, "");
}

TEST_F(CheckpointTest, ConstructorRethrowsWhenTheFirstCommitFails) {
  journal_->fail_next = 1;
  try {
    Checkpoint cp(store(), quiet());
    ADD_FAILURE() << "constructed over a store that cannot commit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_STREQ(e.what(), "test store: disk full");
  }
  EXPECT_EQ(journal_->attempts, 1);
}

TEST_F(CheckpointTest, ConstructorRethrowsWhatLoadingThrew) {
  journal_->fail_load = true;
  try {
    Checkpoint cp(store(), quiet());
    ADD_FAILURE() << "constructed over a store that cannot load";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt);
  }
  EXPECT_EQ(journal_->attempts, 0);
}

// A store that breaks the contract is caught where it does, not trusted.
TEST_F(CheckpointTest, ConstructorRefusesAScanOutOfOrderOrWithRepeatedNames) {
  for (const auto& states :
       {std::vector{state("b", 1), state("a", 1)}, std::vector{state("a", 1), state("a", 2)},
        std::vector{state("a", 1), state("", 2)}}) {
    journal_->stored.states = states;
    try {
      Checkpoint cp(store(), quiet());
      ADD_FAILURE() << "constructed over a store whose scan breaks the contract";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("state 2 of the scan"));
    }
  }
  EXPECT_EQ(journal_->attempts, 0);
}

// An exception that is not checkpoint::Error, from a store of a user's,
// reaches the caller as Error with the original message.
TEST_F(CheckpointTest, ConstructorTurnsForeignExceptionsFromLoadingIntoErrors) {
  class Throwing final : public Store {
   public:
    Timestamp scan(const StateSink&) override { throw std::invalid_argument("stoull"); }
    void commit(const Changes&) override {}
  };
  try {
    Checkpoint cp(std::make_unique<Throwing>(), quiet());
    ADD_FAILURE() << "constructed over a store that cannot load";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_THAT(e.what(), HasSubstr("stoull"));
  }
}

TEST_F(CheckpointTest, ConstructorRejectsANullStoreAndBadConfigStrings) {
  try {
    Checkpoint cp(std::unique_ptr<Store>(), quiet());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
  try {
    Checkpoint cp("nosuch:/tmp/x", quiet());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  }
}

TEST_F(CheckpointTest, OpensAConfigStringAndReopensWhatItWrote) {
  {
    Checkpoint cp("memory:checkpoint-test-reopen", quiet());
    cp.persist("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"));
  }  // the destructor commits
  Checkpoint again("memory:checkpoint-test-reopen", quiet());
  auto application = again.state("Application");
  ASSERT_TRUE(application.has_value());
  EXPECT_EQ(application->record_number, 250502u);
  EXPECT_EQ(application->timestamp.to_string(), "2017-12-05T15:16:02.6721303Z");
}

// --- batching ---

TEST_F(CheckpointTest, CommitsAfterMaxUpdatesWithoutFlush) {
  Checkpoint cp(store(), quiet(3));
  cp.persist_state(state("a", 1));
  cp.persist_state(state("b", 1));
  cp.persist_state(state("c", 1));
  ASSERT_TRUE(journal_->wait([&] { return journal_->commits.size() >= 2; }));
  // One commit with all three: none was made before the third update.
  EXPECT_THAT(journal_->commit(1).upserted, ElementsAre("a", "b", "c"));

  // Updates count, not distinct names, as in the seed.
  cp.persist_state(state("a", 2));
  cp.persist_state(state("a", 3));
  cp.persist_state(state("a", 4));
  ASSERT_TRUE(journal_->wait([&] { return journal_->commits.size() >= 3; }));
  Recorded third = journal_->commit(2);
  EXPECT_THAT(third.upserted, ElementsAre("a"));
  EXPECT_EQ(third.states.at("a").record_number, 4u);
  cp.shutdown();
  EXPECT_EQ(journal_->commit_count(), 3u);  // nothing left for a final one
}

TEST_F(CheckpointTest, ZeroMaxUpdatesCommitsEveryUpdate) {
  Checkpoint cp(store(), quiet(0));
  cp.persist_state(state("a", 1));
  ASSERT_TRUE(journal_->wait([&] { return journal_->commits.size() >= 2; }));
  EXPECT_THAT(journal_->commit(1).upserted, ElementsAre("a"));
}

TEST_F(CheckpointTest, NothingIsCommittedBelowMaxUpdatesBeforeTheInterval) {
  Checkpoint cp(store(), quiet(100));
  for (int i = 0; i < 99; ++i) cp.persist_state(state("stream-" + std::to_string(i), 1));
  Stats stats = cp.stats();
  EXPECT_EQ(stats.commits, 1u);
  EXPECT_EQ(stats.pending, 99u);
  EXPECT_EQ(stats.states, 99u);
  cp.shutdown();
  // The construction commit, then everything in the final one.
  ASSERT_EQ(journal_->commit_count(), 2u);
  EXPECT_EQ(journal_->commit(1).upserted.size(), 99u);
}

// The worker is idle, waiting with no deadline, when the first change
// arrives: that change must still be committed on time. The clock is moved
// by hand: nothing here waits for real time to pass.
TEST_F(CheckpointTest, IntervalCommitsAFirstChangeWhileTheWorkerIsIdle) {
  auto clock = std::make_shared<ManualClock>();
  Options options;
  options.max_updates = 1000;
  options.flush_interval = 1ms;  // clamped to 1 s
  options.clock = clock;
  Checkpoint cp(store(), options);
  ASSERT_EQ(journal_->commit_count(), 1u);
  cp.persist_state(state("a", 1));
  // The worker heard of the change and waits for its deadline.
  ASSERT_TRUE(clock->await_waits(1, kPatience));
  clock->advance(999ms);
  ASSERT_TRUE(clock->await_waits(2, kPatience));  // it saw the time, and waits on
  EXPECT_EQ(journal_->commit_count(), 1u) << "committed before the interval";
  clock->advance(1ms);
  ASSERT_TRUE(journal_->wait([&] { return journal_->commits.size() >= 2; }))
      << "a change below max_updates was never committed by the interval";
  EXPECT_THAT(journal_->commit(1).upserted, ElementsAre("a"));
}

TEST_F(CheckpointTest, IntervalCommitsBelowMaxUpdatesAndRetriesFailedCommits) {
  auto clock = std::make_shared<ManualClock>();
  ErrorLog errors;
  const Checkpoint* self = nullptr;
  Options options;
  options.max_updates = 3;
  options.flush_interval = 1ms;  // clamped to 1 s
  options.on_error = errors.callback(&self);
  options.clock = clock;
  Checkpoint cp(store(), options);
  self = &cp;

  // A background commit of a, b, c that blocks inside the store, then fails.
  journal_->set_hold(true);
  journal_->with_lock([&] { journal_->fail_next = 1; });
  cp.persist_state(state("a", 1));
  cp.persist_state(state("b", 1));
  cp.persist_state(state("c", 1));
  ASSERT_TRUE(journal_->wait([&] { return journal_->inside == 1; }));

  // One update below max_updates: only the interval can commit it.
  cp.persist_state(state("a", 2));
  journal_->set_hold(false);

  ASSERT_TRUE(errors.wait_for(1));
  {
    std::lock_guard lock(errors.mutex);
    EXPECT_EQ(errors.messages[0], "test store: disk full");
    ASSERT_EQ(errors.stats_seen.size(), 1u);
    const Stats& seen = errors.stats_seen[0];
    EXPECT_EQ(seen.failed_commits, 1u);
    EXPECT_EQ(seen.commits, 1u);
    EXPECT_EQ(seen.last_error, "test store: disk full");
    EXPECT_EQ(seen.pending, 3u);  // a, b, c: "a" counts once
  }

  // No flush(): the worker commits at the interval, failed changes included,
  // and not before.
  ASSERT_TRUE(clock->await_waits(1, kPatience));
  EXPECT_EQ(journal_->commit_count(), 1u);
  clock->advance(1s);
  ASSERT_TRUE(journal_->wait([&] { return journal_->commits.size() >= 2; }));
  Recorded retry = journal_->commit(1);
  EXPECT_THAT(retry.upserted, ElementsAre("a", "b", "c"));
  EXPECT_EQ(retry.states.at("a").record_number, 2u);
  EXPECT_EQ(errors.count(), 1u);

  // The store has returned, but the stats may still be catching up: flush()
  // waits for the commit under way, then has nothing to commit.
  cp.flush();
  Stats stats = cp.stats();
  EXPECT_EQ(stats.commits, 2u);
  EXPECT_EQ(stats.failed_commits, 1u);
  EXPECT_EQ(stats.last_error, "");
  EXPECT_EQ(stats.pending, 0u);
}

// --- what a commit contains ---

TEST_F(CheckpointTest, CommitListsExactlyWhatChangedSinceTheLastCommit) {
  journal_->stored.states = {state("x", 1), state("y", 1), state("z", 1)};
  Checkpoint cp(store(), quiet());

  cp.persist_state(state("a", 1));  // new
  cp.persist_state(state("x", 2));  // changed
  cp.remove("y");
  cp.remove("never-there");  // not a change
  cp.flush();
  Recorded c = journal_->commit(1);
  EXPECT_THAT(c.upserted, ElementsAre("a", "x"));
  EXPECT_THAT(c.removed, ElementsAre("y"));
  EXPECT_EQ(values(c.states), map_of({state("a", 1), state("x", 2), state("z", 1)}));

  cp.persist_state(state("a", 2));
  cp.flush();
  EXPECT_THAT(journal_->commit(2).upserted, ElementsAre("a"));
  EXPECT_THAT(journal_->commit(2).removed, IsEmpty());

  cp.flush();  // nothing changed: no commit
  EXPECT_EQ(journal_->commit_count(), 3u);

  // The last word counts: persisted then removed, removed then persisted.
  cp.persist_state(state("x", 3));
  cp.remove("x");
  cp.remove("z");
  cp.persist_state(state("z", 5));
  cp.flush();
  Recorded last = journal_->commit(3);
  EXPECT_THAT(last.upserted, ElementsAre("z"));
  EXPECT_THAT(last.removed, ElementsAre("x"));
  EXPECT_EQ(values(last.states), map_of({state("a", 2), state("z", 5)}));
}

// Random changes, some batches small among many states and some large,
// some commits failing: every successful commit holds exactly the states
// of a model and lists exactly the names changed since the last success.
TEST_F(CheckpointTest, CommitsMatchAModelThroughRandomChanges) {
  auto stream = [](unsigned n) {  // appended, as g++ -O2 warns wrongly about "s" + ...
    std::string out = "s";
    out += std::to_string(1000 + n);
    return out;
  };
  std::map<std::string, std::uint64_t> model;
  for (unsigned i = 0; i < 200; ++i) {
    journal_->stored.states.push_back(state(stream(i), 1));
    model[stream(i)] = 1;
  }
  Checkpoint cp(store(), quiet());
  std::mt19937 random(7);
  std::set<std::string> touched;  // since the last successful commit
  std::uint64_t record = 1;
  for (int round = 0; round < 40; ++round) {
    const int changes = round % 3 == 0 ? 300 : 3;
    for (int i = 0; i < changes; ++i) {
      const std::string name = stream(random() % 300);
      if (random() % 4 == 0) {
        cp.remove(name);
        if (model.erase(name) == 1) touched.insert(name);  // absent: not a change
      } else {
        touched.insert(name);
        cp.persist_state(state(name, ++record));
        model[name] = record;
      }
    }
    // states() too, whether its shards are still in name order (loaded,
    // or names added in order) or not (names added out of order, slots
    // reused).
    std::map<std::string, std::uint64_t> seen;
    for (const auto& [name, s] : cp.states()) seen[name] = s.record_number;
    ASSERT_EQ(seen, model) << "round " << round;
    if (round % 5 == 4) {
      journal_->with_lock([&] { journal_->fail_next = 1; });
      EXPECT_THROW(cp.flush(), Error);
      continue;
    }
    cp.flush();
    Recorded last = journal_->commit(journal_->commit_count() - 1);
    std::map<std::string, std::uint64_t> committed;
    for (const auto& [name, s] : last.states) committed[name] = s.record_number;
    ASSERT_EQ(committed, model) << "round " << round;
    Names upserted, removed;
    for (const auto& name : touched) (model.contains(name) ? upserted : removed).push_back(name);
    EXPECT_EQ(last.upserted, upserted) << "round " << round;
    EXPECT_EQ(last.removed, removed) << "round " << round;
    touched.clear();
  }
}

TEST_F(CheckpointTest, UpdateTimeComesFromTheClock) {
  Timestamp before = Timestamp::now();
  Checkpoint cp(store(), quiet());
  cp.persist_state(state("a", 1));
  cp.flush();
  Timestamp after = Timestamp::now();
  EXPECT_LE(before, journal_->commit(1).update_time);
  EXPECT_LE(journal_->commit(1).update_time, after);
}

// A state whose commit failed carries, once a retry stores it, the time of
// that retry, in the store and in the front end alike.
TEST_F(CheckpointTest, ARetriedStateCarriesTheUpdateTimeOfTheCommitThatStoredIt) {
  auto clock = std::make_shared<ManualClock>(Clock::time_point{}, Timestamp::from_unix(1'000'000));
  Options options = quiet();
  options.clock = clock;
  Checkpoint cp(store(), options);
  cp.persist_state(state("a", 1));
  journal_->with_lock([&] { journal_->fail_next = 1; });
  EXPECT_THROW(cp.flush(), Error);
  clock->advance(std::chrono::seconds(10));
  cp.persist_state(state("b", 1));
  cp.flush();
  const Timestamp retried = Timestamp::from_unix(1'000'010);
  ASSERT_EQ(journal_->commit_count(), 2u);
  EXPECT_EQ(journal_->commit(1).update_time, retried);
  EXPECT_EQ(journal_->commit(1).states.at("a").update_time, retried);
  EXPECT_EQ(journal_->commit(1).states.at("b").update_time, retried);
  EXPECT_EQ(cp.state("a")->update_time, retried);
  EXPECT_EQ(cp.state("b")->update_time, retried);
}

// A commit walks the states for expired ones at most once per
// flush_interval: a state that expires just after a walk goes at the first
// commit a flush_interval later.
TEST_F(CheckpointTest, ExpiryLooksAtMostOncePerFlushInterval) {
  auto clock = std::make_shared<ManualClock>(Clock::time_point{}, Timestamp::from_unix(1'000'000));
  Options options = quiet();
  options.flush_interval = std::chrono::hours(1);
  options.expire_after = std::chrono::hours(1);
  options.clock = clock;
  Checkpoint cp(store(), options);
  cp.persist_state(state("early", 1));
  cp.flush();  // at 0:00
  clock->advance(std::chrono::minutes(30));
  cp.persist_state(state("later", 1));
  cp.flush();  // at 0:30
  clock->advance(std::chrono::minutes(31));
  cp.persist_state(state("busy", 1));
  cp.flush();  // at 1:01: "early" expired; a walk
  EXPECT_FALSE(cp.state("early"));
  clock->advance(std::chrono::minutes(30));
  cp.persist_state(state("busy", 2));
  cp.flush();  // at 1:31: "later" expired a minute ago, but the last walk was 30 minutes ago
  EXPECT_TRUE(cp.state("later"));
  EXPECT_EQ(cp.stats().expired, 1u);
  clock->advance(std::chrono::minutes(30));
  cp.persist_state(state("busy", 3));
  cp.flush();  // at 2:01
  EXPECT_FALSE(cp.state("later"));
  EXPECT_EQ(cp.stats().expired, 2u);
  EXPECT_EQ(journal_->commit(journal_->commit_count() - 1).removed, Names{"later"});
}

// on_expire runs without the Checkpoint's locks: it may call its methods.
TEST_F(CheckpointTest, OnExpireMayCallTheCheckpoint) {
  auto clock = std::make_shared<ManualClock>(Clock::time_point{}, Timestamp::from_unix(1'000'000));
  Checkpoint* self = nullptr;
  std::vector<std::string> told;
  Options options = quiet();
  options.expire_after = std::chrono::seconds(60);
  options.clock = clock;
  options.on_expire = [&](const std::string& name) {
    told.push_back(name);
    EXPECT_FALSE(self->state(name));
    EXPECT_EQ(self->stats().expired, 1u);
    self->persist_state(state("told", 1));
    self->flush();
  };
  Checkpoint cp(store(), options);
  self = &cp;
  cp.persist_state(state("gone", 1));
  cp.flush();
  clock->advance(std::chrono::seconds(61));
  cp.persist_state(state("new", 1));
  cp.flush();
  EXPECT_EQ(told, std::vector<std::string>{"gone"});
  EXPECT_TRUE(cp.state("told"));
  EXPECT_EQ(values(journal_->with_lock([&] { return journal_->stored.states; })),
            (std::vector<EventLogState>{state("new", 1), state("told", 1)}));
}

// --- reading ---

TEST_F(CheckpointTest, StatesAndStateSeeEveryPersistAtOnce) {
  Checkpoint cp(store(), quiet());
  EventLogState full{"Microsoft-Windows-Sysmon/Operational", 18446744073709551615u,
                     Timestamp::parse("9999-12-31T23:59:59.999999999Z"),
                     "<BookmarkList>\r\n  <Bookmark RecordId='204'/>\r\n</BookmarkList>"};
  cp.persist_state(full);
  cp.persist("Ereignisanzeige \xC3\xBC", 3, Timestamp());

  EXPECT_EQ(cp.state("Microsoft-Windows-Sysmon/Operational"), full);
  EXPECT_EQ(cp.state("Ereignisanzeige \xC3\xBC")->record_number, 3u);
  EXPECT_EQ(cp.state("missing"), std::nullopt);
  StateMap all = cp.states();
  EXPECT_EQ(all.size(), 2u);
  all.clear();  // a copy
  EXPECT_EQ(cp.states().size(), 2u);
  EXPECT_EQ(journal_->commit_count(), 1u);  // all of it before any commit
}

TEST_F(CheckpointTest, RemoveForgetsAStream) {
  journal_->stored.states = {state("a", 1), state("b", 1)};
  Checkpoint cp(store(), quiet());
  cp.remove("a");
  cp.remove("a");  // twice is fine
  cp.remove("never-there");
  EXPECT_EQ(cp.state("a"), std::nullopt);
  EXPECT_EQ(cp.states(), map_of({state("b", 1)}));
  EXPECT_EQ(cp.stats().pending, 1u);
  cp.flush();
  EXPECT_EQ(journal_->commit(1).states, map_of({state("b", 1)}));
}

// --- invalid input ---

TEST_F(CheckpointTest, EmptyOrInvalidUtf8IsRejectedAndNothingChanges) {
  Checkpoint cp(store(), quiet());
  auto expect_invalid = [](auto fn, const char* what) {
    try {
      fn();
      ADD_FAILURE() << what << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << what;
      EXPECT_THAT(e.what(), HasSubstr("Checkpoint")) << what;
    }
  };
  expect_invalid([&] { cp.persist("", 1, Timestamp()); }, "empty name");
  expect_invalid([&] { cp.persist_state(state("", 1)); }, "empty name (persist_state)");
  expect_invalid([&] { cp.persist("Latin-1 \xFC", 1, Timestamp()); }, "Latin-1 name");
  expect_invalid([&] { cp.persist("bad bookmark", 1, Timestamp(), "\xC3"); }, "bookmark");
  expect_invalid([&] { cp.remove(""); }, "remove empty name");
  expect_invalid([&] { cp.remove("\xED\xA0\x80"); }, "remove surrogate");
  EXPECT_THAT(cp.states(), IsEmpty());
  EXPECT_EQ(cp.stats().pending, 0u);
}

// persist() checks a known name only once, when it is added; the bookmark
// is checked on every call.
TEST_F(CheckpointTest, AKnownNameWithAnInvalidBookmarkKeepsItsState) {
  Checkpoint cp(store(), quiet());
  cp.persist_state(state("a", 1, "ok"));
  cp.flush();
  EXPECT_THROW(cp.persist("a", 2, Timestamp(), "\xFF"), Error);
  EXPECT_THROW(cp.persist("b", 2, Timestamp(), "\xFF"), Error);
  EXPECT_EQ(values(cp.state("a")), state("a", 1, "ok"));
  EXPECT_EQ(cp.state("b"), std::nullopt);
  EXPECT_EQ(cp.stats().pending, 0u);
}

// --- shutdown ---

TEST_F(CheckpointTest, ShutdownCommitsPendingAndIsIdempotent) {
  Checkpoint cp(store(), quiet());
  cp.persist_state(state("a", 1));
  cp.persist_state(state("b", 2));
  cp.shutdown();
  ASSERT_EQ(journal_->commit_count(), 2u);
  EXPECT_EQ(values(journal_->commit(1).states), map_of({state("a", 1), state("b", 2)}));

  cp.shutdown();
  EXPECT_EQ(journal_->commit_count(), 2u);

  for (auto [call, fn] : std::vector<std::pair<const char*, std::function<void()>>>{
           {"persist", [&] { cp.persist("c", 1, Timestamp()); }},
           {"persist_state", [&] { cp.persist_state(state("c", 1)); }},
           {"remove", [&] { cp.remove("a"); }},
           {"flush", [&] { cp.flush(); }}}) {
    try {
      fn();
      ADD_FAILURE() << call << " after shutdown() did not throw";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::closed) << call;
    }
  }
  // Reading still works.
  EXPECT_EQ(values(cp.states()), map_of({state("a", 1), state("b", 2)}));
  EXPECT_EQ(cp.stats().commits, 2u);
  EXPECT_EQ(journal_->commit_count(), 2u);
}

TEST_F(CheckpointTest, DestructorCommitsPending) {
  {
    Checkpoint cp(store(), quiet());
    cp.persist_state(state("a", 1));
  }
  ASSERT_EQ(journal_->commit_count(), 2u);
  EXPECT_EQ(values(journal_->commit(1).states), map_of({state("a", 1)}));
}

TEST_F(CheckpointTest, FailedFinalCommitIsThrownOnceOrReportedByTheDestructor) {
  {
    Checkpoint cp(store(), quiet());
    cp.persist_state(state("a", 1));
    journal_->with_lock([&] { journal_->fail_next = 1; });
    try {
      cp.shutdown();
      ADD_FAILURE() << "the failed final commit was not thrown";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::io);
    }
    cp.shutdown();  // already shut down: nothing to throw
    EXPECT_EQ(cp.stats().failed_commits, 1u);
  }

  ErrorLog errors;
  {
    Options options = quiet();
    options.on_error = errors.callback();
    Checkpoint cp(store(), options);
    cp.persist_state(state("b", 1));
    journal_->with_lock([&] { journal_->fail_next = 1; });
  }  // must neither throw nor crash
  EXPECT_EQ(errors.count(), 1u);
}

// --- failure and retry ---

TEST_F(CheckpointTest, FailedCommitsKeepTheirChangesAndFlushRethrows) {
  journal_->stored.states = {state("x", 1)};
  ErrorLog errors;
  Options options = quiet();
  options.on_error = errors.callback();
  Checkpoint cp(store(), options);

  journal_->with_lock([&] { journal_->fail_next = 2; });
  cp.persist_state(state("a", 1));
  cp.persist_state(state("b", 1));
  for (int i = 0; i < 2; ++i) {
    try {
      cp.flush();
      ADD_FAILURE() << "flush over a failing store did not throw";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::io);
      EXPECT_STREQ(e.what(), "test store: disk full");
    }
    Stats stats = cp.stats();
    EXPECT_EQ(stats.failed_commits, i + 1u);
    EXPECT_EQ(stats.last_error, "test store: disk full");
    EXPECT_EQ(stats.pending, 2u);
  }
  EXPECT_EQ(errors.count(), 0u);  // flush() throws; on_error is for the worker

  cp.remove("x");
  cp.persist_state(state("b", 2));
  EXPECT_EQ(cp.stats().pending, 3u);
  cp.flush();  // healed
  ASSERT_EQ(journal_->commit_count(), 2u);
  Recorded c = journal_->commit(1);
  EXPECT_THAT(c.upserted, ElementsAre("a", "b"));
  EXPECT_THAT(c.removed, ElementsAre("x"));
  EXPECT_EQ(values(c.states), map_of({state("a", 1), state("b", 2)}));
  Stats stats = cp.stats();
  EXPECT_EQ(stats.commits, 2u);
  EXPECT_EQ(stats.failed_commits, 2u);
  EXPECT_EQ(stats.last_error, "");
  EXPECT_EQ(stats.pending, 0u);
}

TEST_F(CheckpointTest, BackgroundFailureIsReportedAndKept) {
  ErrorLog errors;
  Options options = quiet(2);
  options.on_error = errors.callback();
  Checkpoint cp(store(), options);
  journal_->with_lock([&] { journal_->fail_next = 1; });
  cp.persist_state(state("a", 1));
  cp.persist_state(state("b", 1));
  ASSERT_TRUE(errors.wait_for(1));
  EXPECT_EQ(cp.stats().failed_commits, 1u);
  EXPECT_EQ(cp.stats().pending, 2u);
  cp.flush();
  EXPECT_THAT(journal_->commit(1).upserted, ElementsAre("a", "b"));
}

TEST_F(CheckpointTest, StoreExceptionsOfOtherTypesBecomeIoErrors) {
  Checkpoint cp(store(), quiet());
  for (Failure failure : {Failure::std_exception, Failure::bad_alloc, Failure::other}) {
    journal_->with_lock([&] {
      journal_->fail_next = 1;
      journal_->failure = failure;
    });
    cp.persist_state(state("a", 1));
    try {
      cp.flush();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::io);
      EXPECT_THAT(e.what(), HasSubstr("Checkpoint"));
    }
  }
  EXPECT_THAT(cp.stats().last_error, HasSubstr("unknown exception"));
  cp.flush();
  EXPECT_EQ(cp.stats().last_error, "");
}

TEST_F(CheckpointTest, ThrowingErrorCallbackDoesNotStopTheWorker) {
  ErrorLog errors;
  Options options = quiet(1);
  options.on_error = [&](const Error& e) {
    errors.callback()(e);
    throw std::runtime_error("callback went wrong");
  };
  Checkpoint cp(store(), options);
  journal_->with_lock([&] { journal_->fail_next = 1; });
  cp.persist_state(state("a", 1));
  ASSERT_TRUE(errors.wait_for(1));
  cp.persist_state(state("b", 1));  // the worker still commits
  ASSERT_TRUE(journal_->wait([&] { return journal_->commits.size() >= 2; }));
  EXPECT_THAT(journal_->commit(1).upserted, ElementsAre("a", "b"));
}

// --- concurrency ---

TEST_F(CheckpointTest, ConcurrentPersistKeepsEveryThreadsLastValue) {
  constexpr int kThreads = 4, kNames = 10, kRounds = 500;
  // Loaded first: states() then copies them in the store's order while
  // they change, are removed, and their slots reused.
  std::vector<std::string> loaded;
  for (int t = 0; t < kThreads; ++t) {
    loaded.push_back("thread-" + std::to_string(t) + "/gone");
    for (int n = 0; n < kNames; ++n) {
      loaded.push_back("thread-" + std::to_string(t) + "/stream-" + std::to_string(n));
    }
  }
  std::sort(loaded.begin(), loaded.end());
  for (const auto& name : loaded) journal_->stored.states.push_back(state(name, 0));
  Checkpoint cp(store(), quiet(7));  // commits run while threads persist
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&cp, t] {
      for (int round = 1; round <= kRounds; ++round) {
        for (int n = 0; n < kNames; ++n) {
          cp.persist("thread-" + std::to_string(t) + "/stream-" + std::to_string(n),
                     static_cast<std::uint64_t>(round), Timestamp());
        }
        if (round % 100 == 0) cp.remove("thread-" + std::to_string(t) + "/gone");
        if (round % 100 == 50) cp.persist("thread-" + std::to_string(t) + "/gone", 1, Timestamp());
      }
    });
  }
  std::thread reader([&] {
    for (int i = 0; i < 200; ++i) {
      (void)cp.states();
      (void)cp.stats();
      (void)cp.state("thread-0/stream-0");
    }
  });
  for (auto& thread : threads) thread.join();
  reader.join();

  // After the flush: it stamps the states it commits with its update time,
  // in the store and in the front end alike.
  cp.flush();
  StateMap states = cp.states();
  ASSERT_EQ(states.size(), static_cast<std::size_t>(kThreads * kNames));
  for (const auto& [name, s] : states) EXPECT_EQ(s.record_number, kRounds) << name;
  EXPECT_EQ(journal_->with_lock([&] { return journal_->commits.back().states; }), states);
  EXPECT_GT(journal_->commit_count(), 2u);  // the worker committed along the way
  EXPECT_EQ(cp.stats().pending, 0u);
}

// The latch test: while the store is stuck inside a background
// commit, persist(), states() and stats() from other threads still return.
TEST_F(CheckpointTest, CallersDoNotWaitForABlockedCommit) {
  Checkpoint cp(store(), quiet(2));
  journal_->set_hold(true);
  cp.persist_state(state("a", 1));
  cp.persist_state(state("b", 1));
  ASSERT_TRUE(journal_->wait([&] { return journal_->inside == 1; }));

  auto callers = std::async(std::launch::async, [&] {
    cp.persist_state(state("c", 1));
    cp.remove("a");
    StateMap states = cp.states();
    Stats stats = cp.stats();
    return std::make_pair(states, stats);
  });
  bool returned = callers.wait_for(kPatience) == std::future_status::ready;
  journal_->set_hold(false);  // let a broken implementation finish, too
  ASSERT_TRUE(returned) << "persist(), states() or stats() waited for the store";
  auto [states, stats] = callers.get();
  EXPECT_EQ(values(states), map_of({state("b", 1), state("c", 1)}));
  EXPECT_EQ(stats.commits, 1u);  // the blocked one has not finished
  EXPECT_EQ(stats.pending, 3u);  // a and b in flight, c new, a removed again
  EXPECT_EQ(stats.states, 2u);

  cp.flush();
  EXPECT_THAT(journal_->commit(1).upserted, ElementsAre("a", "b"));
  Recorded last = journal_->commit(journal_->commit_count() - 1);
  EXPECT_EQ(values(last.states), map_of({state("b", 1), state("c", 1)}));
}

TEST_F(CheckpointTest, SecondShutdownWaitsForTheFirst) {
  Checkpoint cp(store(), quiet());
  cp.persist_state(state("a", 1));
  journal_->set_hold(true);
  std::thread first([&] { cp.shutdown(); });
  ASSERT_TRUE(journal_->wait([&] { return journal_->inside == 1; }));
  // The second caller must not return before the final commit is done.
  auto second = std::async(std::launch::async, [&] {
    cp.shutdown();
    return journal_->commit_count();
  });
  journal_->set_hold(false);
  EXPECT_EQ(second.get(), 2u);
  first.join();
}

}  // namespace
}  // namespace checkpoint

namespace checkpoint {
namespace {

// --- nothing to commit ------------------------------------------------------

// With nothing changed since the last successful commit, neither an interval,
// nor flush(), nor shutdown() calls the store: the update time it holds stays
// that of the last real commit.
TEST_F(CheckpointTest, IdleIntervalsFlushAndShutdownCommitNothing) {
  auto clock = std::make_shared<ManualClock>();
  Options options = quiet();
  options.flush_interval = 1s;
  options.clock = clock;
  Checkpoint cp(store(), options);
  cp.persist_state(state("a", 1));
  cp.flush();
  ASSERT_EQ(journal_->commit_count(), 2u);
  const Timestamp last = journal_->commit(1).update_time;
  for (int i = 0; i < 5; ++i) clock->advance(1h);
  cp.flush();
  cp.shutdown();
  EXPECT_EQ(journal_->commit_count(), 2u) << "a commit of nothing";
  EXPECT_EQ(journal_->with_lock([&] { return journal_->stored.update_time; }), last);
  EXPECT_EQ(cp.stats().commits, 2u);
}

// --- re-entrant and racing calls --------------------------------------------

// Options whose on_error (set by each test) runs on the worker thread when
// the first commit after construction fails: every update is committed at
// once (max_updates 1), and fail_next_commit() makes the next one fail.
struct FailingInBackground {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  Options options;
  Journal& journal;
  explicit FailingInBackground(Journal& j) : journal(j) {
    options.max_updates = 1;
    options.flush_interval = kNever;
    options.clock = clock;
  }
  void fail_next_commit() {
    journal.with_lock([&] { journal.fail_next = 1; });
  }
};

TEST_F(CheckpointTest, OnErrorMayCallShutdownWhileAnotherThreadShutsDown) {
  FailingInBackground setup(*journal_);
  Checkpoint* self = nullptr;
  std::promise<void> in_handler;
  setup.options.on_error = [&](const Error&) {
    in_handler.set_value();
    // Until the other thread is inside shutdown(), which refuses changes
    // from its start and then waits for this thread.
    for (;;) {
      try {
        self->persist_state(state("probe", 1));
      } catch (const Error& e) {
        if (e.code() == ErrorCode::closed) break;
        throw;
      }
      std::this_thread::yield();
    }
    self->shutdown();
  };
  auto cp = std::make_unique<Checkpoint>(store(), setup.options);
  self = cp.get();
  setup.fail_next_commit();
  cp->persist_state(state("a", 1));  // fails in the background
  in_handler.get_future().wait();
  auto other = std::async(std::launch::async, [&] {
    cp->persist_state(state("b", 2));
    cp->shutdown();
  });
  ASSERT_EQ(other.wait_for(kPatience), std::future_status::ready) << "deadlock";
  other.get();
  // The final commit (made by whichever came first) holds everything.
  auto stored = journal_->with_lock([&] { return journal_->stored.states; });
  std::set<std::string> names;
  for (const auto& s : stored) names.insert(s.name);
  EXPECT_TRUE(names.contains("a") && names.contains("b")) << stored.size();
  cp.reset();
}

TEST_F(CheckpointTest, OnErrorMayDestroyTheCheckpoint) {
  FailingInBackground setup(*journal_);
  std::unique_ptr<Checkpoint> cp;
  std::promise<void> destroyed;
  setup.options.on_error = [&](const Error&) {
    cp.reset();  // the destructor runs on the worker thread
    destroyed.set_value();
  };
  cp = std::make_unique<Checkpoint>(store(), setup.options);
  setup.fail_next_commit();
  cp->persist_state(state("a", 1));
  ASSERT_EQ(destroyed.get_future().wait_for(kPatience), std::future_status::ready);
  // Its final commit wrote what the failed one had.
  ASSERT_TRUE(journal_->wait([&] { return journal_->stored.states.size() == 1u; }));
  EXPECT_EQ(values(journal_->with_lock([&] { return journal_->stored.states[0]; })), state("a", 1));
}

TEST_F(CheckpointTest, OnErrorMayPersistRemoveAndFlush) {
  FailingInBackground setup(*journal_);
  Checkpoint* self = nullptr;
  std::promise<void> handled;
  setup.options.on_error = [&](const Error&) {
    self->persist_state(state("from-handler", 7));
    self->remove("a");
    self->flush();  // the store works again
    handled.set_value();
  };
  Checkpoint cp(store(), setup.options);
  self = &cp;
  setup.fail_next_commit();
  cp.persist_state(state("a", 1));
  ASSERT_EQ(handled.get_future().wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(values(journal_->with_lock([&] { return journal_->stored.states; })),
            (std::vector{state("from-handler", 7)}));
  cp.shutdown();
}

// flush() racing shutdown(): it commits before shutdown() returns, or it is
// refused; it never commits after.
TEST_F(CheckpointTest, FlushRacingShutdownNeverCommitsAfterIt) {
  // The flush gets in first and is held inside the store.
  {
    Checkpoint cp(store(), quiet());
    cp.persist_state(state("a", 1));
    journal_->set_hold(true);
    auto flushing = std::async(std::launch::async, [&] { cp.flush(); });
    ASSERT_TRUE(journal_->wait([&] { return journal_->inside == 1; }));
    cp.persist_state(state("b", 2));
    auto shutting = std::async(std::launch::async, [&] { cp.shutdown(); });
    EXPECT_EQ(shutting.wait_for(50ms), std::future_status::timeout)
        << "shutdown() returned while a flush was still committing";
    journal_->set_hold(false);
    flushing.get();
    shutting.get();
    const std::size_t at_return = journal_->commit_count();
    EXPECT_EQ(at_return, 3u);  // construction, the flush, the final commit (b)
    EXPECT_THROW(cp.flush(), Error);
    EXPECT_EQ(journal_->commit_count(), at_return);
  }
  // The shutdown gets in first: a flush that comes while its final commit
  // is held is refused once it is over.
  journal_ = std::make_shared<Journal>();
  {
    Checkpoint cp(store(), quiet());
    cp.persist_state(state("a", 1));
    journal_->set_hold(true);
    auto shutting = std::async(std::launch::async, [&] { cp.shutdown(); });
    ASSERT_TRUE(journal_->wait([&] { return journal_->inside == 1; }));
    auto flushing = std::async(std::launch::async, [&] {
      try {
        cp.flush();
        return false;
      } catch (const Error& e) {
        return e.code() == ErrorCode::closed;
      }
    });
    journal_->set_hold(false);
    shutting.get();
    EXPECT_TRUE(flushing.get()) << "a flush after shutdown() began was not refused";
    EXPECT_EQ(journal_->commit_count(), 2u);
  }
}

// persist() racing shutdown(): each change is in the final commit, or its
// persist() threw Error{closed}.
TEST_F(CheckpointTest, PersistRacingShutdownIsCommittedOrRefused) {
  Checkpoint cp(store(), quiet());
  std::atomic<bool> stop{false};
  std::vector<std::string> accepted;
  auto writer = std::async(std::launch::async, [&] {
    for (int i = 0; !stop; ++i) {
      std::string name = "n" + std::to_string(i);
      try {
        cp.persist_state(state(name, 1));
        accepted.push_back(name);
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::closed);
        return;
      }
    }
  });
  cp.shutdown();
  stop = true;
  writer.get();
  auto stored = journal_->with_lock([&] { return journal_->stored.states; });
  std::set<std::string> names;
  for (const auto& s : stored) names.insert(s.name);
  for (const auto& name : accepted) EXPECT_TRUE(names.contains(name)) << name << " was lost";
}

}  // namespace
}  // namespace checkpoint
