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
  std::uint32_t change = 0;      // index of the pending change in that set
  bool live = false;             // holds a state (false: free, kept for its buffers)
};

class LiveStates {
 public:
  // The hash every function takes: computed once by a caller that needs it
  // for something else too (the front end picks a shard with it).
  static std::uint64_t hash(std::string_view name);

  // The slot of `name`, or nullptr. Slots never move: the pointer is valid
  // until the name is erased.
  Slot* find(std::string_view name, std::uint64_t hash);
  const Slot* find(std::string_view name, std::uint64_t hash) const;
  Slot* find(std::string_view name) { return find(name, hash(name)); }
  const Slot* find(std::string_view name) const { return find(name, hash(name)); }

  // A slot for `name`, which must be absent; its state holds the name and
  // default values otherwise.
  Slot& insert(std::string_view name, std::uint64_t hash);
  Slot& insert(std::string_view name) { return insert(name, hash(name)); }
  // A slot holding `state`, whose name must be absent; the state is moved.
  Slot& insert(EventLogState&& state, std::uint64_t hash);

  // Removes `name`'s slot; false if there was none.
  bool erase(std::string_view name, std::uint64_t hash);
  bool erase(std::string_view name) { return erase(name, hash(name)); }

  std::size_t size() const { return size_; }
  void reserve(std::size_t states);

  // Slots by index, live or free: slots never move and their number only
  // grows, so a walk in steps (the front end copies a few hundred at a time
  // under its lock) sees every slot that stayed live throughout.
  std::size_t slot_count() const { return slots_.size(); }
  const Slot& slot(std::size_t index) const { return slots_[index]; }

 private:
  struct Bucket {
    std::uint32_t slot = 0;  // index in slots_ plus one; 0: empty
    std::uint32_t hash = 0;  // the low 32 bits of the name's hash
  };

  // The bucket holding `name`, or the empty bucket where it would go.
  std::size_t probe(std::string_view name, std::uint32_t hash) const;
  void grow(std::size_t buckets);
  // A free slot (reused with its buffers) or a new one, placed in a bucket.
  Slot& place(std::string_view name, std::uint32_t hash);

  std::vector<Bucket> buckets_;      // a power of two in size, at most half full
  ChunkedVector<Slot> slots_;        // never moved: adding a name is O(1) at worst
  std::vector<std::uint32_t> free_;  // unused entries of slots_
  std::size_t size_ = 0;
};

}  // namespace checkpoint::detail
