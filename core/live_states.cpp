#include "core/live_states.hpp"

#include <bit>
#include <functional>
#include <limits>
#include <new>
#include <string>
#include <utility>

#include "checkpoint/error.hpp"

// xxHash, compiled in: XXH3 hashes a name of a few dozen bytes several
// times faster than std::hash.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace checkpoint::detail {
namespace {

constexpr std::uint32_t slot_of(std::uint64_t word) {
  return static_cast<std::uint32_t>(word >> 32);
}
constexpr std::uint32_t hash_of(std::uint64_t word) { return static_cast<std::uint32_t>(word); }

}  // namespace

LiveStates::Table::Table(std::size_t buckets)
    : mask(buckets - 1), words(new std::atomic<std::uint64_t>[buckets]) {
  for (std::size_t i = 0; i < buckets; ++i) words[i].store(0, std::memory_order_relaxed);
}

LiveStates::LiveStates() {
  tables_.push_back(std::make_unique<Table>(16));
  table_.store(tables_.back().get(), std::memory_order_release);
}

LiveStates::~LiveStates() {
  for (std::size_t i = 0, count = slot_count(); i < count; ++i) slot(i).~Slot();
  for (auto& segment : segments_) {
    ::operator delete (segment.load(std::memory_order_relaxed), std::align_val_t{alignof(Slot)});
  }
}

std::uint64_t LiveStates::hash(std::string_view name) {
  return XXH3_64bits(name.data(), name.size());
}

LiveStates::SlotAddress LiveStates::address_of(std::size_t index) {
  const std::size_t block = index / kFirstSegment + 1;
  const std::size_t k = static_cast<std::size_t>(std::bit_width(block)) - 1;
  return {k, index - kFirstSegment * ((std::size_t{1} << k) - 1)};
}

Slot& LiveStates::slot(std::size_t index) const {
  const SlotAddress at = address_of(index);
  return segments_[at.segment].load(std::memory_order_acquire)[at.offset];
}

Slot* LiveStates::find_locked(std::string_view name, std::uint64_t full_hash) const {
  const auto hash = static_cast<std::uint32_t>(full_hash);
  const Table& table = *table_.load(std::memory_order_acquire);
  // A probe that races a change may walk far; it then gives up.
  for (std::size_t i = hash & table.mask, steps = 0; steps <= table.mask;
       i = (i + 1) & table.mask, ++steps) {
    const std::uint64_t w = table.words[i].load(std::memory_order_acquire);
    if (w == 0) return nullptr;
    if (hash_of(w) != hash) continue;
    Slot& candidate = slot(slot_of(w) - 1);
    candidate.lock.lock();
    if (candidate.live && candidate.state.name == name) return &candidate;
    candidate.lock.unlock();
  }
  return nullptr;
}

std::size_t LiveStates::probe(const Table& table, std::string_view name, std::uint32_t hash) const {
  for (std::size_t i = hash & table.mask;; i = (i + 1) & table.mask) {
    const std::uint64_t w = table.words[i].load(std::memory_order_relaxed);
    if (w == 0) return i;
    if (hash_of(w) == hash && slot(slot_of(w) - 1).state.name == name) return i;
  }
}

Slot* LiveStates::find(std::string_view name, std::uint64_t full_hash) const {
  if (size_ == 0) return nullptr;
  const Table& table = *table_.load(std::memory_order_relaxed);
  const std::uint64_t w =
      table.words[probe(table, name, static_cast<std::uint32_t>(full_hash))].load(
          std::memory_order_relaxed);
  return w == 0 ? nullptr : &slot(slot_of(w) - 1);
}

Slot& LiveStates::insert(std::string_view name, std::uint64_t full_hash) {
  return place(name, static_cast<std::uint32_t>(full_hash), nullptr);
}

Slot& LiveStates::insert(EventLogState&& state, std::uint64_t full_hash) {
  return place(state.name, static_cast<std::uint32_t>(full_hash), &state);
}

Slot& LiveStates::place(std::string_view name, std::uint32_t hash, EventLogState* state) {
  if (2 * (size_ + 1) > table_.load(std::memory_order_relaxed)->mask + 1) grow();
  const std::uint32_t index = fill_slot(name, state);
  Slot& s = slot(index);
  const Table& table = *table_.load(std::memory_order_relaxed);
  table.words[probe(table, s.state.name, hash)].store(word(index + 1, hash),
                                                      std::memory_order_release);
  ++size_;
  return s;
}

void LiveStates::load(EventLogState&& state, std::uint64_t full_hash) {
  loaded_.push_back(word(fill_slot(state.name, &state, /*load=*/true) + 1,
                         static_cast<std::uint32_t>(full_hash)));
  ++size_;
}

void LiveStates::index_loaded() {
  if (loaded_.empty()) return;
  // A table at most half full, with the states already in it and the new.
  const Table& old = *table_.load(std::memory_order_relaxed);
  auto bigger = std::make_unique<Table>(std::bit_ceil(2 * size_));
  for (std::size_t j = 0; j <= old.mask; ++j) {
    if (const std::uint64_t w = old.words[j].load(std::memory_order_relaxed)) put(*bigger, w);
  }
  for (const std::uint64_t w : loaded_) put(*bigger, w);
  std::vector<std::uint64_t>().swap(loaded_);
  table_.store(bigger.get(), std::memory_order_release);
  if (!concurrent_) tables_.clear();
  tables_.push_back(std::move(bigger));
}

