// How states() copies the shards (core/state_copies.hpp): the states
// loaded, in the order the store gave them, and the rest. Together they
// hold every live state once; the loaded ones come in name order, so the
// merge places none of them by a search.
#include "core/state_copies.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace checkpoint::detail {
namespace {

constexpr std::size_t kShards = 8;

class StateCopiesTest : public ::testing::Test {
 protected:
  StateCopiesTest() : order_(kShards) {
    for (std::size_t i = 0; i < kShards; ++i) {
      owned_.push_back(std::make_unique<LiveStates>());
      tables_.push_back(owned_.back().get());
    }
  }

  static std::size_t shard_of(const std::string& name) { return LiveStates::hash(name) % kShards; }

  // Loads `names`, in name order, as a Checkpoint loads its store's scan.
  void load(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      EventLogState state{name, 1, Timestamp(), ""};
      owned_[shard_of(name)]->load(std::move(state), LiveStates::hash(name));
      order_.add(shard_of(name));
      model_[name] = 1;
    }
    for (auto& table : owned_) table->index_loaded();
    order_.finish(tables_);
  }
  void insert(const std::string& name, std::uint64_t record) {
    LiveStates& table = *owned_[shard_of(name)];
    Slot* slot = table.find(name);
    (slot != nullptr ? *slot : table.insert(name)).state.record_number = record;
    model_[name] = record;
  }
  void erase(const std::string& name) {
    ASSERT_TRUE(owned_[shard_of(name)]->erase(name));
    model_.erase(name);
  }
  void recycle() {
    for (auto& table : owned_) table->recycle();
  }

  // The states copied, by name: in scan order, the others, or both.
  enum Which { kLoaded = 1, kOthers = 2, kBoth = 3 };
  std::map<std::string, std::uint64_t> copied(Which which, std::size_t* searched = nullptr) {
    StateRuns runs;
    ScanOrderCopy loaded(order_, tables_);
    if (which & kLoaded) runs.begin_stream(loaded, order_.prefix());
    if (which & kOthers) {
      runs.begin_run(0);
      copy_others(order_, tables_, runs);
    }
    std::map<std::string, std::uint64_t> out;
    for (const auto& [name, state] : runs.merge()) out[name] = state.record_number;
    if (searched != nullptr) *searched = runs.placed_by_search();
    return out;
  }

  std::vector<std::unique_ptr<LiveStates>> owned_;
  std::vector<const LiveStates*> tables_;
  ScanOrder order_;
  std::map<std::string, std::uint64_t> model_;
};

std::vector<std::string> names(const std::string& prefix, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(10000 + i));
  return out;  // in name order: the numbers have as many digits
}

TEST_F(StateCopiesTest, TheLoadedStatesComeInNameOrder) {
  load(names("/var/log/containers/app-", 2000));
  EXPECT_EQ(order_.prefix(), "/var/log/containers/app-1");
  EXPECT_EQ(order_.size(), 2000u);
  std::size_t searched = 99;
  EXPECT_EQ(copied(kLoaded, &searched), model_);
  EXPECT_EQ(searched, 0u) << "a loaded state out of name order";
  EXPECT_TRUE(copied(kOthers).empty());
}

TEST_F(StateCopiesTest, StatesRemovedReusedOrAddedSinceTheLoadAreTheOthers) {
  load(names("/var/log/", 500));
  std::map<std::string, std::uint64_t> loaded = model_;
  for (int i = 0; i < 500; i += 7) {
    erase(names("/var/log/", 500)[i]);
    loaded.erase(names("/var/log/", 500)[i]);
  }
  insert("/var/log/10003", 9);  // a loaded state changed: still in its slot
  loaded["/var/log/10003"] = 9;
  recycle();
  std::map<std::string, std::uint64_t> others;
  for (const std::string& name : names("/added/", 300)) {  // some reuse the slots freed
    insert(name, 2);
    others[name] = 2;
  }
  insert("/var/log/10000", 3);  // removed and added again, elsewhere
  loaded.erase("/var/log/10000");
  others["/var/log/10000"] = 3;

  std::size_t searched = 99;
  EXPECT_EQ(copied(kLoaded, &searched), loaded);
  EXPECT_EQ(searched, 0u);
  EXPECT_EQ(copied(kOthers), others);
  EXPECT_EQ(copied(kBoth, &searched), model_);
  EXPECT_EQ(searched, 0u);
}

TEST_F(StateCopiesTest, NothingLoaded) {
  load({});
  EXPECT_EQ(order_.size(), 0u);
  insert("b", 1);
  insert("a", 2);
  EXPECT_EQ(copied(kBoth), model_);
}

}  // namespace
}  // namespace checkpoint::detail
