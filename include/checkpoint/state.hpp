// The values that checkpoint stores: one EventLogState per named stream.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "checkpoint/timestamp.hpp"

namespace checkpoint {

// Where a reader stopped in one stream.
struct EventLogState {
  std::string name;                 // any non-empty UTF-8 text
  std::uint64_t record_number = 0;  // the whole uint64 range
  Timestamp timestamp;              // the record's time
  std::string bookmark;             // opaque text; empty = none
  // When a commit last added or changed this state: the front end sets it
  // to that commit's update time (a caller's value is ignored); zero for a
  // state not committed yet. A state read from a store written before this
  // field existed takes the store's update_time.
  Timestamp update_time{};

  friend bool operator==(const EventLogState&, const EventLogState&) = default;
};

// Everything a store holds.
struct PersistedState {
  Timestamp update_time;              // when the last commit was made
  std::vector<EventLogState> states;  // sorted by name, names unique
};

// States keyed by name; heterogeneous lookup by std::string_view.
using StateMap = std::map<std::string, EventLogState, std::less<>>;

}  // namespace checkpoint
