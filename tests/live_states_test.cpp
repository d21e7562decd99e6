// The front end's hash table of live states, checked against std::map
// through long random sequences of inserts and erases (which exercise the
// probe runs, wrap-around and backward-shift deletion), and on names whose
// hashes collide in the low bits.
#include "core/live_states.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

namespace checkpoint::detail {
namespace {

std::map<std::string, std::uint64_t> contents(const LiveStates& table) {
  std::map<std::string, std::uint64_t> out;
  for (std::size_t i = 0; i < table.slot_count(); ++i) {
    const Slot& slot = table.slot(i);
    if (!slot.live) continue;
    EXPECT_TRUE(out.emplace(slot.state.name, slot.state.record_number).second)
        << "twice: " << slot.state.name;
  }
  return out;
}

TEST(LiveStates, StartsEmpty) {
  LiveStates table;
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_FALSE(table.erase("a"));
  EXPECT_TRUE(contents(table).empty());
}

TEST(LiveStates, InsertFindErase) {
  LiveStates table;
  Slot& a = table.insert("a");
  EXPECT_EQ(a.state.name, "a");
  a.state.record_number = 7;
  const std::string bookmark = "x";
  table.insert("b").state.bookmark = bookmark;
  ASSERT_NE(table.find("a"), nullptr);
  EXPECT_EQ(table.find("a")->state.record_number, 7u);
  EXPECT_EQ(table.find("b")->state.bookmark, "x");
  EXPECT_EQ(table.find("c"), nullptr);
  EXPECT_EQ(table.size(), 2u);

  EXPECT_TRUE(table.erase("a"));
  EXPECT_FALSE(table.erase("a"));
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_EQ(table.size(), 1u);

  // A reused slot starts from default values.
  table.recycle();
  Slot& again = table.insert("a");
  EXPECT_EQ(again.state.record_number, 0u);
  EXPECT_EQ(again.state.bookmark, "");
  EXPECT_EQ(again.generation, 0u);
  EXPECT_EQ(table.find("b")->state.bookmark, "x");
}

// A commit may still read the slot of a state removed after it took the
// changes: the slot keeps its name and value, and no new name gets it,
// until recycle().
TEST(LiveStates, ARemovedSlotKeepsItsValueUntilRecycled) {
  LiveStates table;
  Slot& a = table.insert("a");
  a.state.record_number = 7;
  a.state.bookmark = "<a/>";
  ASSERT_TRUE(table.erase("a"));
  EXPECT_FALSE(a.live);
  EXPECT_EQ(a.state.name, "a");
  EXPECT_EQ(a.state.record_number, 7u);
  EXPECT_EQ(a.state.bookmark, "<a/>");
  Slot& b = table.insert("b");
  EXPECT_NE(&b, &a) << "reused before recycle()";
  EXPECT_EQ(a.state.name, "a");

  table.recycle();
  Slot& c = table.insert("c");
  EXPECT_EQ(&c, &a) << "recycled slots are reused";
  EXPECT_EQ(c.state.name, "c");
  EXPECT_EQ(c.state.record_number, 0u);
  EXPECT_EQ(c.state.bookmark, "");
}

TEST(LiveStates, NamesDifferingOnlyInLengthOrLastByte) {
  LiveStates table;
  std::string name;
  for (int i = 0; i < 100; ++i) {
    name += 'x';
    table.insert(name).state.record_number = name.size();
  }
  table.insert(std::string("x\0", 2)).state.record_number = 999;
  EXPECT_EQ(table.size(), 101u);
  EXPECT_EQ(table.find("xxx")->state.record_number, 3u);
  EXPECT_EQ(table.find(std::string("x\0", 2))->state.record_number, 999u);
  EXPECT_EQ(table.find("x")->state.record_number, 1u);
}

TEST(LiveStates, MatchesAMapThroughRandomInsertsAndErases) {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 random(seed);
    LiveStates table;
    std::map<std::string, std::uint64_t> model;
    // Few distinct names, so erases hit and runs fill up and drain often.
    std::uniform_int_distribution<int> pick(0, 299), op(0, 9);
    for (std::uint64_t step = 1; step <= 20'000; ++step) {
      const std::string name = "channel-" + std::to_string(pick(random));
      if (op(random) < 4) {
        EXPECT_EQ(table.erase(name), model.erase(name) == 1) << name;
      } else {
        Slot* slot = table.find(name);
        ASSERT_EQ(slot != nullptr, model.contains(name)) << name;
        if (slot == nullptr) slot = &table.insert(name);
        slot->state.record_number = step;
        model[name] = step;
      }
      ASSERT_EQ(table.size(), model.size());
      if (step % 64 == 0) table.recycle();  // as every commit does
    }
    EXPECT_EQ(contents(table), model) << "seed " << seed;
    for (const auto& [name, record] : model) {
      ASSERT_NE(table.find(name), nullptr) << name;
      EXPECT_EQ(table.find(name)->state.record_number, record);
    }
  }
}

TEST(LiveStates, Grows) {
  LiveStates table;
  for (int i = 0; i < 100'000; ++i) table.insert(std::to_string(i)).state.record_number = i;
  EXPECT_EQ(table.size(), 100'000u);
  for (int i = 0; i < 100'000; i += 7) {
    ASSERT_NE(table.find(std::to_string(i)), nullptr) << i;
    EXPECT_EQ(table.find(std::to_string(i))->state.record_number, static_cast<std::uint64_t>(i));
  }
  for (int i = 0; i < 100'000; i += 2) ASSERT_TRUE(table.erase(std::to_string(i)));
  EXPECT_EQ(table.size(), 50'000u);
  for (int i = 0; i < 100'000; ++i) {
    EXPECT_EQ(table.find(std::to_string(i)) != nullptr, i % 2 == 1) << i;
  }
}

// A store's states added with load() are found once index_loaded() put
// them in the table, beside states inserted before, and the table then
// changes as usual.
TEST(LiveStates, LoadedStatesAreFoundOnceIndexed) {
  LiveStates table;
  table.insert("inserted").state.record_number = 1;
  for (int i = 0; i < 10'000; ++i) {
    EventLogState state;
    state.name = "loaded-" + std::to_string(i);
    state.record_number = static_cast<std::uint64_t>(i);
    state.bookmark = "<b/>";
    table.load(std::move(state), LiveStates::hash("loaded-" + std::to_string(i)));
  }
  EXPECT_EQ(table.size(), 10'001u);
  table.index_loaded();
  std::map<std::string, std::uint64_t> model{{"inserted", 1}};
  for (int i = 0; i < 10'000; ++i) model.emplace("loaded-" + std::to_string(i), i);
  EXPECT_EQ(contents(table), model);
  for (const auto& [name, record] : model) {
    ASSERT_NE(table.find(name), nullptr) << name;
    EXPECT_EQ(table.find(name)->state.record_number, record);
  }
  EXPECT_EQ(table.find("loaded-3")->state.bookmark, "<b/>");
  EXPECT_EQ(table.find("loaded-10000"), nullptr);

  ASSERT_TRUE(table.erase("loaded-5"));
  table.insert("new").state.record_number = 2;
  EXPECT_EQ(table.find("loaded-5"), nullptr);
  EXPECT_EQ(table.find("new")->state.record_number, 2u);
  EXPECT_EQ(table.size(), 10'001u);
  table.index_loaded();  // nothing loaded since: changes nothing
  EXPECT_EQ(table.find("new")->state.record_number, 2u);
  EXPECT_EQ(table.size(), 10'001u);
}
TEST(LiveStates, MarksTheSlotsLoadedUntilReused) {
  LiveStates table;
  for (const char* name : {"a", "b"}) {
    EventLogState loaded;
    loaded.name = name;
    table.load(std::move(loaded), LiveStates::hash(name));
  }
  table.index_loaded();
  table.insert("c");
  EXPECT_TRUE(table.find("a")->loaded);
  EXPECT_TRUE(table.find("b")->loaded);
  EXPECT_FALSE(table.find("c")->loaded);
  EXPECT_FALSE(table.any_reused());

  ASSERT_TRUE(table.erase("a"));
  EXPECT_TRUE(table.slot(0).loaded) << "removed, not reused yet";
  table.recycle();
  table.insert("d");  // in a's slot
  EXPECT_EQ(&table.slot(0), table.find("d"));
  EXPECT_FALSE(table.slot(0).loaded);
  EXPECT_TRUE(table.any_reused());

  ASSERT_TRUE(table.erase("b"));
  table.recycle();
  EventLogState more;
  more.name = "e";
  table.load(std::move(more), LiveStates::hash("e"));  // a new slot, not b's
  table.index_loaded();
  EXPECT_EQ(&table.slot(3), table.find("e"));
  EXPECT_TRUE(table.slot(3).loaded);
}

// Lookups without the mutex, while another thread adds, removes and grows
// (with the mutex, as the front end does): a lookup finds the right slot,
// locked and live, or none; never another name's slot.
TEST(LiveStates, LookupsWithoutTheMutexRaceChangesSafely) {
  LiveStates table;
  table.concurrent();
  std::mutex mutex;  // the shard's mutex: every change of the structure holds it
  constexpr int kStable = 200, kChurn = 2000;
  for (int i = 0; i < kStable; ++i) {
    std::lock_guard lock(mutex);
    table.insert("stable-" + std::to_string(i)).state.record_number = i;
  }
  std::atomic<bool> stop{false};
  std::thread changer([&] {
    for (int round = 0; round < 20; ++round) {
      for (int i = 0; i < kChurn; ++i) {
        std::lock_guard lock(mutex);
        table.insert("churn-" + std::to_string(i));
      }
      for (int i = 0; i < kChurn; ++i) {
        std::lock_guard lock(mutex);
        table.erase("churn-" + std::to_string(i));
      }
    }
    stop = true;
  });
  std::size_t found = 0, missed = 0;
  while (!stop) {
    for (int i = 0; i < kStable; ++i) {
      const std::string name = "stable-" + std::to_string(i);
      Slot* slot = table.find_locked(name, LiveStates::hash(name));
      if (slot == nullptr) {
        ++missed;  // a change got in the way: the front end asks again with the mutex
        std::lock_guard lock(mutex);
        ASSERT_NE(table.find(name), nullptr) << name;
        continue;
      }
      ++found;
      EXPECT_TRUE(slot->live);
      EXPECT_EQ(slot->state.name, name);
      EXPECT_EQ(slot->state.record_number, static_cast<std::uint64_t>(i));
      slot->lock.unlock();
    }
  }
  changer.join();
  EXPECT_GT(found, 0u);
  EXPECT_EQ(table.size(), static_cast<std::size_t>(kStable));
}

}  // namespace
}  // namespace checkpoint::detail
