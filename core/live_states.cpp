#include "core/live_states.hpp"

#include <functional>
#include <limits>
#include <string>
#include <utility>

#include "checkpoint/error.hpp"

namespace checkpoint::detail {

std::uint64_t LiveStates::hash(std::string_view name) {
  return std::hash<std::string_view>{}(name);
}

std::size_t LiveStates::probe(std::string_view name, std::uint32_t hash) const {
  const std::size_t mask = buckets_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Bucket& bucket = buckets_[i];
    if (bucket.slot == 0) return i;
    if (bucket.hash == hash && slots_[bucket.slot - 1].state.name == name) return i;
  }
}

Slot* LiveStates::find(std::string_view name, std::uint64_t hash) {
  return const_cast<Slot*>(std::as_const(*this).find(name, hash));
}

const Slot* LiveStates::find(std::string_view name, std::uint64_t hash) const {
  if (size_ == 0) return nullptr;
  const Bucket& bucket = buckets_[probe(name, static_cast<std::uint32_t>(hash))];
  return bucket.slot == 0 ? nullptr : &slots_[bucket.slot - 1];
}

Slot& LiveStates::insert(std::string_view name, std::uint64_t hash) {
  Slot& slot = place(name, static_cast<std::uint32_t>(hash));
  slot.state.name.assign(name);
  return slot;
}

Slot& LiveStates::insert(EventLogState&& state, std::uint64_t hash) {
  Slot& slot = place(state.name, static_cast<std::uint32_t>(hash));
  slot.state = std::move(state);
  return slot;
}

Slot& LiveStates::place(std::string_view name, std::uint32_t hash) {
  if (2 * (size_ + 1) > buckets_.size()) grow(std::max<std::size_t>(16, 2 * buckets_.size()));
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    if (slots_.size() >= std::numeric_limits<std::uint32_t>::max() - 1) {
      throw Error(ErrorCode::invalid_argument, "Checkpoint: too many states");
    }
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  // The bucket is found before the name is stored: probe() compares the
  // names of the slots the buckets point to, and this one points nowhere yet.
  buckets_[probe(name, hash)] = Bucket{index + 1, hash};
  Slot& slot = slots_[index];
  slot.live = true;
  ++size_;
  return slot;
}

bool LiveStates::erase(std::string_view name, std::uint64_t hash) {
  if (size_ == 0) return false;
  std::size_t hole = probe(name, static_cast<std::uint32_t>(hash));
  if (buckets_[hole].slot == 0) return false;
  const std::uint32_t index = buckets_[hole].slot - 1;
  // Keep the strings' buffers for the next insert; reset the values.
  Slot& slot = slots_[index];
  slot.state.record_number = 0;
  slot.state.timestamp = Timestamp();
  slot.state.bookmark.clear();
  slot.generation = 0;
  slot.change = 0;
  slot.live = false;
  free_.push_back(index);
  --size_;
  // Backward-shift deletion: move later buckets of the probe run into the
  // hole unless that would put them before their home bucket.
  const std::size_t mask = buckets_.size() - 1;
  for (std::size_t i = (hole + 1) & mask; buckets_[i].slot != 0; i = (i + 1) & mask) {
    const std::size_t home = buckets_[i].hash & mask;
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      buckets_[hole] = buckets_[i];
      hole = i;
    }
  }
  buckets_[hole] = Bucket{};
  return true;
}

void LiveStates::reserve(std::size_t states) {
  std::size_t buckets = 16;
  while (buckets < 2 * states) buckets *= 2;
  if (buckets > buckets_.size()) grow(buckets);
}

void LiveStates::grow(std::size_t buckets) {
  std::vector<Bucket> old;
  old.swap(buckets_);
  buckets_.resize(buckets);
  const std::size_t mask = buckets - 1;
  for (const Bucket& bucket : old) {
    if (bucket.slot == 0) continue;
    std::size_t i = bucket.hash & mask;
    while (buckets_[i].slot != 0) i = (i + 1) & mask;
    buckets_[i] = bucket;
  }
}

}  // namespace checkpoint::detail
