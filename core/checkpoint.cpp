// The front end: Checkpoint (include/checkpoint/checkpoint.hpp).
//
// The map of this file (the design; clang checks the locking with
// -Wthread-safety, see core/thread_annotations.hpp):
//
// States live in kShards shards, chosen by the high bits of the name's
// hash. A shard's mutex guards its live states (every state, committed or
// not), its change set (what changed since the commit side last took it)
// and its generation; it is held for a lookup and a few assignments, never
// across I/O, and never two at a time. persist() on different names from
// different threads therefore rarely waits for each other.
//
// Locks, in the order they may be taken: `shutdown_mutex` (external
// shutdown() calls), `commit_mutex` (serialises commits, held while the
// store writes), a shard's mutex, `control` (the timer, the flags, the
// statistics). persist() takes its shard's mutex, and `control` only when a
// change starts a batch or reaches max_updates (to wake the worker); the
// counters it bumps otherwise are atomics.
//
// A commit (worker, flush(), shutdown()): under `commit_mutex`, reset the
// triggers, then swap each shard's change set out (O(1) each) and start a
// new generation there; outside every shard lock, copy the changes into a
// sorted Batch, merge the changes of earlier failed commits under it, and
// hand it to Store::commit(). Nothing changed since the last successful
// commit: no store call at all. A failed commit keeps its batch for the
// next one; a failure before the store was called (memory) keeps the taken
// change sets, which the next commit builds again.
//
// states() copies each shard's states a few hundred at a time, taking the
// shard's lock for each step, so persist() waits microseconds at most; it
// merges the shards' copies into the map outside every lock.
#include "checkpoint/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/change_set.hpp"
#include "core/commit_batch.hpp"
#include "core/legacy_adapter.hpp"
#include "core/live_states.hpp"
#include "core/mutex.hpp"
#include "core/scan_check.hpp"
#include "core/state_check.hpp"
#include "core/utf8.hpp"

namespace checkpoint {
namespace {

using detail::Batch;
using detail::BatchNames;
using detail::Change;
using detail::ChangeSet;
using detail::CondVar;
using detail::LiveStates;
using detail::Mutex;
using detail::MutexLock;
using detail::Slot;

constexpr std::size_t kShardBits = 6;
constexpr std::size_t kShards = std::size_t{1} << kShardBits;
// States copied by states() per hold of a shard's lock: tens of microseconds.
constexpr std::size_t kCopyStep = 256;

std::size_t shard_of(std::uint64_t hash) {
  return static_cast<std::size_t>(hash >> (64 - kShardBits));
}

// Calls the user's error callback; what it throws must not end the worker
// thread (and with it the process).
void report(const Options& options, const Error& error) noexcept {
  if (!options.on_error) return;
  try {
    options.on_error(error);
  } catch (...) {
  }
}

[[noreturn]] void throw_closed(const char* what) {
  throw Error(ErrorCode::closed, std::string("Checkpoint: ") + what + " after shutdown()");
}

struct alignas(64) Shard {
  mutable Mutex mutex;
  LiveStates live GUARDED_BY(mutex);
  ChangeSet changes GUARDED_BY(mutex);
  std::uint64_t generation GUARDED_BY(mutex) = 1;  // of `changes`; a new one at every swap
  bool closed GUARDED_BY(mutex) = false;           // shutdown() has begun: refuse changes
  // The names of the batch in flight or waiting for a retry, so that a name
  // changed again is counted once in stats().pending.
  std::shared_ptr<const BatchNames> inflight GUARDED_BY(mutex);
  // Read by stats() without the lock; written with it.
  std::atomic<std::size_t> size{0};   // live.size()
  std::atomic<std::size_t> fresh{0};  // entries of `changes` whose name is not in `inflight`
};

}  // namespace

struct Checkpoint::Impl {
  // Set in the constructor, then read-only (the store: used under
  // commit_mutex, or before the worker starts).
  std::unique_ptr<Store> store;
  const std::string label;  // "Checkpoint on STORE" or "Checkpoint", for messages
  Options options;
  std::shared_ptr<Clock> clock;

