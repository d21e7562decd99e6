#include "core/acks.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include "checkpoint/error.hpp"
#include "core/live_states.hpp"
#include "core/state_check.hpp"

namespace checkpoint::detail {
namespace {

std::atomic<std::uint64_t> next_id{1};

// The stream a thread's track() found last: a reader of one stream finds it
// again by comparing its name, without hashing it or taking a shard's mutex.
// Under the stream's lock, `generation` tells whether it is still that
// stream; `owner` (ids are never reused) whether it is this Checkpoint's.
struct LastStream {
  std::uint64_t owner = 0;
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  std::string name;
};
thread_local LastStream last_stream;

}  // namespace

std::size_t Acks::KeyHash::operator()(const std::string& name) const {
  return LiveStates::hash(name);
}

Acks::Acks(AckSink& sink) : sink_(sink), id_(next_id.fetch_add(1)) {}

Acks::~Acks() {
  const std::uint32_t count = count_.load(std::memory_order_acquire);
  for (std::size_t k = 0; k < kSegments; ++k) {
    const std::size_t first = (kFirstSegment << k) - kFirstSegment;
    if (first >= count) break;
    delete[] segments_[k].load(std::memory_order_relaxed);
  }
}

Acks::Stream& Acks::stream(std::uint32_t index) const {
  // Segment k holds indexes [16 * (2^k - 1), 16 * (2^(k+1) - 1)).
  const std::size_t k = static_cast<std::size_t>(std::bit_width(index / kFirstSegment + 1)) - 1;
  const std::size_t first = (kFirstSegment << k) - kFirstSegment;
  return segments_[k].load(std::memory_order_acquire)[index - first];
}

void Acks::publish(Stream& s) {
  s.shown_in_flight.store(s.tail - s.head - s.waiting, std::memory_order_relaxed);
  s.shown_waiting.store(s.waiting, std::memory_order_relaxed);
}

void Acks::refuse(const std::string& what) { throw Error(ErrorCode::invalid_argument, what); }

// ---- track() ----------------------------------------------------------------

Ticket Acks::track(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
                   std::string_view bookmark) {
  LastStream& last = last_stream;
  if (last.owner == id_ && last.name == name) {
    Stream& s = stream(last.index);
    StreamGuard lock(s.mutex);
    if (s.live && s.generation == last.generation) {
      return push(s, last.index, record_number, timestamp, bookmark);
    }
  }
  const std::uint64_t hash = LiveStates::hash(name);
  Shard& shard = shard_of(shards_, hash);
  MutexLock shard_lock(shard.mutex);
  const Key key{name, hash};
  Stream* found = find(shard, key);
  Stream& s = found != nullptr ? *found : add(shard, key);
  StreamGuard lock(s.mutex);
  Ticket ticket = push(s, s.index, record_number, timestamp, bookmark);
  // Remembered once the entry is in: a failure above leaves `last` as it was.
  last.owner = 0;
  last.name.assign(name);
  last.index = s.index;
  last.generation = s.generation;
  last.owner = id_;
  return ticket;
}

Acks::Stream* Acks::find(Shard& shard, const Key& key) {
  auto it = shard.streams.find(key);
  return it == shard.streams.end() ? nullptr : &stream(it->second);
}

Acks::Stream& Acks::add(Shard& shard, const Key& key) {
  check_name("Checkpoint", key.name);  // a known name was checked when it was added
  std::uint32_t index = 0;
  {
    MutexLock lock(index_mutex_);
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = count_.load(std::memory_order_relaxed);
      const std::size_t k = static_cast<std::size_t>(std::bit_width(index / kFirstSegment + 1)) - 1;
      if (segments_[k].load(std::memory_order_relaxed) == nullptr) {
        auto* segment = new Stream[kFirstSegment << k];
        for (std::size_t i = 0; i < (kFirstSegment << k); ++i) {
          segment[i].index = static_cast<std::uint32_t>((kFirstSegment << k) - kFirstSegment + i);
        }
        segments_[k].store(segment, std::memory_order_release);
      }
      // So that release() never fails to give the index back.
      free_.reserve(static_cast<std::size_t>(index) + 1);
      count_.store(index + 1, std::memory_order_release);
    }
  }
  Stream& s = stream(index);
  try {
    shard.streams.emplace(std::string(key.name), index);
  } catch (...) {
    MutexLock lock(index_mutex_);
    free_.push_back(index);  // reserved by the pop or the count above
    throw;
  }
  StreamGuard lock(s.mutex);
  s.name.assign(key.name);
  s.hash = key.hash;
  s.live = true;
  s.head = s.tail = s.peak = s.waiting = 0;
  tracked_.fetch_add(1, std::memory_order_release);
  return s;
}

