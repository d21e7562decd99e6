// Delivery acknowledgements: the records of each stream that were
// track()ed and not yet released to persist(), for Checkpoint::track() and
// Checkpoint::ack() (include/checkpoint/checkpoint.hpp).
//
// Each tracked stream has a ring of entries in read order, numbered by a
// sequence: [head, tail) are in flight, each with an `acked` flag. ack()
// sets its entry's flag; when that entry is the head, the head moves past
// every acknowledged entry, and the newest of them goes to the front end's
// persist path (AckSink), under the stream's lock, so that positions reach
// the front end in order whichever threads acknowledge. The ring doubles
// when full and shrinks when it drains far below its size: memory is
// O(records in flight), never O(records read).
//
// Streams live in segments that never move, found by name through a hash
// map in one of kShards shards (track(), persist(), remove()), or by the
// index a Ticket carries (ack(): no lookup at all). A Ticket names its
// Checkpoint (an id never reused in the process), its stream's index and
// the generation of that index (remove() ends it: the index may then serve
// another name), and its sequence. track() keeps, per thread, the last
// stream it found, so that a reader of one stream finds it without hashing
// or a shard's mutex.
//
// Locks, in the order they may be taken: a shard's mutex, a stream's lock
// (StreamLock, which spins: it is held for a few assignments), then the
// front end's (taken by the AckSink and the callbacks of guarded() and
// dropped()); `index_mutex_` last, alone. ack() takes only its stream's
// lock. None is held across I/O. The counts stats() reports are kept per
// stream and copied, under the stream's lock, to atomics that stats() adds
// up: the hot paths make no read-modify-write of a counter shared by all.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/timestamp.hpp"
#include "core/live_states.hpp"
#include "core/mutex.hpp"
#include "core/thread_annotations.hpp"

namespace checkpoint::detail {

// Where a stream's newest acknowledged position goes: the front end's
// persist path. Called with the stream's lock held.
class AckSink {
 public:
  virtual void persist_acked(std::string_view name, std::uint64_t hash, std::uint64_t record_number,
                             Timestamp timestamp, std::string_view bookmark) = 0;

 protected:
  ~AckSink() = default;
};

// A stream's lock: held for a few assignments (and the front end's persist
// path, itself a few assignments), so it spins rather than sleep, pausing
// between looks (a reader and an acknowledging thread take it in turns),
// and yields only after a long wait; known to the thread-safety analysis.
class CAPABILITY("mutex") StreamLock {
 public:
  void lock() ACQUIRE() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    for (int spins = 0;; ++spins) {
      if (!locked_.load(std::memory_order_relaxed) &&
          !locked_.exchange(true, std::memory_order_acquire)) {
        return;
      }
      if (spins < 500) {
        pause();
      } else {
        std::this_thread::yield();
      }
    }
  }
  void unlock() RELEASE() { locked_.store(false, std::memory_order_release); }

 private:
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  std::atomic<bool> locked_{false};
};

class SCOPED_CAPABILITY StreamGuard {
 public:
  explicit StreamGuard(StreamLock& lock) ACQUIRE(lock) : lock_(lock) { lock_.lock(); }
  ~StreamGuard() RELEASE() { lock_.unlock(); }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  StreamLock& lock_;
};

class Acks {
 public:
  // `hash` (below) is LiveStates::hash(name), which the front end computes
  // anyway; `sink` must outlive this.
  explicit Acks(AckSink& sink);
  ~Acks();
  Acks(const Acks&) = delete;
  Acks& operator=(const Acks&) = delete;

  // A new entry at the tail of the stream's ring, the stream made if it is
  // new (its name checked then). The caller has checked the bookmark.
  Ticket track(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
               std::string_view bookmark);

  // Marks the ticket's entry acknowledged and releases the acknowledged
  // head of its stream to the sink. Error{invalid_argument} for a ticket
  // that is empty, of another Acks, acknowledged already or of a removed
  // stream; what the sink throws leaves the entry unacknowledged.
  void ack(const Ticket& ticket);

  // Runs `set` (persist()) unless the stream has records in flight, which
  // is Error{invalid_argument}; with the stream's lock held when the stream
  // is tracked, so that it cannot interleave with an ack()'s release.
  template <typename Set>
  void guarded(std::string_view name, std::uint64_t hash, Set&& set);

  // Runs `erase` (remove()) and drops the stream's entries: its tickets are
  // refused from now on.
  template <typename Erase>
  void dropped(std::string_view name, std::uint64_t hash, Erase&& erase);

  // For stats(): O(streams tracked at once), never waits.
  std::size_t in_flight() const;
  std::size_t acked_waiting() const;

 private:
  struct Entry {
    std::uint64_t record_number = 0;
    Timestamp timestamp;
    std::string bookmark;
    bool acked = false;
  };

