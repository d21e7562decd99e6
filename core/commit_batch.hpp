// What one commit hands the store, as the front end builds it: the changed
// states and the removed names, both sorted by name and disjoint (the order
// Changes requires, and the one databases write fastest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

struct Batch {
  std::vector<EventLogState> upserted;
  std::vector<std::string> removed;

  std::size_t size() const { return upserted.size() + removed.size(); }
  bool empty() const { return upserted.empty() && removed.empty(); }
};

// `older` with `newer` applied on top: where both name a state, `newer`
// wins. Linear (plus a search per older name); moves from both.
Batch merged(Batch&& older, Batch&& newer);

// The names of a batch as sorted hashes: what stats().pending asks of the
// batch in flight ("is this name already counted there?") without keeping
// the names. (Two names of one hash would count once: a statistic's error,
// with 64-bit hashes, not worth a copy of every name.)
class BatchNames {
 public:
  BatchNames() = default;
  explicit BatchNames(const Batch& batch);
  bool contains(std::uint64_t hash) const;
  std::size_t size() const { return hashes_.size(); }

 private:
  std::vector<std::uint64_t> hashes_;
};

}  // namespace checkpoint::detail