  std::array<Shard, kShards> shards;

  // What wakes the worker, bumped by persist() without a lock. A change is
  // recorded before these are touched, and the commit side resets them
  // before it swaps the change sets, so every change of the next batch is
  // counted and armed after the reset.
  std::atomic<std::size_t> updates{0};        // persist()/remove() calls since the last reset
  std::atomic<bool> armed{false};             // `due` is set for the changes since the reset
  std::atomic<bool> closed{false};            // shutdown() has begun
  std::atomic<std::size_t> inflight_size{0};  // names in the batch in flight or waiting

  mutable Mutex control;
  CondVar wake;                                              // waited on with `control`
  std::optional<Clock::time_point> due GUARDED_BY(control);  // when the changes must be committed
  bool stopping GUARDED_BY(control) = false;                 // the worker is told to exit
  Stats stats GUARDED_BY(control);

  Mutex commit_mutex;
  std::array<ChangeSet, kShards> taken GUARDED_BY(commit_mutex);  // swapped out; empty between
  bool taken_unbuilt GUARDED_BY(commit_mutex) = false;  // taken holds changes yet to be batched
  Batch retry GUARDED_BY(commit_mutex);                 // changes of failed commits
  bool final_done GUARDED_BY(commit_mutex) = false;     // the final commit ran

  std::mutex shutdown_mutex;  // makes a second external shutdown() wait for the first
  bool shut_down = false;     // guarded by `shutdown_mutex`

  std::thread worker;
  std::thread::id worker_id;

  Impl(std::unique_ptr<Store> s, std::string l, Options o)
      : store(std::move(s)), label(std::move(l)), options(std::move(o)) {
    if (!store) throw Error(ErrorCode::invalid_argument, "Checkpoint: store is null");
    if (options.max_updates == 0) options.max_updates = 1;
    options.flush_interval =
        std::max<std::chrono::milliseconds>(options.flush_interval, std::chrono::seconds(1));
    clock = options.clock ? options.clock : steady_clock();
    load();
    MutexLock commit_lock(commit_mutex);
    commit_locked(/*even_if_idle=*/true);  // proves the store writable; throws if it is not
  }

  // Starts the worker, which holds `self` until it returns: a Checkpoint
  // destroyed from its own on_error callback leaves the worker to free it.
  static void start(const std::shared_ptr<Impl>& self) {
    self->worker = std::thread([self] { self->run(); });
    self->worker_id = self->worker.get_id();
  }

  bool on_worker() const { return std::this_thread::get_id() == worker_id; }

  // Reads the store into the shards, holding each state to the contract
  // (name order, unique UTF-8 names), since everything after relies on it.
  void load() {
    detail::ScanCheck check(label);
    try {
      store->scan([&](EventLogState&& state) {
        if (auto problem = check.problem(state)) throw Error(ErrorCode::corrupt, *problem);
        const std::uint64_t hash = LiveStates::hash(state.name);
        Shard& shard = shards[shard_of(hash)];
        MutexLock lock(shard.mutex);
        shard.live.insert(std::move(state), hash);
        shard.size.store(shard.live.size(), std::memory_order_relaxed);
      });
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      // Not necessarily damage (std::bad_alloc is a std::exception too).
      throw Error(ErrorCode::io, label + ": loading failed: " + e.what());
    } catch (...) {
      throw Error(ErrorCode::io, label + ": loading failed: the store threw an unknown exception");
    }
  }

  // ---- persist() and remove() --------------------------------------------

