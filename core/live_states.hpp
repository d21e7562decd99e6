// The front end's live states: every state by name, in a hash table built
// for persist()'s hot path, where one call costs one hash of the name and
// usually one probe.
//
// std::unordered_map was the first choice; with a transparent string_view
// hasher, libstdc++ does not cache hash codes and hashes the neighbouring
// keys again on every lookup, which cost more than the rest of persist()
// together. This table stores each slot's hash bits next to its index in a
// flat array (open addressing, linear probing, backward-shift deletion, so
// no tombstones), and keeps the slots themselves in chunks whose freed
// entries are reused with their string buffers.
//
// Growing the flat array is the one O(states) step: when the number of
// names doubles past a power of two, the new name's insert() moves every
// bucket (8 bytes each, no rehashing: about 10 ms for a million names).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "checkpoint/state.hpp"
#include "core/chunked_vector.hpp"

namespace checkpoint::detail {

// A live state and, for the front end's change tracking, where its pending
// change sits (see checkpoint.cpp).
struct Slot {
  EventLogState state;           // state.name is the key
  std::uint64_t generation = 0;  // the change set generation `change` belongs to
  std::size_t change = 0;        // index of the pending change in that set
};

class LiveStates {
 public:
  // The slot of `name`, or nullptr. Slots never move: the pointer is valid
  // until the name is erased.
  Slot* find(std::string_view name);
  const Slot* find(std::string_view name) const;

  // A slot for `name`, which must be absent; its state holds the name and
  // default values otherwise.
  Slot& insert(std::string_view name);

  // Removes `name`'s slot; false if there was none.
  bool erase(std::string_view name);

  std::size_t size() const { return size_; }
  void reserve(std::size_t states);

  // Calls visit(const Slot&) for every slot, in no particular order.
  template <typename Visit>
  void for_each(Visit visit) const {
    for (const Bucket& bucket : buckets_) {
      if (bucket.slot != 0) visit(slots_[bucket.slot - 1]);
    }
  }

 private:
  struct Bucket {
    std::uint32_t slot = 0;  // index in slots_ plus one; 0: empty
    std::uint32_t hash = 0;  // the low 32 bits of the name's hash
  };

  static std::uint32_t hash_of(std::string_view name);
  // The bucket holding `name`, or the empty bucket where it would go.
  std::size_t probe(std::string_view name, std::uint32_t hash) const;
  void grow(std::size_t buckets);

  std::vector<Bucket> buckets_;      // a power of two in size, at most half full
  ChunkedVector<Slot> slots_;        // never moved: adding a name is O(1) at worst
  std::vector<std::uint32_t> free_;  // unused entries of slots_
  std::size_t size_ = 0;
};

}  // namespace checkpoint::detail
