// Small helpers the conformance cases share for writing down states.
#pragma once

#include <string>

#include "checkpoint/state.hpp"

namespace checkpoint::conformance {

inline Timestamp ts(const char* text) { return Timestamp::parse(text); }

inline EventLogState state(std::string name, std::uint64_t record_number,
                           Timestamp timestamp = ts("2017-12-05T15:16:02.6721303Z"),
                           std::string bookmark = {}) {
  return EventLogState{std::move(name), record_number, timestamp, std::move(bookmark)};
}

}  // namespace checkpoint::conformance