  // Sets a state in its shard's live states and change set. The strings are
  // assigned in place where the entries exist, so a steady stream of
  // updates to known names allocates nothing.
  void upsert(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
              std::string_view bookmark) {
    const std::uint64_t hash = LiveStates::hash(name);
    Shard& shard = shards[shard_of(hash)];
    {
      MutexLock lock(shard.mutex);
      if (shard.closed) throw_closed("persist()");
      Slot* found = shard.live.find(name, hash);
      Slot& slot = found != nullptr ? *found : add_slot(shard, name, hash);
      slot.state.record_number = record_number;
      slot.state.timestamp = timestamp;
      slot.state.bookmark.assign(bookmark);
      Change& change = change_of(shard, slot, hash);
      change.removed = false;
      change.state.record_number = record_number;
      change.state.timestamp = timestamp;
      change.state.bookmark.assign(bookmark);
    }
    note_update();
  }

  void erase(std::string_view name) {
    const std::uint64_t hash = LiveStates::hash(name);
    Shard& shard = shards[shard_of(hash)];
    {
      MutexLock lock(shard.mutex);
      if (shard.closed) throw_closed("remove()");
      Slot* slot = shard.live.find(name, hash);
      if (slot == nullptr) return;  // absent, or its removal is already pending
      Change& change = change_of(shard, *slot, hash);
      change.removed = true;
      shard.changes.removed.emplace(name, slot->change);
      shard.live.erase(name, hash);
      shard.size.store(shard.live.size(), std::memory_order_relaxed);
    }
    note_update();
  }

  // A slot for a name not in the shard. An empty name or one that is not
  // UTF-8: Error{invalid_argument}, and nothing changes.
  Slot& add_slot(Shard& shard, std::string_view name, std::uint64_t hash) REQUIRES(shard.mutex) {
    detail::check_name("Checkpoint", name);
    Slot& slot = shard.live.insert(name, hash);
    shard.size.store(shard.live.size(), std::memory_order_relaxed);
    if (!shard.changes.removed.empty()) {
      // Removed earlier in this generation: it takes its entry back.
      if (auto removed = shard.changes.removed.find(name); removed != shard.changes.removed.end()) {
        slot.generation = shard.generation;
        slot.change = removed->second;
        shard.changes.removed.erase(removed);
      }
    }
    return slot;
  }

  // The slot's entry in the shard's change set, made if it has none yet.
  Change& change_of(Shard& shard, Slot& slot, std::uint64_t hash) REQUIRES(shard.mutex) {
    if (slot.generation == shard.generation) return shard.changes.entries[slot.change];
    slot.generation = shard.generation;
    Change& change = shard.changes.add(slot.state.name, slot.change);
    if (!shard.inflight || !shard.inflight->contains(hash)) {
      shard.fresh.fetch_add(1, std::memory_order_relaxed);
    }
    return change;
  }

  void note_update() EXCLUDES(control) {
    if (!armed.load(std::memory_order_acquire) && !armed.exchange(true)) {
      MutexLock lock(control);
      if (!due) due = clock->now() + options.flush_interval;
      wake.notify_one();  // the worker may be waiting without a deadline
    }
    if (updates.fetch_add(1, std::memory_order_acq_rel) + 1 == options.max_updates) {
      MutexLock lock(control);  // so the worker cannot miss the wakeup
      wake.notify_one();
    }
  }

  // ---- Commits -------------------------------------------------------------

