#include "core/commit_states.hpp"

#include <algorithm>

namespace checkpoint::detail {

std::vector<const EventLogState*> find_states(const StateMap& states,
                                              const std::vector<std::string>& names) {
  std::vector<const EventLogState*> out;
  out.reserve(names.size());
  // Walking costs O(states); searching O(names * log(states)).
  if (names.size() * 16 > states.size() && std::is_sorted(names.begin(), names.end())) {
    auto it = states.begin();
    for (const auto& name : names) {
      while (it != states.end() && it->first < name) ++it;
      out.push_back(it != states.end() && it->first == name ? &it->second : nullptr);
    }
    return out;
  }
  for (const auto& name : names) {
    auto it = states.find(name);
    out.push_back(it != states.end() ? &it->second : nullptr);
  }
  return out;
}

}  // namespace checkpoint::detail
