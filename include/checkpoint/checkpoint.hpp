// Checkpoint: the front end that shippers use.
//
// persist() records a stream's position in memory and returns at once; a
// worker thread commits batches to the StateStore after `max_updates`
// changes or `flush_interval`, whichever comes first, and once more at
// shutdown(). Every method is safe to call from any thread.
//
// track() and ack() give at-least-once delivery: a record is track()ed when
// it is read and ack()ed when its outputs delivered it; a stream's position
// moves to the newest record with every earlier one acknowledged.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "checkpoint/clock.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/export.h"
#include "checkpoint/registry.hpp"
#include "checkpoint/state.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/timestamp.hpp"

namespace checkpoint {

namespace detail {
class Acks;
}

// A record handed to the outputs (Checkpoint::track()), to give back to
// Checkpoint::ack() once it was delivered. A small value: copy it, pass it
// to another thread, keep it with the record. A default-constructed Ticket
// is empty: ack() refuses it.
class Ticket {
 public:
  Ticket() = default;
  // False for a default-constructed Ticket.
  bool empty() const noexcept { return owner_ == 0; }
  friend bool operator==(const Ticket&, const Ticket&) = default;

 private:
  friend class detail::Acks;
  std::uint64_t owner_ = 0;       // the Checkpoint's id; 0: empty
  std::uint32_t stream_ = 0;      // the stream's index among the tracked streams
  std::uint32_t generation_ = 0;  // of that index: remove() starts a new one
  std::uint64_t sequence_ = 0;    // the record's place in its stream's read order
};

// What Checkpoint(uri) does when the store is damaged: Error{corrupt} as it
// is opened or loaded.
enum class CorruptPolicy {
  fail,     // throw the Error{corrupt}: recovery is the operator's choice (the default)
  salvage,  // move the store's files aside, start from what its salvage() read exactly
  reset,    // move the store's files aside, start empty
};

struct Options {
  // Commit once this many changes are pending (0 is taken as 1).
  std::size_t max_updates = 100;
  // Commit this long after the first unflushed change; clamped to >= 1 s.
  std::chrono::milliseconds flush_interval = std::chrono::seconds(5);
  // Checkpoint(uri) only: make the store if it does not exist (see
  // OpenOptions::create_if_missing). Off: a missing store is Error{not_found}.
  bool create_if_missing = true;
  // Called on the worker thread when a background commit fails (flush() and
  // shutdown() throw instead). The failed changes are kept and retried at
  // the next interval. What the callback throws is ignored. It may call any
  // method of the Checkpoint, shutdown() and the destructor included (see
  // shutdown()).
  std::function<void(const Error&)> on_error;
  // Drop the states of streams that went quiet: each commit removes the
  // states whose update_time (when a commit last changed them, kept by the
  // store across restarts) is older than the commit's update time minus
  // this, states loaded from the store included, unless a change of theirs
  // is pending. The first commit after a state expired removes it; commits
  // look at most once per flush_interval, and a look costs O(states) only
  // when some state is older than the cutoff. An idle Checkpoint commits
  // nothing, so it expires nothing until the next change (or the next
  // open). Zero (the default): never. A stream with records in flight
  // (track()) expires like any other; its next ack() sets it again.
  std::chrono::seconds expire_after{0};
  // Told each name that expired, on the thread that made the commit (the
  // worker, or the caller of flush() or shutdown()), without locks held: it
  // may call any method of the Checkpoint. What it throws is ignored.
  std::function<void(const std::string& name)> on_expire;
  // Checkpoint(uri) only. With salvage or reset, a damaged store is moved
  // aside, never deleted: each of its files (BackendInfo::files; the lock
  // file stays) renamed to FILE.corrupt-<UTC time, 20261126T174500Z>, or,
  // in a database of many stores (postgresql, BackendInfo::move_aside), the
  // store renamed to NAME.corrupt-<UTC time>; and the store made anew,
  // holding every state the backend's salvage() read exactly (salvage) or
  // none (reset). What was lost is reported once through on_error (an
  // Error{corrupt}, on the worker thread, as it starts) and in stats()
  // (corrupt_salvaged, corrupt_lost, corrupt_recovery). A backend with
  // neither (memory, whose stores are never damaged) throws the
  // Error{corrupt} as with fail.
  CorruptPolicy on_corrupt = CorruptPolicy::fail;
  // The clocks of flush_interval and of the commits' update times; null: the
  // system's. Tests give a ManualClock (checkpoint/clock.hpp) and move time
  // on by hand.
  std::shared_ptr<Clock> clock;
};

// What stats() reports; reading it takes O(1) (in_flight and acked_waiting:
// O(streams tracked)) and never waits for a commit.
struct Stats {
  std::uint64_t commits = 0, failed_commits = 0;  // store commits (a commit of nothing is none)
  std::size_t states = 0, pending = 0;            // pending: changed names not yet committed
  // track()ed records not yet ack()ed; ack()ed records held back because an
  // earlier record of their stream is not acknowledged yet.
  std::size_t in_flight = 0, acked_waiting = 0;
  std::uint64_t expired = 0;  // states removed by expire_after since the Checkpoint opened
  std::chrono::nanoseconds last_commit_duration{0};
  // Health, for alerting (checkpoint/metrics.hpp renders it): the longest
  // commit since the start, failed ones included; the wall-clock time of
  // the last successful commit (its update time; zero before the first); how long ago the
  // oldest change not committed yet was made (zero if none is pending; by
  // Options::clock). A stalled or failing store shows as a growing
  // oldest_change_age and a last_commit_time falling behind.
  std::chrono::nanoseconds max_commit_duration{0};
  Timestamp last_commit_time;
  std::chrono::nanoseconds oldest_change_age{0};
  std::string last_error;  // empty when the last commit succeeded
  // Options::on_corrupt moved a damaged store aside when it was opened:
  // the states it started from, what salvage() could not read (reset: 1,
  // the whole store), and a line saying what happened and where the
  // damaged files are. Zero and empty otherwise.
  std::size_t corrupt_salvaged = 0, corrupt_lost = 0;
  std::string corrupt_recovery;
};

class CHECKPOINT_API Checkpoint {
 public:
  // Opens the store for writing (Store::open(), which takes the writer
  // lock), loads it, and commits once to prove it writable. Throws what
  // opening, loading or that commit threw.
  explicit Checkpoint(std::string_view uri, Options options = {});
  // The same over a store opened for writing.
  Checkpoint(std::unique_ptr<Store> store, Options options = {});
  [[deprecated("a StateStore: port it to checkpoint::Store (store.hpp)")]] Checkpoint(
      std::unique_ptr<StateStore> store, Options options = {});
  // shutdown(), swallowing its error (reported via on_error). From on_error
  // itself, the final commit runs and the worker thread ends once the
  // callback returns.
  ~Checkpoint();

  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  // Records a position. Never waits for I/O, nor for persist() on other
  // names from other threads (states live in shards of their own). Empty
  // name, or name or bookmark not valid UTF-8: Error{invalid_argument};
  // after shutdown() began: Error{closed}.
  void persist(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
               std::string_view bookmark = {});
  void persist_state(EventLogState state);
  // Forgets a stream; a name not present is not an error. Errors as persist().
  // Its records in flight are dropped: ack() refuses their tickets.
  void remove(std::string_view name);