  // Takes the changes and commits them with those of earlier failed
  // commits. Nothing to commit: no store call, unless `even_if_idle` (the
  // constructor's commit, which proves the store writable). Throws what the
  // store threw, as Error; the changes are then kept for the next commit.
  void commit_locked(bool even_if_idle) REQUIRES(commit_mutex) EXCLUDES(control) {
    if (!taken_unbuilt) {
      {
        MutexLock lock(control);
        due.reset();
        updates.store(0, std::memory_order_release);
        armed.store(false, std::memory_order_release);
      }
      for (std::size_t i = 0; i < kShards; ++i) {
        Shard& shard = shards[i];
        MutexLock lock(shard.mutex);
        shard.changes.swap(taken[i]);  // O(1): persist() waits for nothing longer
        ++shard.generation;
        shard.fresh.store(0, std::memory_order_relaxed);
      }
    }
    // Everything below, outside the shard locks, is O(changes log changes),
    // except the store. Until the batch is whole, `taken` and `retry` stay
    // as they are: a failure here (out of memory) loses nothing.
    Batch batch;
    std::shared_ptr<const BatchNames> names;
    const auto start = clock->now();
    try {
      batch = batch_of_taken();
      if (!retry.empty()) batch = detail::merged(Batch(retry), std::move(batch));
      if (!batch.empty()) names = std::make_shared<const BatchNames>(batch);
    } catch (...) {
      taken_unbuilt = true;
      rethrow_as_error(clock->now() - start);
    }
    taken_unbuilt = false;
    for (auto& set : taken) set.clear();
    retry = {};
    if (batch.empty() && !even_if_idle) return;  // nothing changed since the last commit

    publish_inflight(names, batch.size());
    try {
      store->commit(Changes{Timestamp::now(), batch.upserted, batch.removed});
    } catch (...) {
      retry = std::move(batch);
      rethrow_as_error(clock->now() - start);
    }
    const auto took = clock->now() - start;
    publish_inflight(nullptr, 0);
    MutexLock lock(control);
    stats.commits++;
    stats.last_commit_duration = took;
    stats.last_error.clear();
  }

  // The changes in `taken`, as a sorted batch (copied: the entries keep
  // their strings' buffers for the next generation).
  Batch batch_of_taken() REQUIRES(commit_mutex) {
    std::vector<const Change*> order;
    std::size_t total = 0;
    for (const auto& set : taken) total += set.size;
    order.reserve(total);
    for (const auto& set : taken) {
      for (std::size_t i = 0; i < set.size; ++i) order.push_back(&set.entries[i]);
    }
    std::sort(order.begin(), order.end(),
              [](const Change* a, const Change* b) { return a->state.name < b->state.name; });
    Batch out;
    for (const Change* change : order) {
      if (change->removed) {
        out.removed.push_back(change->state.name);
      } else {
        out.upserted.push_back(change->state);
      }
    }
    return out;
  }

  // Makes `names` the batch every shard counts pending names against.
  void publish_inflight(const std::shared_ptr<const BatchNames>& names, std::size_t size) {
    inflight_size.store(size, std::memory_order_relaxed);
    for (Shard& shard : shards) {
      MutexLock lock(shard.mutex);
      shard.inflight = names;
      std::size_t fresh = 0;
      for (std::size_t i = 0; i < shard.changes.size; ++i) {
        if (!names || !names->contains(LiveStates::hash(shard.changes.entries[i].state.name))) {
          ++fresh;
        }
      }
      shard.fresh.store(fresh, std::memory_order_relaxed);
    }
  }

  // Records the failure of the exception being handled and throws it as
  // Error: what the store threw, or an Error{io} that quotes it.
  [[noreturn]] void rethrow_as_error(Clock::duration took) EXCLUDES(control) {
    try {
      throw;
    } catch (const Error& e) {
      record_failure(e.what(), took);
      throw;
    } catch (const std::exception& e) {
      record_failure(e.what(), took);
      throw Error(ErrorCode::io, label + ": commit failed: " + e.what());
    } catch (...) {
      const std::string what = label + ": the store's commit threw an unknown exception";
      record_failure(what, took);
      throw Error(ErrorCode::io, what);
    }
  }

  void record_failure(const std::string& what, Clock::duration took) EXCLUDES(control) {
    MutexLock lock(control);
    stats.failed_commits++;
    stats.last_commit_duration = std::chrono::duration_cast<std::chrono::nanoseconds>(took);
    stats.last_error = what;
    // Retry at the next interval, even if nothing else changes. A failed
    // flush() runs on a caller's thread, so the worker must hear of it.
    armed.store(true, std::memory_order_release);
    if (!due) {
      due = clock->now() + options.flush_interval;
      wake.notify_one();
    }
  }

