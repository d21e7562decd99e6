// Checkpoint: the front end that shippers use.
//
// persist() records a stream's position in memory and returns at once; a
// worker thread commits batches to the StateStore after `max_updates`
// changes or `flush_interval`, whichever comes first, and once more at
// shutdown(). Every method is safe to call from any thread.
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
  // The clock of flush_interval; null: the steady clock. Tests give a
  // ManualClock (checkpoint/clock.hpp) and move time on by hand.
  std::shared_ptr<Clock> clock;
};

// What stats() reports; reading it takes O(1) and never waits for a commit.
struct Stats {
  std::uint64_t commits = 0, failed_commits = 0;  // store commits (a commit of nothing is none)
  std::size_t states = 0, pending = 0;            // pending: changed names not yet committed
  std::chrono::nanoseconds last_commit_duration{0};
  std::string last_error;  // empty when the last commit succeeded
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
  void remove(std::string_view name);

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
