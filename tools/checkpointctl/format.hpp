// How checkpointctl prints states.
#pragma once

#include <checkpoint/state.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace checkpointctl {

std::string join(const std::vector<std::string>& items);

// `s` safe to print on a terminal, on one line: line breaks, tabs and
// other control characters as C escapes ("\n", "\x1b"), C1 controls and
// bidirectional overrides as "\u0085", and each byte that is not UTF-8 as
// "\xff"; with `backslash`, "\" itself as "\\", so that an escape in the
// output can be told from the same text in the input. For the arguments and
// messages that checkpointctl prints, which may hold anything.
std::string escaped(std::string_view s, bool backslash = true);

// Aligned columns for people: name, record number, timestamp, bookmark
// (control characters escaped, long bookmarks shortened).
void print_table(const checkpoint::PersistedState& state, std::ostream& out);

// One state, one field per line.
void print_state(const checkpoint::EventLogState& state, std::ostream& out);

}  // namespace checkpointctl
