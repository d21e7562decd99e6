// What every state must be before it is stored: a non-empty name, and a name
// and bookmark of valid UTF-8 (text formats cannot hold anything else, and a
// value a backend cannot hold is an error, never a quiet change).
#pragma once

#include <string_view>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

// Error{invalid_argument} starting with `who` (the store or "Checkpoint")
// and naming the state.
void check_state(std::string_view who, const EventLogState& state);

}  // namespace checkpoint::detail