  bool commit_due() const REQUIRES(control) {
    return updates.load(std::memory_order_acquire) >= options.max_updates ||
           (due && clock->now() >= *due);
  }

  void run() EXCLUDES(control, commit_mutex) {
    control.lock();
    for (;;) {
      if (stopping) break;
      if (!commit_due()) {
        if (due) {
          wake.wait_until(control, *clock, *due);
        } else {
          wake.wait(control);
        }
        continue;
      }
      control.unlock();
      try {
        MutexLock commit_lock(commit_mutex);
        commit_locked(/*even_if_idle=*/false);
      } catch (const Error& e) {
        report(options, e);
      } catch (...) {  // commit_locked() throws only Error; this keeps the thread alive
        report(options, Error(ErrorCode::io, label + ": commit failed"));
      }
      control.lock();
    }
    control.unlock();
  }

  // ---- flush(), shutdown() -------------------------------------------------

  void flush() EXCLUDES(commit_mutex) {
    MutexLock commit_lock(commit_mutex);
    // Checked under commit_mutex: a flush() that races shutdown() either
    // commits before the final commit or is refused, never after it.
    if (closed.load(std::memory_order_acquire)) throw_closed("flush()");
    commit_locked(/*even_if_idle=*/false);
  }

  // Refuses changes from now on and tells the worker to exit.
  void stop() EXCLUDES(control) {
    closed.store(true, std::memory_order_release);
    for (Shard& shard : shards) {
      MutexLock lock(shard.mutex);
      shard.closed = true;
    }
    MutexLock lock(control);
    stopping = true;
    wake.notify_all();
  }

  // The final commit, once, whichever thread comes first.
  void final_commit() EXCLUDES(commit_mutex) {
    MutexLock commit_lock(commit_mutex);
    if (final_done) return;
    final_done = true;
    commit_locked(/*even_if_idle=*/false);
  }

  void shutdown() {
    if (on_worker()) {
      // From on_error: the worker cannot wait for itself, nor for a thread
      // that waits for it. It stops, commits, and exits once the callback
      // returns.
      stop();
      final_commit();
      return;
    }
    std::lock_guard shutdown_lock(shutdown_mutex);
    if (shut_down) return;
    shut_down = true;
    stop();
    if (worker.joinable()) worker.join();
    final_commit();
  }

  // ---- What callers see ----------------------------------------------------

  // Every live state, sorted. Each shard is copied a step at a time, in
  // the order of its slots, which is name order for the states loaded from
  // the store (a scan gives them sorted) and mostly so afterwards: each
  // copy is sorted if it needs to be, and the copies are merged.
  StateMap sorted_states() const {
    std::array<std::vector<EventLogState>, kShards> runs;
    auto by_name = [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; };
    for (std::size_t i = 0; i < kShards; ++i) {
      const Shard& shard = shards[i];
      std::vector<EventLogState>& run = runs[i];
      const std::size_t size = shard.size.load(std::memory_order_relaxed);
      run.reserve(size + size / 8 + kCopyStep);  // room for names added meanwhile
      for (std::size_t index = 0;;) {
        MutexLock lock(shard.mutex);
        const std::size_t end = std::min(index + kCopyStep, shard.live.slot_count());
        for (; index < end; ++index) {
          const Slot& slot = shard.live.slot(index);
          if (slot.live) run.push_back(slot.state);
        }
        if (index >= shard.live.slot_count()) break;
      }
      if (!std::is_sorted(run.begin(), run.end(), by_name)) {
        std::sort(run.begin(), run.end(), by_name);
      }
    }
    return merged_runs(runs);
  }

