// find_states(): the same answer whether it walks the map (a long sorted
// list) or searches it (a short or unsorted one).
#include "core/commit_states.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace checkpoint::detail {
namespace {

StateMap states_named(const std::vector<std::string>& names) {
  StateMap out;
  std::uint64_t record = 0;
  for (const auto& name : names) out.emplace(name, EventLogState{name, ++record, {}, {}});
  return out;
}

// What find_states() must return: a search per name.
std::vector<const EventLogState*> searched(const StateMap& states,
                                           const std::vector<std::string>& names) {
  std::vector<const EventLogState*> out;
  for (const auto& name : names) {
    auto it = states.find(name);
    out.push_back(it == states.end() ? nullptr : &it->second);
  }
  return out;
}

TEST(FindStates, EmptyInputs) {
  EXPECT_TRUE(find_states({}, {}).empty());
  EXPECT_EQ(find_states({}, {"a"}), std::vector<const EventLogState*>{nullptr});
  EXPECT_TRUE(find_states(states_named({"a"}), {}).empty());
}

TEST(FindStates, WalkAndSearchAgree) {
  std::mt19937 random(3);
  std::vector<std::string> all;
  for (int i = 0; i < 400; ++i) all.push_back(std::to_string(1000 + i));
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> stored, asked;
    for (const auto& name : all) {
      if (random() % 2 == 0) stored.push_back(name);
      if (random() % (round % 2 == 0 ? 2 : 40) == 0) asked.push_back(name);  // long or short
    }
    asked.push_back("zzz");            // after every stored name
    asked.insert(asked.begin(), "0");  // before every stored name
    if (round % 3 == 0) std::shuffle(asked.begin(), asked.end(), random);  // unsorted
    const StateMap states = states_named(stored);
    EXPECT_EQ(find_states(states, asked), searched(states, asked)) << "round " << round;
  }
}

}  // namespace
}  // namespace checkpoint::detail