  struct Stream {
    StreamLock mutex;
    // Fixed while the stream is live (set under the shard's and this mutex).
    std::uint32_t index = 0;  // its own, set once when it is made
    std::string name GUARDED_BY(mutex);
    std::uint64_t hash GUARDED_BY(mutex) = 0;
    bool live GUARDED_BY(mutex) = false;
    std::uint32_t generation GUARDED_BY(mutex) = 0;  // moved on by remove()
    std::uint64_t head GUARDED_BY(mutex) = 0;        // oldest entry in flight
    std::uint64_t tail GUARDED_BY(mutex) = 0;        // the next entry's sequence
    std::uint64_t peak GUARDED_BY(mutex) = 0;        // most entries in flight since a resize
    std::uint64_t waiting GUARDED_BY(mutex) = 0;     // entries acknowledged, not released
    std::vector<Entry> ring GUARDED_BY(mutex);       // a power of two entries, or none
    // Copies of the counts for stats(), stored under the lock (plain stores:
    // no read-modify-write on the hot path), read without it.
    std::atomic<std::uint64_t> shown_in_flight{0}, shown_waiting{0};
  };

  // The stream map's key: a name with its hash, so a lookup hashes nothing.
  struct Key {
    std::string_view name;
    std::uint64_t hash;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const Key& key) const { return key.hash; }
    std::size_t operator()(const std::string& name) const;
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(const std::string& a, const std::string& b) const { return a == b; }
    bool operator()(const Key& a, const std::string& b) const { return a.name == b; }
    bool operator()(const std::string& a, const Key& b) const { return a == b.name; }
  };

  struct alignas(64) Shard {
    Mutex mutex;
    std::unordered_map<std::string, std::uint32_t, KeyHash, KeyEqual> streams GUARDED_BY(mutex);
  };

  static constexpr std::size_t kShardBits = 4;
  static constexpr std::size_t kShards = std::size_t{1} << kShardBits;
  // Segment k holds kFirstSegment << k streams.
  static constexpr std::size_t kFirstSegment = 16;
  static constexpr std::size_t kSegments = 28;
  static constexpr std::size_t kMinRing = 16;

  static Shard& shard_of(std::array<Shard, kShards>& shards, std::uint64_t hash) {
    return shards[hash >> (64 - kShardBits)];
  }
  Stream& stream(std::uint32_t index) const;
  // The live stream of `key` (not locked), or nullptr. A stream stays live
  // while the shard's mutex is held: remove() takes it.
  Stream* find(Shard& shard, const Key& key) REQUIRES(shard.mutex);
  // A new live stream for `key`, in the shard's map.
  Stream& add(Shard& shard, const Key& key) REQUIRES(shard.mutex);
  // Appends an entry to the locked stream; its ticket.
  Ticket push(Stream& s, std::uint32_t index, std::uint64_t record_number, Timestamp timestamp,
              std::string_view bookmark) REQUIRES(s.mutex);
  // Ends a stream removed from its shard's map: its entries are dropped,
  // its index goes to the free list under a new generation.
  void release(Stream& s) REQUIRES(s.mutex);
  static void grow(Stream& s) REQUIRES(s.mutex);
  static void shrink(Stream& s) REQUIRES(s.mutex);
  // Shows the stream's counts to stats().
  static void publish(Stream& s) REQUIRES(s.mutex);
  [[noreturn]] static void refuse(const std::string& what);

  AckSink& sink_;
  const std::uint64_t id_;  // this Acks' id, in its tickets; never 0, never reused
  std::array<Shard, kShards> shards_;

  Mutex index_mutex_;  // taken with a shard's mutex held, to hand out indexes
  std::vector<std::uint32_t> free_ GUARDED_BY(index_mutex_);
  std::atomic<std::uint32_t> count_{0};  // stream indexes handed out
  std::array<std::atomic<Stream*>, kSegments> segments_{};
  std::atomic<std::size_t> tracked_{0};  // live streams: persist() looks only if any
};

// ---- Templates ------------------------------------------------------------

template <typename Set>
void Acks::guarded(std::string_view name, std::uint64_t hash, Set&& set) {
  if (tracked_.load(std::memory_order_acquire) == 0) {
    set();
    return;
  }
  Shard& shard = shard_of(shards_, hash);
  MutexLock shard_lock(shard.mutex);
  Stream* found = find(shard, Key{name, hash});
  if (found == nullptr) {
    set();
    return;
  }
  Stream& s = *found;
  StreamGuard lock(s.mutex);
  if (const std::uint64_t in_flight = s.tail - s.head; in_flight != 0) {
    refuse("Checkpoint: persist(): name \"" + std::string(name) + "\" has " +
           std::to_string(in_flight) +
           " records in flight (track()ed, not all ack()ed): persist() would move its "
           "position past records not yet delivered");
  }
  set();
}

template <typename Erase>
void Acks::dropped(std::string_view name, std::uint64_t hash, Erase&& erase) {
  if (tracked_.load(std::memory_order_acquire) == 0) {
    erase();
    return;
  }
  Shard& shard = shard_of(shards_, hash);
  MutexLock shard_lock(shard.mutex);
  Stream* found = find(shard, Key{name, hash});
  if (found == nullptr) {
    erase();
    return;
  }
  Stream& s = *found;
  StreamGuard lock(s.mutex);
  erase();
  shard.streams.erase(s.name);
  release(s);
}

}  // namespace checkpoint::detail
