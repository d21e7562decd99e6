// The front end's live states of one shard: every state by name, in a hash
// table built for persist()'s hot path (see checkpoint.cpp).
//
// Each slot has a lock of its own, in its own memory, so threads that
// persist different names touch different memory and never wait for each
// other. Finding a slot takes no lock at all: the buckets are atomic words
// and slots never move, so a lookup reads them while the table may change
// under it, then locks the slot it found and checks, under that lock, that
// it is live and has the name: a lookup that raced a change either finds
// the right slot or finds none (and the caller tries again under the
// shard's mutex, which every change of the table's structure holds).
//
// The table: open addressing, linear probing, backward-shift deletion (no
// tombstones), at most half full; each bucket holds a slot's index and the
// low 32 bits of its name's hash. Slots live in segments that double in
// size and never move. A bucket array replaced by a larger one stays
// allocated until the table is destroyed if lookups may still read it
// (after concurrent() was called); before that (while a Checkpoint loads
// its store) it is freed at once.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

struct Change;

// A lock for a few assignments: spins, then yields.
class SpinLock {
 public:
  void lock() noexcept {
    for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (spins++ > 64) std::this_thread::yield();
      }
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// A live state and, for the front end's change tracking, its pending
// change. Everything but `lock` is guarded by `lock`; changing whether the
// slot is live, or its name, also needs the shard's mutex. Slots begin on
// a cache line, so that threads updating neighbouring slots share none.
struct alignas(64) Slot {
  // A live slot holding `s`; `from_load`: LiveStates::load() put it there.
  Slot(EventLogState&& s, bool from_load) : live(true), loaded(from_load), state(std::move(s)) {}

  SpinLock lock;
  bool live = false;             // holds a state (false: free, kept for its buffers)
  bool loaded = false;           // its name is the one load() gave it (never reused since)
  EventLogState state;           // state.name is the key
  std::uint64_t generation = 0;  // the change set generation `change` belongs to
  Change* change = nullptr;      // the pending change in that set, if any
};

class LiveStates {
 public:
  LiveStates();
  ~LiveStates();
  LiveStates(const LiveStates&) = delete;
  LiveStates& operator=(const LiveStates&) = delete;

  // The hash every function takes: computed once by a caller that needs it
  // for something else too (the front end picks a shard with it).
  static std::uint64_t hash(std::string_view name);

  // ---- Without the shard's mutex ----

  // The live slot of `name`, locked, or nullptr (absent, or a change of the
  // table got in the way: ask again with the mutex held).
  Slot* find_locked(std::string_view name, std::uint64_t hash) const;

  // Slots by index, live or free: slots never move and their number only
  // grows, so a walk (lock each, look whether it is live) sees every slot
  // that stayed live throughout.
  std::size_t slot_count() const { return count_.load(std::memory_order_acquire); }
  Slot& slot(std::size_t index) const;

  // Whether a slot was ever reused for another name (after recycle()).
  bool any_reused() const { return any_reused_.load(std::memory_order_relaxed); }

  // ---- With the shard's mutex held ----

  // The slot of `name` (not locked), or nullptr.
  Slot* find(std::string_view name, std::uint64_t hash) const;
  Slot* find(std::string_view name) const { return find(name, hash(name)); }

  // A live slot for `name`, which must be absent, holding `name` and
  // default values; or holding `state`, moved. Not locked.
  Slot& insert(std::string_view name, std::uint64_t hash);
  Slot& insert(std::string_view name) { return insert(name, hash(name)); }
  Slot& insert(EventLogState&& state, std::uint64_t hash);

  // Loading, before concurrent(): adds `state`, whose name must be absent,
  // to the slots only, in the next new slot (marked `loaded`);
  // index_loaded() then puts all the states so added in the table at once,
  // in a table sized for them (a store loads its states faster so than one
  // insert() at a time). Nothing may look them up before.
  void load(EventLogState&& state, std::uint64_t hash);
  void index_loaded();

  // Removes `name`'s slot; false if there was none. The slot keeps its
  // name and last value, for a commit that may still read them, and is
  // reused only after recycle().
  bool erase(std::string_view name, std::uint64_t hash);
  bool erase(std::string_view name) { return erase(name, hash(name)); }

  std::size_t size() const { return size_; }

  // Makes the slots removed so far free for new names.
  void recycle();

  // From now on other threads may look up concurrently: replaced bucket
  // arrays are kept instead of freed, and slots are filled under their
  // locks.
  void concurrent() { concurrent_ = true; }

 private:
  struct Table {
    explicit Table(std::size_t buckets);
    std::size_t mask;
    std::unique_ptr<std::atomic<std::uint64_t>[]> words;  // slot index + 1 << 32 | hash; 0: empty
  };
  static std::uint64_t word(std::uint32_t slot_plus_one, std::uint32_t hash) {
    return std::uint64_t{slot_plus_one} << 32 | hash;
  }

  // The bucket holding `name`, or the empty bucket where it would go.
  std::size_t probe(const Table& table, std::string_view name, std::uint32_t hash) const;
  void grow();
  // A free slot (reused with its buffers) or a new one, placed in a bucket
  // and made live.
  Slot& place(std::string_view name, std::uint32_t hash, EventLogState* state);
  // A free slot or a new one, holding `name` and default values or `state`,
  // made live but in no bucket; its index. Always a new one if `load`.
  std::uint32_t fill_slot(std::string_view name, EventLogState* state, bool load = false);
  // Puts `w` in the empty bucket its probe run ends at.
  static void put(const Table& table, std::uint64_t w);

  // Segment k holds kFirstSegment << k slots, each made (constructed) when
  // it is handed out; slot i lives in the segment its index falls in.
  static constexpr std::size_t kFirstSegment = 64;
  struct SlotAddress {
    std::size_t segment, offset;
  };
  static SlotAddress address_of(std::size_t index);
  static constexpr std::size_t kSegments = 27;  // up to 2^32 slots
  std::array<std::atomic<Slot*>, kSegments> segments_{};
  std::atomic<std::size_t> count_{0};  // slots handed out

  std::atomic<Table*> table_;
  std::vector<std::unique_ptr<Table>> tables_;  // the current one last; the older ones retired
  std::vector<std::uint32_t> free_;             // free slots
  std::vector<std::uint32_t> released_;         // removed, not yet recycled
  std::vector<std::uint64_t> loaded_;           // the words of the states load() added
  std::size_t size_ = 0;
  bool concurrent_ = false;
  std::atomic<bool> any_reused_{false};
};

}  // namespace checkpoint::detail