Ticket Acks::push(Stream& s, std::uint32_t index, std::uint64_t record_number, Timestamp timestamp,
                  std::string_view bookmark) {
  if (s.tail - s.head == s.ring.size()) grow(s);
  Entry& entry = s.ring[s.tail & (s.ring.size() - 1)];
  entry.bookmark.assign(bookmark);  // first: it may throw (memory)
  entry.record_number = record_number;
  entry.timestamp = timestamp;
  entry.acked = false;
  Ticket ticket;
  ticket.owner_ = id_;
  ticket.stream_ = index;
  ticket.generation_ = s.generation;
  ticket.sequence_ = s.tail++;
  s.peak = std::max(s.peak, s.tail - s.head);
  publish(s);
  return ticket;
}

// Doubles the ring (kMinRing entries at first), keeping the entries in
// flight at the places their sequences give them.
void Acks::grow(Stream& s) {
  const std::size_t size = std::max(kMinRing, s.ring.size() * 2);
  std::vector<Entry> ring(size);
  for (std::uint64_t seq = s.head; seq != s.tail; ++seq) {
    ring[seq & (size - 1)] = std::move(s.ring[seq & (s.ring.size() - 1)]);
  }
  s.ring = std::move(ring);
}

// Once the ring has drained: a ring four times larger than the most
// entries it held since its last resize gives the excess back, so that
// one burst does not keep its memory for ever.
void Acks::shrink(Stream& s) {
  if (s.ring.size() <= kMinRing || s.peak * 4 > s.ring.size()) return;
  const std::size_t size = std::max<std::size_t>(kMinRing, std::bit_ceil(s.peak * 2));
  std::vector<Entry>(size).swap(s.ring);
  s.peak = 0;
}

// ---- ack() ------------------------------------------------------------------

void Acks::ack(const Ticket& ticket) {
  if (ticket.owner_ == 0) {
    refuse("Checkpoint: ack(): ticket is empty (default-constructed, not returned by track())");
  }
  if (ticket.owner_ != id_ || ticket.stream_ >= count_.load(std::memory_order_acquire)) {
    refuse("Checkpoint: ack(): ticket was returned by another Checkpoint's track()");
  }
  Stream& s = stream(ticket.stream_);
  StreamGuard lock(s.mutex);
  if (!s.live || s.generation != ticket.generation_) {
    refuse(
        "Checkpoint: ack(): ticket's stream was removed by remove() after track(): its "
        "records in flight were dropped");
  }
  const std::uint64_t seq = ticket.sequence_;
  if (seq >= s.tail) {  // only a ticket made up by hand
    refuse("Checkpoint: ack(): ticket's record of \"" + s.name + "\" was never tracked");
  }
  const std::uint64_t mask = s.ring.size() - 1;
  if (seq < s.head) {
    refuse("Checkpoint: ack(): ticket was acknowledged already (a record of \"" + s.name +
           "\" tracked " + std::to_string(s.tail - seq) + " records ago)");
  }
  if (s.ring[seq & mask].acked) {
    refuse("Checkpoint: ack(): ticket was acknowledged already (record " +
           std::to_string(s.ring[seq & mask].record_number) + " of \"" + s.name + "\")");
  }
  if (seq != s.head) {
    // Held back by an earlier record in flight.
    s.ring[seq & mask].acked = true;
    ++s.waiting;
    publish(s);
    return;
  }
  // The head: it and the acknowledged entries after it are released.
  std::uint64_t end = seq + 1;
  while (end != s.tail && s.ring[end & mask].acked) ++end;
  const Entry& newest = s.ring[(end - 1) & mask];
  // What the sink throws (Error{closed} after shutdown(), memory) leaves
  // the entry unacknowledged and the head where it was.
  sink_.persist_acked(s.name, s.hash, newest.record_number, newest.timestamp, newest.bookmark);
  s.head = end;
  s.waiting -= end - seq - 1;
  publish(s);
  if (s.head == s.tail) shrink(s);
}

// ---- remove() ----------------------------------------------------------------

void Acks::release(Stream& s) {
  s.live = false;
  ++s.generation;  // its tickets are refused from now on
  s.head = s.tail = s.peak = s.waiting = 0;
  publish(s);
  std::vector<Entry>().swap(s.ring);
  std::string().swap(s.name);
  tracked_.fetch_sub(1, std::memory_order_release);
  MutexLock lock(index_mutex_);
  free_.push_back(s.index);  // cannot fail: reserved by add()
}

// ---- stats() ----------------------------------------------------------------

std::size_t Acks::in_flight() const {
  std::uint64_t sum = 0;
  const std::uint32_t count = count_.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < count; ++i) {
    sum += stream(i).shown_in_flight.load(std::memory_order_relaxed);
  }
  return static_cast<std::size_t>(sum);
}

std::size_t Acks::acked_waiting() const {
  std::uint64_t sum = 0;
  const std::uint32_t count = count_.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < count; ++i) {
    sum += stream(i).shown_waiting.load(std::memory_order_relaxed);
  }
  return static_cast<std::size_t>(sum);
}

}  // namespace checkpoint::detail