  // ---- At-least-once delivery ----------------------------------------------
  //
  // track() a record when it is read and handed to the outputs, in read
  // order per stream; ack() its ticket once it was delivered, from any
  // thread, in any order. When the oldest tracked records of a stream are
  // all acknowledged, the newest of them becomes the stream's state as
  // persist() would make it (and is committed the same way); a record not
  // acknowledged is never persisted, nor is any record tracked after it.
  // After a crash, reading resumes after the persisted position: records
  // delivered but held back by an earlier one are read and sent again
  // (at least once), none is skipped.
  //
  // track() never waits for I/O and costs O(1); memory is O(records in
  // flight). Empty name, or name or bookmark not valid UTF-8:
  // Error{invalid_argument}; after shutdown() began: Error{closed}.
  //
  // persist() on a stream with records in flight is Error{invalid_argument}:
  // it would move the position past records not yet delivered (a crash then
  // loses them), and a later ack() would move it back. Once they are all
  // acknowledged, persist() may set the stream again (to skip ahead, say).
  Ticket track(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
               std::string_view bookmark = {});
  // The record was delivered. Error{invalid_argument}, changing nothing: an
  // empty ticket, a ticket of another Checkpoint, one acknowledged already,
  // or one whose stream remove() dropped since. After shutdown() began:
  // Error{closed} (an ack() racing shutdown() is committed by it or
  // refused). O(1) amortised.
  void ack(const Ticket& ticket);

  StateMap states() const;
  std::optional<EventLogState> state(std::string_view name) const;

  // Commits everything pending now and waits; throws what the commit threw
  // (the changes stay pending). After shutdown(): Error{closed}.
  void flush();
  // Stops the worker, then commits what is pending. Idempotent: a second call
  // (from any thread) waits for the first, and only the first throws what
  // the final commit threw. states() and stats() keep working afterwards.
  void shutdown();

  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the worker thread
};

}  // namespace checkpoint
