// States without their update times, for tests that compare the values a
// caller gave (record number, timestamp, bookmark) with what a store or the
// front end holds: the front end stamps each committed state with its
// commit's update time, which such a test does not know.
#pragma once

#include <optional>
#include <ostream>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::testing {

inline EventLogState values(EventLogState state) {
  state.update_time = {};
  return state;
}
inline std::optional<EventLogState> values(std::optional<EventLogState> state) {
  if (state) state->update_time = {};
  return state;
}
inline StateMap values(StateMap states) {
  for (auto& [name, state] : states) state.update_time = {};
  return states;
}
inline std::vector<EventLogState> values(std::vector<EventLogState> states) {
  for (auto& state : states) state.update_time = {};
  return states;
}
inline PersistedState values(PersistedState persisted) {
  persisted.states = values(std::move(persisted.states));
  return persisted;
}

}  // namespace checkpoint::testing
