// How states() copies the live states into the runs it merges
// (core/state_runs.hpp), each slot under its own lock.
//
// A Checkpoint's store gives its states in name order, and each goes to the
// next new slot of its shard; ScanOrder keeps the shard of each, one byte a
// state, which is all it takes to visit them in name order again without
// comparing a name (ScanOrderCopy). The rest (names added since, slots
// reused for other names) copy_others() copies into a run sorted after.
// The merge then has one run or two, whatever the number of shards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/live_states.hpp"
#include "core/state_runs.hpp"

namespace checkpoint::detail {

class ScanOrder {
 public:
  // For at most 256 shards, each empty when the load begins.
  explicit ScanOrder(std::size_t shards) : loaded_(shards, 0) {}

  // The next state loaded went to `shard`'s slot loaded(shard), a new one.
  void add(std::size_t shard);
  // Once every state is loaded into `tables` (one per shard): notes the
  // prefix the loaded names share.
  void finish(const std::vector<const LiveStates*>& tables);

  // How many of `shard`'s first slots were loaded.
  std::size_t loaded(std::size_t shard) const { return loaded_[shard]; }
  std::size_t size() const { return shards_.size(); }
  std::size_t shard_at(std::size_t position) const { return shards_[position]; }
  // The prefix every loaded name shares.
  const std::string& prefix() const { return prefix_; }

 private:
  std::vector<std::uint8_t> shards_;  // of each state loaded, in the scan's order
  std::vector<std::uint32_t> loaded_;
  std::string prefix_;
};

// Copies the live slots that still hold what the load put there, in the
// order they were loaded: name order.
class ScanOrderCopy final : public StateRuns::Source {
 public:
  ScanOrderCopy(const ScanOrder& order, const std::vector<const LiveStates*>& tables)
      : order_(order), tables_(tables), next_(tables.size(), 0), ahead_next_(tables.size(), 0) {}

  bool copy(StateRuns& runs, std::size_t limit) override;

 private:
  // The slot of the state loaded at `position`, which `next` has walked to;
  // moves both on.
  Slot& step(std::size_t& position, std::vector<std::uint32_t>& next) const;

  const ScanOrder& order_;
  const std::vector<const LiveStates*>& tables_;
  std::size_t position_ = 0;         // the next loaded state to copy
  std::vector<std::uint32_t> next_;  // each shard's next loaded slot
  // The same, some states ahead: the slots whose strings are prefetched.
  std::size_t ahead_position_ = 0;
  std::vector<std::uint32_t> ahead_next_;
};

// Adds to the current run of `runs` every live state of `tables` that
// ScanOrderCopy does not copy, in no particular order.
void copy_others(const ScanOrder& order, const std::vector<const LiveStates*>& tables,
                 StateRuns& runs);

}  // namespace checkpoint::detail
