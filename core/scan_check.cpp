#include "core/scan_check.hpp"

#include "core/utf8.hpp"

namespace checkpoint::detail {

std::optional<std::string> ScanCheck::problem(const EventLogState& state) {
  const std::size_t position = ++count_;
  auto at = [&] { return store_ + ": state " + std::to_string(position) + " of the scan"; };
  if (state.name.empty()) return at() + " has an empty name";
  if (!is_valid_utf8(state.name)) return at() + " has a name that is not valid UTF-8";
  if (!is_valid_utf8(state.bookmark)) {
    return at() + " (\"" + state.name + "\") has a bookmark that is not valid UTF-8";
  }
  if (position > 1 && !(previous_ < state.name)) {
    std::string out = at() + " (\"" + state.name + "\") ";
    out += previous_ == state.name ? "repeats the name before it"
                                   : "comes after \"" + previous_ + "\": not in name order";
    return out;
  }
  previous_ = state.name;
  return std::nullopt;
}

}  // namespace checkpoint::detail
