// Delivery acknowledgements: Checkpoint::track() and Checkpoint::ack().
//
// The model of every test: a stream's position is the newest record with
// every earlier tracked record acknowledged, and nothing else. The front
// end runs on memory: stores; what a commit made durable is read back
// through a reader of the same store. Nothing waits for real time: the
// interval timer runs on a ManualClock, and the one deadline (kPatience)
// bounds a broken implementation only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/clock.hpp"
#include "checkpoint/registry.hpp"
#include "tests/state_values.hpp"

namespace checkpoint {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto kPatience = 30s;  // only a failing test ever waits this long

// No commit but those a test asks for: flush(), shutdown(); the interval
// timer on a clock nobody moves.
Options quiet() {
  Options options;
  options.max_updates = 1'000'000'000;
  options.flush_interval = std::chrono::hours(24);
  options.clock = std::make_shared<ManualClock>();
  return options;
}

Timestamp time_of(std::uint64_t record) {
  return Timestamp::from_unix(1'700'000'000 + static_cast<std::int64_t>(record),
                              static_cast<std::uint32_t>(record % 1000));
}
std::string bookmark_of(const std::string& stream, std::uint64_t record) {
  return "<Bookmark Channel='" + stream + "' RecordId='" + std::to_string(record) + "'/>";
}
// The state a record makes, whole.
EventLogState state_of(const std::string& stream, std::uint64_t record) {
  return {stream, record, time_of(record), bookmark_of(stream, record)};
}
Ticket track(Checkpoint& cp, const std::string& stream, std::uint64_t record) {
  return cp.track(stream, record, time_of(record), bookmark_of(stream, record));
}

// What the store's last commit holds, read as another program would
// (without the update times, which the test does not know).
StateMap committed(const std::string& uri) {
  StateMap out;
  for (auto& state : testing::values(Store::open(uri, {.mode = OpenMode::read})->load().states)) {
    std::string name = state.name;
    out.emplace(std::move(name), std::move(state));
  }
  return out;
}

std::string unique_uri(const std::string& test) {
  static std::atomic<int> counter{0};
  return "memory:acks-test-" + test + "-" + std::to_string(counter.fetch_add(1));
}

// The error a call throws, or nullopt.
template <typename Fn>
std::optional<Error> error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// The model of one stream: tickets in read order (record k at index k-1),
// which of them were acknowledged, and the position that follows.
struct ModelStream {
  std::string name;
  std::vector<Ticket> tickets;
  std::vector<bool> acked;
  std::uint64_t position = 0;  // 0: none yet