void LiveStates::put(const Table& table, std::uint64_t w) {
  std::size_t i = hash_of(w) & table.mask;
  while (table.words[i].load(std::memory_order_relaxed) != 0) i = (i + 1) & table.mask;
  table.words[i].store(w, std::memory_order_relaxed);
}

std::uint32_t LiveStates::fill_slot(std::string_view name, EventLogState* state, bool load) {
  if (!free_.empty() && !load) {
    const std::uint32_t index = free_.back();
    free_.pop_back();
    any_reused_.store(true, std::memory_order_relaxed);
    Slot& s = slot(index);
    // The name before the bucket: a lookup that finds the bucket must find
    // the slot ready (it locks it, which orders the two). Before
    // concurrent() there is no such lookup.
    if (concurrent_) s.lock.lock();
    if (state != nullptr) {
      s.state = std::move(*state);
    } else {
      s.state.name.assign(name);
      s.state.record_number = 0;
      s.state.timestamp = Timestamp();
      s.state.bookmark.clear();
      s.state.update_time = Timestamp();
    }
    s.live = true;
    s.loaded = false;
    if (concurrent_) s.lock.unlock();
    return index;
  }
  const std::size_t count = count_.load(std::memory_order_relaxed);
  if (count >= std::numeric_limits<std::uint32_t>::max() - 1) {
    throw Error(ErrorCode::invalid_argument, "Checkpoint: too many states");
  }
  // A segment's memory is allocated whole but each slot is made as it is
  // handed out, so that filling a table touches each slot's memory once.
  const SlotAddress at = address_of(count);
  Slot* segment = segments_[at.segment].load(std::memory_order_relaxed);
  if (segment == nullptr) {
    segment = static_cast<Slot*>(::operator new (sizeof(Slot) * (kFirstSegment << at.segment),
                                                 std::align_val_t{alignof(Slot)}));
    segments_[at.segment].store(segment, std::memory_order_release);
  }
  // Made whole before count_ and any bucket publish it (both with release
  // ordering): a walk or a lookup that finds it finds it ready.
  if (state != nullptr) {
    new (&segment[at.offset]) Slot(std::move(*state), load);
  } else {
    EventLogState fresh;
    fresh.name.assign(name);
    new (&segment[at.offset]) Slot(std::move(fresh), load);
  }
  // The next new slot's memory, for the next insert (which a loading store
  // makes some states later), if it lies in this segment.
  if (at.offset + 1 < kFirstSegment << at.segment) {
    __builtin_prefetch(&segment[at.offset + 1], 1);
    __builtin_prefetch(reinterpret_cast<const char*>(&segment[at.offset + 1]) + 64, 1);
  }
  count_.store(count + 1, std::memory_order_release);
  return static_cast<std::uint32_t>(count);
}

bool LiveStates::erase(std::string_view name, std::uint64_t full_hash) {
  if (size_ == 0) return false;
  const Table& table = *table_.load(std::memory_order_relaxed);
  std::size_t hole = probe(table, name, static_cast<std::uint32_t>(full_hash));
  const std::uint64_t w = table.words[hole].load(std::memory_order_relaxed);
  if (w == 0) return false;
  const std::uint32_t index = slot_of(w) - 1;
  // The slot keeps its last value until recycle() (a commit may still read
  // it), and its strings' buffers for the next insert.
  Slot& s = slot(index);
  s.lock.lock();
  s.live = false;
  s.generation = 0;
  s.change = nullptr;
  s.lock.unlock();
  released_.push_back(index);
  --size_;
  // Backward-shift deletion: move later buckets of the probe run into the
  // hole unless that would put them before their home bucket. A lookup
  // running meanwhile may miss an entry being moved: it then asks again
  // with the shard's mutex held.
  const std::size_t mask = table.mask;
  for (std::size_t i = (hole + 1) & mask;; i = (i + 1) & mask) {
    const std::uint64_t moved = table.words[i].load(std::memory_order_relaxed);
    if (moved == 0) break;
    const std::size_t home = hash_of(moved) & mask;
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      table.words[hole].store(moved, std::memory_order_release);
      hole = i;
    }
  }
  table.words[hole].store(0, std::memory_order_release);
  return true;
}

void LiveStates::recycle() {
  free_.insert(free_.end(), released_.begin(), released_.end());
  released_.clear();
}

void LiveStates::grow() {
  const Table& old = *table_.load(std::memory_order_relaxed);
  auto bigger = std::make_unique<Table>(2 * (old.mask + 1));
  for (std::size_t j = 0; j <= old.mask; ++j) {
    if (const std::uint64_t w = old.words[j].load(std::memory_order_relaxed)) put(*bigger, w);
  }
  table_.store(bigger.get(), std::memory_order_release);
  // Lookups running now may still read the old array: keep it if there can
  // be any.
  if (!concurrent_) tables_.clear();
  tables_.push_back(std::move(bigger));
}

}  // namespace checkpoint::detail
