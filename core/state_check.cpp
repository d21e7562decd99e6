#include "core/state_check.hpp"

#include <string>

#include "checkpoint/error.hpp"
#include "core/utf8.hpp"

namespace checkpoint::detail {

void check_name(std::string_view who, std::string_view name) {
  if (name.empty()) {
    throw Error(ErrorCode::invalid_argument, std::string(who) + ": a state's name is empty");
  }
  if (!is_valid_utf8(name)) {
    throw Error(ErrorCode::invalid_argument,
                std::string(who) + ": a state's name is not valid UTF-8");
  }
}

void check_state(std::string_view who, std::string_view name, std::string_view bookmark) {
  check_name(who, name);
  if (!is_valid_utf8(bookmark)) {
    throw Error(ErrorCode::invalid_argument, std::string(who) + ": the bookmark of \"" +
                                                 std::string(name) + "\" is not valid UTF-8");
  }
}

}  // namespace checkpoint::detail