  std::uint64_t next_record() const { return tickets.size() + 1; }
  void ack(std::uint64_t record) {
    acked[record - 1] = true;
    while (position < acked.size() && acked[position]) ++position;
  }
};

TEST(Acks, InOrderAcknowledgementsMoveThePositionAsPersistWould) {
  const std::string uri = unique_uri("in-order");
  Checkpoint cp(uri, quiet());
  const Ticket first = track(cp, "app", 1);
  const Ticket second = track(cp, "app", 2);
  EXPECT_FALSE(first.empty());
  EXPECT_NE(first, second);
  EXPECT_EQ(cp.state("app"), std::nullopt) << "a record in flight is not a position";
  cp.ack(first);
  EXPECT_EQ(cp.state("app"), state_of("app", 1));
  cp.ack(second);
  EXPECT_EQ(cp.state("app"), state_of("app", 2));
  cp.flush();
  EXPECT_EQ(committed(uri).at("app"), state_of("app", 2));
  EXPECT_EQ(cp.stats().commits, 2u) << "the constructor's commit and the flush";
}

TEST(Acks, ARecordNotAcknowledgedHoldsBackEveryLaterOne) {
  const std::string uri = unique_uri("held-back");
  Checkpoint cp(uri, quiet());
  std::vector<Ticket> tickets;
  for (std::uint64_t record = 1; record <= 5; ++record) {
    tickets.push_back(track(cp, "app", record));
  }
  cp.ack(tickets[1]);
  cp.ack(tickets[4]);
  cp.ack(tickets[3]);
  cp.flush();
  EXPECT_EQ(cp.state("app"), std::nullopt);
  EXPECT_EQ(committed(uri).count("app"), 0u);
  EXPECT_EQ(cp.stats().in_flight, 2u);
  EXPECT_EQ(cp.stats().acked_waiting, 3u);

  cp.ack(tickets[0]);  // releases 1 and 2; 3 holds back 4 and 5
  EXPECT_EQ(cp.state("app"), state_of("app", 2));
  EXPECT_EQ(cp.stats().in_flight, 1u);
  EXPECT_EQ(cp.stats().acked_waiting, 2u);
  cp.flush();
  EXPECT_EQ(committed(uri).at("app"), state_of("app", 2));

  cp.ack(tickets[2]);
  EXPECT_EQ(testing::values(cp.state("app")), state_of("app", 5));
  EXPECT_EQ(cp.stats().in_flight, 0u);
  EXPECT_EQ(cp.stats().acked_waiting, 0u);
  cp.flush();
  EXPECT_EQ(committed(uri).at("app"), state_of("app", 5));
}

TEST(Acks, StreamsAreIndependentAndResumeFromTheirLoadedState) {
  const std::string uri = unique_uri("resume");
  {
    Checkpoint cp(uri, quiet());
    cp.persist_state(state_of("b", 40));
  }
  Checkpoint cp(uri, quiet());
  const Ticket a1 = track(cp, "a", 1);
  const Ticket b41 = track(cp, "b", 41);
  const Ticket b42 = track(cp, "b", 42);
  cp.ack(b42);
  EXPECT_EQ(testing::values(cp.state("b")), state_of("b", 40))
      << "41 is in flight: the loaded state stays";
  cp.ack(b41);
  EXPECT_EQ(testing::values(cp.state("b")), state_of("b", 42));
  EXPECT_EQ(cp.state("a"), std::nullopt);
  cp.ack(a1);
  EXPECT_EQ(cp.state("a"), state_of("a", 1));
}

// Random tracks and acks on one thread, each checked at once against the
// model: after every call the live state, and after every flush the
// committed one, are the model's positions exactly.
TEST(Acks, RandomTracksAndAcksMatchTheModel) {
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::string uri = unique_uri("model");
  Checkpoint cp(uri, quiet());
  std::vector<ModelStream> streams(5);
  for (std::size_t i = 0; i < streams.size(); ++i) streams[i].name = "stream-" + std::to_string(i);
  struct Outstanding {
    std::size_t stream;
    std::uint64_t record;
  };
  std::vector<Outstanding> outstanding;
  for (int step = 0; step < 20'000; ++step) {
    const auto roll = rng() % 100;
    if (roll < 50 || outstanding.empty()) {
      ModelStream& s = streams[rng() % streams.size()];
      const std::uint64_t record = s.next_record();
      s.tickets.push_back(track(cp, s.name, record));
      s.acked.push_back(false);
      outstanding.push_back({static_cast<std::size_t>(&s - streams.data()), record});
    } else if (roll < 98) {
      const std::size_t pick = rng() % outstanding.size();
      const Outstanding o = outstanding[pick];
      outstanding[pick] = outstanding.back();
      outstanding.pop_back();
      ModelStream& s = streams[o.stream];
      cp.ack(s.tickets[o.record - 1]);
      s.ack(o.record);
      const auto got = cp.state(s.name);
      if (s.position == 0) {
        ASSERT_EQ(got, std::nullopt) << s.name;
      } else {
        ASSERT_EQ(testing::values(got), state_of(s.name, s.position)) << s.name;
      }
    } else {
      cp.flush();
      const StateMap stored = committed(uri);
      for (const ModelStream& s : streams) {
        if (s.position == 0) {
          ASSERT_EQ(stored.count(s.name), 0u) << s.name;
        } else {
          ASSERT_EQ(stored.at(s.name), state_of(s.name, s.position)) << s.name;
        }
      }
    }
    ASSERT_EQ(cp.stats().in_flight, outstanding.size());
  }
}

// Several threads acknowledge at random, in random order, while a reader
// tracks new records and a checker flushes: whatever the interleaving, the
// live and the committed position of a stream is never a record that was
// not acknowledged, nor one after such a record, and it never moves back.
// Each ack is marked in `acked` before ack() is called, so a position
// whose records are all marked is one the model allows. Once everything
// is acknowledged, every stream is at its last record.
TEST(Acks, ConcurrentRandomAcksNeverPassAnUnacknowledgedRecord) {
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  constexpr int kStreams = 4;
  constexpr std::uint64_t kRecords = 3000;  // per stream
  constexpr int kAckers = 3;
  const std::string uri = unique_uri("threads");
  Options options = quiet();
  options.max_updates = 64;  // background commits, too, as persist() makes them
  Checkpoint cp(uri, options);

  std::vector<std::string> names;
  for (int i = 0; i < kStreams; ++i) names.push_back("stream-" + std::to_string(i));
  // acked[stream][record]: ack() was called (or is about to be) for it.
  std::vector<std::unique_ptr<std::atomic<bool>[]>> acked;
  for (int i = 0; i < kStreams; ++i) {
    acked.push_back(std::make_unique<std::atomic<bool>[]>(kRecords + 1));
  }
  auto allowed = [&](int stream, const EventLogState& state) -> ::testing::AssertionResult {
    if (testing::values(state) !=
        state_of(names[static_cast<std::size_t>(stream)], state.record_number)) {
      return ::testing::AssertionFailure() << "torn state of record " << state.record_number;
    }
    for (std::uint64_t r = 1; r <= state.record_number; ++r) {
      if (!acked[static_cast<std::size_t>(stream)][r].load()) {
        return ::testing::AssertionFailure()
               << names[static_cast<std::size_t>(stream)] << " is at " << state.record_number
               << " but record " << r << " was never acknowledged";
      }
    }
    return ::testing::AssertionSuccess();
  };

  struct Pending {
    int stream;
    std::uint64_t record;
    Ticket ticket;
  };
  std::mutex bag_mutex;
  std::condition_variable bag_changed;
  std::vector<Pending> bag;
  bool reading_done = false;

  std::thread reader([&] {
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> next(kStreams, 1);
    int streams_left = kStreams;
    while (streams_left > 0) {
      const int stream = static_cast<int>(rng() % kStreams);
      if (next[static_cast<std::size_t>(stream)] > kRecords) continue;
      const std::uint64_t record = next[static_cast<std::size_t>(stream)]++;
      if (record == kRecords) --streams_left;
      Ticket ticket = track(cp, names[static_cast<std::size_t>(stream)], record);
      {
        std::lock_guard lock(bag_mutex);
        bag.push_back({stream, record, ticket});
      }
      bag_changed.notify_one();
    }
    {
      std::lock_guard lock(bag_mutex);
      reading_done = true;
    }
    bag_changed.notify_all();
  });

  std::atomic<int> failures{0};
  std::vector<std::thread> ackers;
  for (int a = 0; a < kAckers; ++a) {
    ackers.emplace_back([&, a] {
      std::mt19937_64 rng(seed + 1 + static_cast<std::uint64_t>(a));
      for (;;) {
        Pending p;
        {
          std::unique_lock lock(bag_mutex);
          bag_changed.wait(lock, [&] { return !bag.empty() || reading_done; });
          if (bag.empty()) return;
          // A random one: acknowledgements come in any order.
          const std::size_t pick = rng() % bag.size();
          p = bag[pick];
          bag[pick] = bag.back();
          bag.pop_back();
        }
        acked[static_cast<std::size_t>(p.stream)][p.record].store(true);
        try {
          cp.ack(p.ticket);
        } catch (const Error& e) {
          ADD_FAILURE() << "ack() of record " << p.record << " threw: " << e.what();
          failures++;
        }
      }
    });
  }

  // The checker: flushes and looks at the live and the committed states
  // until the others are done.
  std::atomic<bool> done{false};
  std::thread checker([&] {
    std::vector<std::uint64_t> seen(kStreams, 0);
    while (!done.load()) {
      cp.flush();
      const StateMap stored = committed(uri);
      for (int stream = 0; stream < kStreams; ++stream) {
        const std::string& name = names[static_cast<std::size_t>(stream)];
        if (auto it = stored.find(name); it != stored.end()) {
          EXPECT_TRUE(allowed(stream, it->second)) << "committed";
        }
        if (auto live = cp.state(name)) {
          EXPECT_TRUE(allowed(stream, *live)) << "live";
          EXPECT_GE(live->record_number, seen[static_cast<std::size_t>(stream)])
              << name << " moved back";
          seen[static_cast<std::size_t>(stream)] = live->record_number;
        }
      }
    }
  });

  reader.join();
  for (auto& acker : ackers) acker.join();
  done.store(true);
  checker.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(cp.stats().in_flight, 0u);
  EXPECT_EQ(cp.stats().acked_waiting, 0u);
  cp.flush();
  const StateMap stored = committed(uri);
  for (const std::string& name : names) {
    EXPECT_EQ(testing::values(cp.state(name)), state_of(name, kRecords));
    EXPECT_EQ(stored.at(name), state_of(name, kRecords));
  }
}

TEST(Acks, AcknowledgementsCountTowardsMaxUpdatesAndTheInterval) {
  // A store that tells the test about each commit.
  struct Commits {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<StateMap> made;
  };
  class TellingStore final : public Store {
   public:
    TellingStore(std::unique_ptr<Store> inner, std::shared_ptr<Commits> commits)
        : inner_(std::move(inner)), commits_(std::move(commits)) {}
    Timestamp scan(const StateSink& sink) override { return inner_->scan(sink); }
    void commit(const Changes& changes) override {
      inner_->commit(changes);
      StateMap upserted;
      for (const auto& state : changes.upserted) upserted.emplace(state.name, state);
      upserted = testing::values(std::move(upserted));
      {
        std::lock_guard lock(commits_->mutex);
        commits_->made.push_back(std::move(upserted));
      }
      commits_->changed.notify_all();
    }

   private:
    std::unique_ptr<Store> inner_;
    std::shared_ptr<Commits> commits_;
  };
  auto commits = std::make_shared<Commits>();
  auto wait_for = [&](std::size_t count) {
    std::unique_lock lock(commits->mutex);
    return commits->changed.wait_for(lock, kPatience,
                                     [&] { return commits->made.size() >= count; });
  };
  auto clock = std::make_shared<ManualClock>();
  Options options;
  options.max_updates = 3;
  options.flush_interval = 10s;
  options.clock = clock;
  Checkpoint cp(std::make_unique<TellingStore>(Store::open(unique_uri("batching")), commits),
                options);
  ASSERT_TRUE(wait_for(1));  // the constructor's

  // Three releases are three updates: a commit, as after three persist().
  std::vector<Ticket> tickets;
  for (std::uint64_t record = 1; record <= 4; ++record) tickets.push_back(track(cp, "app", record));
  for (int i = 0; i < 3; ++i) cp.ack(tickets[static_cast<std::size_t>(i)]);
  ASSERT_TRUE(wait_for(2)) << "no commit after max_updates releases";
  {
    std::lock_guard lock(commits->mutex);
    EXPECT_EQ(commits->made[1].at("app"), state_of("app", 3));
  }
  // Tracking alone changes no state: nothing to commit.
  for (std::uint64_t record = 5; record <= 9; ++record) track(cp, "app", record);
  cp.flush();
  EXPECT_EQ(cp.stats().commits, 2u);
  // One release, then the interval: committed by the timer. (The worker
  // waits on the clock only while a change is due.)
  const std::uint64_t waits = clock->waits();
  cp.ack(tickets[3]);
  ASSERT_TRUE(clock->await_waits(waits + 1, kPatience));  // the worker saw the deadline
  clock->advance(10s);
  ASSERT_TRUE(wait_for(3)) << "no commit flush_interval after a release";
  std::lock_guard lock(commits->mutex);
  EXPECT_EQ(commits->made[2].at("app"), state_of("app", 4));
}

TEST(Acks, RefusedTicketsNameTheArgumentAndChangeNothing) {
  Checkpoint cp(unique_uri("refused"), quiet());
  Checkpoint other(unique_uri("refused-other"), quiet());
  const Ticket t1 = track(cp, "app", 1);
  const Ticket t2 = track(cp, "app", 2);
  const Ticket theirs = track(other, "app", 1);

  auto empty = error_of([&] { cp.ack(Ticket{}); });
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(empty->what(), HasSubstr("ack(): ticket is empty"));

  auto foreign = error_of([&] { cp.ack(theirs); });
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(foreign->what(), HasSubstr("ticket was returned by another Checkpoint"));

  cp.ack(t2);  // held back by 1
  auto twice_held = error_of([&] { cp.ack(t2); });
  ASSERT_TRUE(twice_held);
  EXPECT_EQ(twice_held->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(twice_held->what(),
              HasSubstr("ticket was acknowledged already (record 2 of \"app\")"));
  cp.ack(t1);  // releases 1 and 2
  auto twice_released = error_of([&] { cp.ack(t1); });
  ASSERT_TRUE(twice_released);
  EXPECT_EQ(twice_released->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(twice_released->what(), HasSubstr("ticket was acknowledged already"));
  EXPECT_EQ(cp.state("app"), state_of("app", 2));
  EXPECT_EQ(cp.stats().in_flight, 0u);
  EXPECT_EQ(cp.stats().acked_waiting, 0u);

  // The other Checkpoint's ticket is still good there.
  other.ack(theirs);
  EXPECT_EQ(other.state("app"), state_of("app", 1));
}

TEST(Acks, TrackChecksItsArgumentsAsPersistDoes) {
  Checkpoint cp(unique_uri("arguments"), quiet());
  auto empty_name = error_of([&] { cp.track("", 1, time_of(1)); });
  ASSERT_TRUE(empty_name);
  EXPECT_EQ(empty_name->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(empty_name->what(), HasSubstr("name is empty"));
  auto bad_name = error_of([&] { cp.track("a\xff", 1, time_of(1)); });
  ASSERT_TRUE(bad_name);
  EXPECT_EQ(bad_name->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(bad_name->what(), HasSubstr("name is not valid UTF-8"));
  track(cp, "app", 1);
  auto bad_bookmark = error_of([&] { cp.track("app", 2, time_of(2), "\xc0\x80"); });
  ASSERT_TRUE(bad_bookmark);
  EXPECT_EQ(bad_bookmark->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(bad_bookmark->what(), HasSubstr("bookmark of \"app\" is not valid UTF-8"));
  EXPECT_EQ(cp.stats().in_flight, 1u) << "a refused track() tracks nothing";
  EXPECT_EQ(cp.stats().states, 0u);
}

TEST(Acks, PersistIsRefusedWhileRecordsAreInFlight) {
  const std::string uri = unique_uri("mixing");
  Checkpoint cp(uri, quiet());
  const Ticket t1 = track(cp, "app", 1);
  const Ticket t2 = track(cp, "app", 2);
  cp.ack(t1);
  auto refused = error_of([&] { cp.persist_state(state_of("app", 100)); });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(refused->what(),
              HasSubstr("persist(): name \"app\" has 1 records in flight (track()ed, not all "
                        "ack()ed)"));
  EXPECT_EQ(cp.state("app"), state_of("app", 1)) << "a refused persist() changes nothing";
  // Other streams are not concerned.
  cp.persist_state(state_of("other", 7));
  EXPECT_EQ(cp.state("other"), state_of("other", 7));
  // Nothing in flight: persist() sets the stream (skipping ahead), and
  // tracking goes on from there.
  cp.ack(t2);
  cp.persist_state(state_of("app", 100));
  EXPECT_EQ(cp.state("app"), state_of("app", 100));
  const Ticket t101 = track(cp, "app", 101);
  cp.ack(t101);
  EXPECT_EQ(cp.state("app"), state_of("app", 101));
  cp.flush();
  EXPECT_EQ(committed(uri).at("app"), state_of("app", 101));
}

TEST(Acks, RemoveDropsTheStreamsTicketsAndTrackingStartsAfresh) {
  const std::string uri = unique_uri("remove");
  Checkpoint cp(uri, quiet());
  const Ticket t1 = track(cp, "app", 1);
  const Ticket t2 = track(cp, "app", 2);
  const Ticket t3 = track(cp, "app", 3);
  const Ticket other = track(cp, "other", 1);
  cp.ack(t1);
  cp.ack(t3);
  EXPECT_EQ(cp.stats().in_flight, 2u);
  EXPECT_EQ(cp.stats().acked_waiting, 1u);
  cp.remove("app");
  EXPECT_EQ(cp.state("app"), std::nullopt);
  EXPECT_EQ(cp.stats().in_flight, 1u) << "other's record";
  EXPECT_EQ(cp.stats().acked_waiting, 0u);
  auto dropped = error_of([&] { cp.ack(t2); });
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->code(), ErrorCode::invalid_argument);
  EXPECT_THAT(dropped->what(), HasSubstr("ticket's stream was removed by remove() after track()"));

  // A new stream of the same name (which may take the removed one's place)
  // knows nothing of the old tickets.
  const Ticket again = track(cp, "app", 50);
  EXPECT_TRUE(error_of([&] { cp.ack(t2); }));
  cp.ack(again);
  EXPECT_EQ(cp.state("app"), state_of("app", 50));
  cp.ack(other);
  EXPECT_EQ(cp.state("other"), state_of("other", 1));
  // Removing a stream with nothing in flight, or never tracked, works as ever.
  cp.remove("app");
  cp.remove("never");
  cp.flush();
  EXPECT_EQ(committed(uri).count("app"), 0u);
  EXPECT_EQ(cp.stats().in_flight, 0u);
}

TEST(Acks, RemovedStreamsIndexesAreReusedUnderANewGeneration) {
  Checkpoint cp(unique_uri("reuse"), quiet());
  std::vector<Ticket> stale;
  for (int round = 0; round < 100; ++round) {
    const std::string name = "stream-" + std::to_string(round);
    stale.push_back(track(cp, name, 1));
    cp.remove(name);
  }
  for (const Ticket& ticket : stale) {
    auto e = error_of([&] { cp.ack(ticket); });
    ASSERT_TRUE(e);
    EXPECT_THAT(e->what(), HasSubstr("removed by remove()"));
  }
  const Ticket live = track(cp, "last", 1);
  cp.ack(live);
  EXPECT_EQ(cp.state("last"), state_of("last", 1));
}

TEST(Acks, ManyRecordsInFlightAcknowledgedInReverse) {
  Checkpoint cp(unique_uri("reverse"), quiet());
  constexpr std::uint64_t kRecords = 20'000;
  for (int round = 0; round < 3; ++round) {  // the ring grows, drains, shrinks, grows
    const std::uint64_t base = static_cast<std::uint64_t>(round) * kRecords;
    std::vector<Ticket> tickets;
    for (std::uint64_t record = 1; record <= kRecords; ++record) {
      tickets.push_back(track(cp, "app", base + record));
    }
    EXPECT_EQ(cp.stats().in_flight, kRecords);
    for (std::size_t i = tickets.size(); i-- > 1;) cp.ack(tickets[i]);
    EXPECT_EQ(cp.stats().acked_waiting, kRecords - 1);
    if (round == 0) {
      EXPECT_EQ(cp.state("app"), std::nullopt);
    } else {
      EXPECT_EQ(cp.state("app"), state_of("app", base));
    }
    cp.ack(tickets[0]);
    EXPECT_EQ(cp.state("app"), state_of("app", base + kRecords));
    EXPECT_EQ(cp.stats().in_flight, 0u);
    EXPECT_EQ(cp.stats().acked_waiting, 0u);
  }
}

TEST(Acks, ShutdownCommitsWhatWasReleasedAndRefusesTheRest) {
  const std::string uri = unique_uri("shutdown");
  Checkpoint cp(uri, quiet());
  const Ticket t1 = track(cp, "app", 1);
  const Ticket t2 = track(cp, "app", 2);
  const Ticket t3 = track(cp, "app", 3);
  cp.ack(t1);
  cp.ack(t3);
  cp.shutdown();
  EXPECT_EQ(committed(uri).at("app"), state_of("app", 1))
      << "2 was not acknowledged: neither it nor 3 may be committed";
  auto late_ack = error_of([&] { cp.ack(t2); });
  ASSERT_TRUE(late_ack);
  EXPECT_EQ(late_ack->code(), ErrorCode::closed);
  EXPECT_THAT(late_ack->what(), HasSubstr("ack() after shutdown()"));
  auto late_track = error_of([&] { cp.track("app", 4, time_of(4)); });
  ASSERT_TRUE(late_track);
  EXPECT_EQ(late_track->code(), ErrorCode::closed);
  EXPECT_THAT(late_track->what(), HasSubstr("track() after shutdown()"));
  EXPECT_EQ(cp.stats().in_flight, 1u);
  EXPECT_EQ(cp.stats().acked_waiting, 1u);
}

// Acks racing shutdown() from several threads: each is committed by the
// final commit or refused with Error{closed}, and what was committed is
// what the model allows.
TEST(Acks, AcksRacingShutdownAreCommittedOrRefused) {
  const std::string uri = unique_uri("racing");
  constexpr std::uint64_t kRecords = 2000;
  constexpr int kThreads = 3;
  Checkpoint cp(uri, quiet());
  std::vector<Ticket> tickets;
  for (std::uint64_t record = 1; record <= kRecords; ++record) {
    tickets.push_back(track(cp, "app", record));
  }
  // acked[r]: ack() of record r was called; returned[r]: it returned.
  std::vector<std::unique_ptr<std::atomic<bool>>> acked, returned;
  for (std::uint64_t record = 0; record <= kRecords; ++record) {
    acked.push_back(std::make_unique<std::atomic<bool>>(false));
    returned.push_back(std::make_unique<std::atomic<bool>>(false));
  }
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      started++;
      for (std::size_t i = static_cast<std::size_t>(t); i < tickets.size(); i += kThreads) {
        acked[i + 1]->store(true);
        try {
          cp.ack(tickets[i]);
          returned[i + 1]->store(true);
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), ErrorCode::closed) << e.what();
          return;
        }
      }
    });
  }
  while (started.load() < kThreads) std::this_thread::yield();
  cp.shutdown();
  for (auto& thread : threads) thread.join();
  // Every record up to `accepted` was acknowledged by an ack() that
  // returned: the final commit holds at least that, and nothing that was
  // not acknowledged.
  std::uint64_t accepted = 0;
  while (accepted < kRecords && returned[accepted + 1]->load()) ++accepted;
  const StateMap stored = committed(uri);
  const std::uint64_t at = stored.contains("app") ? stored.at("app").record_number : 0;
  EXPECT_GE(at, accepted) << "an ack() that returned was not committed";
  if (at != 0) {
    EXPECT_EQ(stored.at("app"), state_of("app", at));
  }
  for (std::uint64_t r = 1; r <= at; ++r) {
    ASSERT_TRUE(acked[r]->load()) << "committed past record " << r << ", never acknowledged";
  }
}

}  // namespace
}  // namespace checkpoint
