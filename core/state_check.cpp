#include "core/state_check.hpp"

#include "checkpoint/error.hpp"
#include "core/utf8.hpp"

namespace checkpoint::detail {

void check_state(std::string_view who, const EventLogState& state) {
  auto fail = [&](const std::string& what) {
    throw Error(ErrorCode::invalid_argument, std::string(who) + ": " + what);
  };
  if (state.name.empty()) fail("a state's name is empty");
  if (!is_valid_utf8(state.name)) fail("a state's name is not valid UTF-8");
  if (!is_valid_utf8(state.bookmark)) {
    fail("the bookmark of \"" + state.name + "\" is not valid UTF-8");
  }
}

}  // namespace checkpoint::detail
