// Finding the states a commit lists, for the stores that write only those
// (sqlite, lmdb).
#pragma once

#include <string>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

// The state each of `names` has in `states`, in the order of `names`;
// nullptr where `states` has none (a name removed). A long, sorted list, as
// the front end gives, is matched in one walk over `states` instead of a
// search per name: for a million names that is several times faster.
std::vector<const EventLogState*> find_states(const StateMap& states,
                                              const std::vector<std::string>& names);

}  // namespace checkpoint::detail
