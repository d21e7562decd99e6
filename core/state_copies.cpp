#include "core/state_copies.hpp"

#include <cassert>

namespace checkpoint::detail {
namespace {

// How many states ahead of the one copied a copy prefetches the strings:
// they lie anywhere in the heap, and waiting for each in turn would cost
// most of a copy's time.
constexpr std::size_t kAhead = 8;

// Asks for the strings of `slot`, whose addresses it reads under its lock.
void prefetch_strings(Slot& slot) {
  slot.lock.lock();
  const char* name = slot.state.name.data();
  const char* bookmark = slot.state.bookmark.data();
  slot.lock.unlock();
  __builtin_prefetch(name);
  __builtin_prefetch(bookmark);
}

// Adds a copy of `slot`'s state to `runs` if it is live and its `loaded`
// mark is `loaded`; whether it did.
bool copy_if(Slot& slot, bool loaded, StateRuns& runs) {
  slot.lock.lock();
  bool added = false;
  try {
    if (slot.live && slot.loaded == loaded) {
      runs.add(slot.state);
      added = true;
    }
  } catch (...) {
    slot.lock.unlock();
    throw;
  }
  slot.lock.unlock();
  return added;
}

// Copies the slots of `table` from `begin` to `end` whose `loaded` mark is
// `loaded`.
void copy_range(const LiveStates& table, std::size_t begin, std::size_t end, bool loaded,
                StateRuns& runs) {
  for (std::size_t index = begin; index < end; ++index) {
    if (index + kAhead < end) prefetch_strings(table.slot(index + kAhead));
    copy_if(table.slot(index), loaded, runs);
  }
}

}  // namespace

void ScanOrder::add(std::size_t shard) {
  assert(shard < 256 && shard < loaded_.size());
  shards_.push_back(static_cast<std::uint8_t>(shard));
  ++loaded_[shard];
}

void ScanOrder::finish(const std::vector<const LiveStates*>& tables) {
  prefix_.clear();
  if (shards_.empty()) return;
  for (std::size_t shard = 0; shard < tables.size(); ++shard) {
    assert(tables[shard]->slot_count() == loaded_[shard] && "each shard empty before the load");
  }
  // Names in order: the first and the last share what all share.
  const std::string& first = tables[shards_.front()]->slot(0).state.name;
  const std::string& last = tables[shards_.back()]->slot(loaded_[shards_.back()] - 1).state.name;
  prefix_.assign(first, 0, common_prefix(first, last));
}

Slot& ScanOrderCopy::step(std::size_t& position, std::vector<std::uint32_t>& next) const {
  const std::size_t shard = order_.shard_at(position++);
  return tables_[shard]->slot(next[shard]++);
}

bool ScanOrderCopy::copy(StateRuns& runs, std::size_t limit) {
  const std::size_t size = order_.size();
  for (std::size_t added = 0; position_ < size && added < limit;) {
    while (ahead_position_ < size && ahead_position_ < position_ + kAhead) {
      prefetch_strings(step(ahead_position_, ahead_next_));
    }
    if (copy_if(step(position_, next_), /*loaded=*/true, runs)) ++added;
  }
  return position_ < size;
}

void copy_others(const ScanOrder& order, const std::vector<const LiveStates*>& tables,
                 StateRuns& runs) {
  for (std::size_t shard = 0; shard < tables.size(); ++shard) {
    const LiveStates& table = *tables[shard];
    const std::size_t loaded = order.loaded(shard);
    // The loaded slots reused since, if any, and the slots made since.
    if (table.any_reused()) copy_range(table, 0, loaded, /*loaded=*/false, runs);
    copy_range(table, loaded, table.slot_count(), /*loaded=*/false, runs);
  }
}

}  // namespace checkpoint::detail