  // The runs (each sorted by name) merged into one map, smallest name first
  // (a tournament: log2(kShards) comparisons a state).
  static StateMap merged_runs(std::array<std::vector<EventLogState>, kShards>& runs) {
    struct Head {
      std::vector<EventLogState>* run;
      std::size_t index;
      const std::string& name() const { return (*run)[index].name; }
    };
    auto after = [](const Head& a, const Head& b) { return b.name() < a.name(); };
    std::vector<Head> heads;
    for (auto& run : runs) {
      if (!run.empty()) heads.push_back({&run, 0});
    }
    std::make_heap(heads.begin(), heads.end(), after);
    StateMap out;
    while (!heads.empty()) {
      std::pop_heap(heads.begin(), heads.end(), after);
      Head& head = heads.back();
      EventLogState& state = (*head.run)[head.index];
      // A name removed and added again during the walk may come twice: the
      // first stays (each value was live at some moment of the call).
      std::string key = state.name;
      out.emplace_hint(out.end(), std::move(key), std::move(state));
      if (++head.index < head.run->size()) {
        std::push_heap(heads.begin(), heads.end(), after);
      } else {
        heads.pop_back();
      }
    }
    return out;
  }

  std::optional<EventLogState> find(std::string_view name) const {
    const std::uint64_t hash = LiveStates::hash(name);
    const Shard& shard = shards[shard_of(hash)];
    MutexLock lock(shard.mutex);
    const Slot* slot = shard.live.find(name, hash);
    if (slot == nullptr) return std::nullopt;
    return slot->state;
  }

  Stats current_stats() const EXCLUDES(control) {
    Stats out;
    {
      MutexLock lock(control);
      out = stats;
    }
    out.states = 0;
    out.pending = inflight_size.load(std::memory_order_relaxed);
    for (const Shard& shard : shards) {
      out.states += shard.size.load(std::memory_order_relaxed);
      out.pending += shard.fresh.load(std::memory_order_relaxed);
    }
    return out;
  }
};

Checkpoint::Checkpoint(std::string_view uri, Options options)
    : impl_(std::make_shared<Impl>(Store::open(uri, {OpenMode::write, options.create_if_missing}),
                                   "Checkpoint on " + std::string(uri), std::move(options))) {
  Impl::start(impl_);
}

Checkpoint::Checkpoint(std::unique_ptr<Store> store, Options options)
    : impl_(std::make_shared<Impl>(std::move(store), "Checkpoint", std::move(options))) {
  Impl::start(impl_);
}

Checkpoint::Checkpoint(std::unique_ptr<StateStore> store, Options options)
    : Checkpoint(store
                     ? detail::from_legacy(std::move(store), OpenMode::write, "Checkpoint's store")
                     : nullptr,
                 std::move(options)) {}

Checkpoint::~Checkpoint() {
  if (impl_->on_worker()) {
    // Destroyed from its own on_error callback: commit what is pending, and
    // let the worker, which holds the rest of the state, end on its own
    // once the callback returns.
    try {
      impl_->shutdown();
    } catch (...) {
    }
    impl_->worker.detach();
    return;
  }
  try {
    impl_->shutdown();
  } catch (const Error& e) {
    report(impl_->options, e);
  } catch (...) {
    // A destructor must not throw; the commit path turns failures into Error.
  }
}

void Checkpoint::persist(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
                         std::string_view bookmark) {
  // The name is checked only when it is new: a name found among the live
  // states was checked when it was added.
  if (!detail::is_valid_utf8(bookmark)) detail::check_state("Checkpoint", name, bookmark);
  impl_->upsert(name, record_number, timestamp, bookmark);
}

void Checkpoint::persist_state(EventLogState state) {
  persist(state.name, state.record_number, state.timestamp, state.bookmark);
}

void Checkpoint::remove(std::string_view name) {
  detail::check_name("Checkpoint", name);
  impl_->erase(name);
}

StateMap Checkpoint::states() const { return impl_->sorted_states(); }

std::optional<EventLogState> Checkpoint::state(std::string_view name) const {
  return impl_->find(name);
}

void Checkpoint::flush() { impl_->flush(); }

void Checkpoint::shutdown() { impl_->shutdown(); }

Stats Checkpoint::stats() const { return impl_->current_stats(); }

}  // namespace checkpoint
