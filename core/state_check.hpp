// What every state must be before it is stored: a non-empty name, and a name
// and bookmark of valid UTF-8 (text formats cannot hold anything else, and a
// value a backend cannot hold is an error, never a quiet change).
#pragma once

#include <string_view>

namespace checkpoint::detail {

// Error{invalid_argument} starting with `who` (the store or "Checkpoint").
void check_name(std::string_view who, std::string_view name);
void check_state(std::string_view who, std::string_view name, std::string_view bookmark);

}  // namespace checkpoint::detail
