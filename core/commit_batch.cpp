#include "core/commit_batch.hpp"

#include <algorithm>
#include <iterator>

#include "core/live_states.hpp"

namespace checkpoint::detail {
namespace {

const std::string& name_of(const EventLogState& state) { return state.name; }
const std::string& name_of(const std::string& name) { return name; }

// Whether sorted `items` (states or names) hold `name`.
template <typename Items>
bool holds(const Items& items, const std::string& name) {
  auto it = std::lower_bound(items.begin(), items.end(), name,
                             [](const auto& item, const auto& n) { return name_of(item) < n; });
  return it != items.end() && name_of(*it) == name;
}

// Two sorted, disjoint lists (of states or names) merged into one.
template <typename Items>
Items merge_sorted(Items&& a, Items&& b) {
  Items out;
  out.reserve(a.size() + b.size());
  std::merge(std::make_move_iterator(a.begin()), std::make_move_iterator(a.end()),
             std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()),
             std::back_inserter(out),
             [](const auto& x, const auto& y) { return name_of(x) < name_of(y); });
  return out;
}

}  // namespace

Batch merged(Batch&& older, Batch&& newer) {
  auto changed_since = [&](const auto& item) {
    return holds(newer.upserted, name_of(item)) || holds(newer.removed, name_of(item));
  };
  std::erase_if(older.upserted, changed_since);
  std::erase_if(older.removed, changed_since);
  Batch out;
  out.upserted = merge_sorted(std::move(older.upserted), std::move(newer.upserted));
  out.removed = merge_sorted(std::move(older.removed), std::move(newer.removed));
  return out;
}

BatchNames::BatchNames(const Batch& batch) {
  hashes_.reserve(batch.size());
  for (const auto& state : batch.upserted) hashes_.push_back(LiveStates::hash(state.name));
  for (const auto& name : batch.removed) hashes_.push_back(LiveStates::hash(name));
  std::sort(hashes_.begin(), hashes_.end());
}

bool BatchNames::contains(std::uint64_t hash) const {
  return std::binary_search(hashes_.begin(), hashes_.end(), hash);
}

}  // namespace checkpoint::detail
