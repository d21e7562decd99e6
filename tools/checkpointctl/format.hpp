// How checkpointctl prints states.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <checkpoint/state.hpp>

namespace checkpointctl {

std::string join(const std::vector<std::string>& items);

// Aligned columns for people: name, record number, timestamp, bookmark
// (control characters escaped, long bookmarks shortened).
void print_table(const checkpoint::PersistedState& state, std::ostream& out);

// One state, one field per line.
void print_state(const checkpoint::EventLogState& state, std::ostream& out);

}  // namespace checkpointctl
