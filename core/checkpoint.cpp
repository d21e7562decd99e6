// The front end: Checkpoint (include/checkpoint/checkpoint.hpp).
//
// The map of this file (the design; clang checks the locking with
// -Wthread-safety, see core/thread_annotations.hpp):
//
// States live in kShards shards, chosen by the high bits of the name's
// hash. Each state has a slot with a lock of its own (live_states.hpp): a
// persist() of a known name whose change is already recorded since the last
// commit finds the slot without any lock and updates the state under the
// slot's lock alone (a change records the name only: the commit reads the
// value from the slot). Threads persisting different names
// then write no memory in common (the calls are counted per thread, too),
// so they do not slow each other down. A shard's mutex guards the structure
// (names added or removed, the change set's entries, the swap); persist()
// takes it only for a new name or a name's first change since a commit.
//
// Locks, in the order they may be taken: `shutdown_mutex` (external
// shutdown() calls), `commit_mutex` (serialises commits, held while the
// store writes), a shard's mutex, a slot's lock, `control` (the timer, the
// flags, the statistics; taken by persist() only when a change starts a
// batch or reaches max_updates, to wake the worker). None is held across
// I/O but commit_mutex.
//
// A commit (worker, flush(), shutdown()): under `commit_mutex`, reset the
// triggers, then swap each shard's change set out (O(1) each) and start a
// new generation there; outside the shards' mutexes, copy the changed
// states from their slots (each under its lock; a slot removed meanwhile
// keeps its last value, and is reused only after the next swap) into a
// sorted Batch, merge the changes of earlier
// failed commits under it, and hand it to Store::commit(). Each state the
// commit carries, and its slot, gets the commit's update time. Nothing changed
// since the last successful commit: no store call at all. A failed commit
// keeps its batch for the next one; a failure before the store was called
// (memory) keeps the taken change sets, which the next commit builds again.
//
// Expiry (Options::expire_after): a commit whose cutoff (its update time
// minus expire_after) passed the oldest update time of the live states walks
// every slot, at most once per flush_interval, and removes the states older
// than the cutoff that have no change pending; their removal goes into the
// commit's batch. `oldest` (a lower bound, kept by the commit side) makes
// every other commit skip the walk.
//
// states() copies each slot under its own lock, so persist() waits for one
// state's copy at most; it merges the copies into the map outside every
// lock. The states loaded at open are copied in the order the store's scan
// gave them, name order, as the merge takes them (core/state_copies.hpp).
//
// track() and ack() (core/acks.hpp) keep each tracked stream's records in
// flight; an ack() that releases the head of its stream calls this file's
// persist path (persist_acked(), under the stream's lock, which comes before
// every lock here). persist() and remove() of a tracked stream go through
// Acks too: persist() is refused while records are in flight, remove()
// drops them.
#include "checkpoint/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/acks.hpp"
#include "core/change_set.hpp"
#include "core/commit_batch.hpp"
#include "core/corrupt_recovery.hpp"
#include "core/legacy_adapter.hpp"
#include "core/live_states.hpp"
#include "core/mutex.hpp"
#include "core/scan_check.hpp"
#include "core/state_check.hpp"
#include "core/state_copies.hpp"
#include "core/state_runs.hpp"
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
// Room for names added while states() copies a shard.
constexpr std::size_t kCopySlack = 256;
// Later than any update time: the oldest update time of no states.
const Timestamp kLatest = Timestamp::from_unix(Timestamp::kMaxSeconds, 999'999'999);

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
  // Guards the structure: names added or removed, the change set (but the
  // values of its entries, which their slots' locks guard), the swap.
  mutable Mutex mutex;
  // Looked up without the mutex (see live_states.hpp); changed with it.
  LiveStates live;
  ChangeSet changes GUARDED_BY(mutex);
  // Of `changes`; a new one at every swap (written with the mutex held, read
  // by persist()'s fast path without it).
  std::atomic<std::uint64_t> generation{1};
  bool closed GUARDED_BY(mutex) = false;  // shutdown() has begun: refuse changes
  // The names of the batch in flight or waiting for a retry, so that a name
  // changed again is counted once in stats().pending.
  std::shared_ptr<const BatchNames> inflight GUARDED_BY(mutex);
  // Read by stats() without the lock; written with it.
  std::atomic<std::size_t> size{0};   // live.size()
  std::atomic<std::size_t> fresh{0};  // entries of `changes` whose name is not in `inflight`
};

// A counter of persist()/remove() calls per thread (threads take a stripe
// each, in turn), so that counting them writes no memory another thread
// writes too.
struct alignas(64) Stripe {
  std::atomic<std::size_t> count{0};
};
constexpr std::size_t kStripes = 16;
// A thread whose stripe passes a multiple of this adds up all the stripes.
constexpr std::size_t kSumEvery = 32;

std::size_t my_stripe() {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t stripe = next.fetch_add(1) % kStripes;
  return stripe;
}

}  // namespace

struct Checkpoint::Impl final : detail::AckSink {
  // Set in the constructor, then read-only (the store: used under
  // commit_mutex, or before the worker starts).
  std::unique_ptr<Store> store;
  const std::string label;  // "Checkpoint on STORE" or "Checkpoint", for messages
  Options options;
  std::shared_ptr<Clock> clock;

  std::array<Shard, kShards> shards;
  // The shard of each state loaded, in the order the store gave them (name
  // order); set by load() and read-only after.
  detail::ScanOrder scan_order{kShards};

  // What wakes the worker, bumped by persist() without a lock. A change is
  // recorded before these are touched, and the commit side resets them
  // before it swaps the change sets, so every change of the next batch is
  // counted and armed after the reset. The calls are counted per thread: a
  // thread alone is counted exactly; with several, their counts are added up
  // every kSumEvery calls of each, so a commit may start that many calls
  // per thread late.
  std::array<Stripe, kStripes> updates;       // persist()/remove() calls since the last reset
  std::atomic<bool> woken{false};             // the worker was told max_updates was reached
  std::atomic<bool> armed{false};             // `due` is set for the changes since the reset
  std::atomic<bool> closed{false};            // shutdown() has begun
  std::atomic<std::size_t> inflight_size{0};  // names in the batch in flight or waiting

  mutable Mutex control;
  CondVar wake;                                              // waited on with `control`
  std::optional<Clock::time_point> due GUARDED_BY(control);  // when the changes must be committed
  bool stopping GUARDED_BY(control) = false;                 // the worker is told to exit
  Stats stats GUARDED_BY(control);
  // When the oldest change not committed yet was made (Options::clock):
  // among those not swapped out of the shards yet, and among those swapped
  // out into the batch in flight or kept for a retry. stats() reports the
  // older one's age.
  std::optional<Clock::time_point> changed_since GUARDED_BY(control);
  std::optional<Clock::time_point> committing_since GUARDED_BY(control);

  Mutex commit_mutex;
  std::array<ChangeSet, kShards> taken GUARDED_BY(commit_mutex);  // swapped out; empty between
  bool taken_unbuilt GUARDED_BY(commit_mutex) = false;  // taken holds changes yet to be batched
  Batch retry GUARDED_BY(commit_mutex);                 // changes of failed commits
  bool final_done GUARDED_BY(commit_mutex) = false;     // the final commit ran
  // No live state has an older update time (a lower bound; see expire()).
  Timestamp oldest GUARDED_BY(commit_mutex) = kLatest;
  std::optional<Clock::time_point> last_expiry GUARDED_BY(commit_mutex);  // the last walk
  // Names expired and not yet given to on_expire (which runs without locks).
  std::vector<std::string> expired_names GUARDED_BY(commit_mutex);

  std::mutex shutdown_mutex;  // makes a second external shutdown() wait for the first
  bool shut_down = false;     // guarded by `shutdown_mutex`

  std::thread worker;
  std::thread::id worker_id;
  // Told through on_error as the worker starts: how a damaged store was
  // moved aside (Options::on_corrupt). Set before the worker starts.
  std::optional<Error> startup_report;

  // Records in flight (track(), ack()); last, so that it goes first.
  detail::Acks acks{*this};

  Impl(std::unique_ptr<Store> s, std::string l, Options o)
      : store(std::move(s)), label(std::move(l)), options(std::move(o)) {
    if (!store) throw Error(ErrorCode::invalid_argument, "Checkpoint: store is null");
    if (options.max_updates == 0) options.max_updates = 1;
    options.flush_interval =
        std::max<std::chrono::milliseconds>(options.flush_interval, std::chrono::seconds(1));
    clock = options.clock ? options.clock : steady_clock();
    load();
    commit(/*even_if_idle=*/true);  // proves the store writable; throws if it is not
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
    Timestamp oldest_loaded = kLatest;
    try {
      store->scan([&](EventLogState&& state) {
        if (auto problem = check.problem(state)) throw Error(ErrorCode::corrupt, *problem);
        oldest_loaded = std::min(oldest_loaded, state.update_time);
        const std::uint64_t hash = LiveStates::hash(state.name);
        const std::size_t shard = shard_of(hash);
        // No other thread sees the shards yet: no lock.
        shards[shard].live.load(std::move(state), hash);
        scan_order.add(shard);
      });
      scan_order.finish(live_tables());
      for (Shard& shard : shards) {
        MutexLock lock(shard.mutex);
        shard.live.index_loaded();
        shard.live.concurrent();
        shard.size.store(shard.live.size(), std::memory_order_relaxed);
      }
      MutexLock commit_lock(commit_mutex);
      oldest = oldest_loaded;
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

  // Sets a state in its shard's live states and change set. A known name
  // whose change is in the current change set is updated under its slot's
  // lock alone (the fast path); anything else (a new name, the first change
  // since a commit) under the shard's mutex. The strings are assigned in
  // place where the entries exist, so a steady stream of updates to known
  // names allocates nothing.
  void upsert(std::string_view name, std::uint64_t hash, std::uint64_t record_number,
              Timestamp timestamp, std::string_view bookmark) {
    if (closed.load()) throw_closed("persist()");
    Shard& shard = shards[shard_of(hash)];
    if (!updated_in_place(shard, name, hash, record_number, timestamp, bookmark)) {
      MutexLock lock(shard.mutex);
      if (shard.closed) throw_closed("persist()");
      Slot* found = shard.live.find(name, hash);
      Slot& slot = found != nullptr ? *found : add_slot(shard, name, hash);
      slot.lock.lock();
      assign(slot.state, record_number, timestamp, bookmark);
      change_of(shard, slot, hash).removed = false;
      slot.lock.unlock();
    }
    note_update();
  }

  // persist(): refused on a stream with records in flight (see
  // checkpoint.hpp for why).
  void persist(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
               std::string_view bookmark) {
    const std::uint64_t hash = LiveStates::hash(name);
    acks.guarded(name, hash, [&] { upsert(name, hash, record_number, timestamp, bookmark); });
  }

  // An ack() released the head of a stream: its newest record becomes the
  // state, as persist() makes it.
  void persist_acked(std::string_view name, std::uint64_t hash, std::uint64_t record_number,
                     Timestamp timestamp, std::string_view bookmark) override {
    upsert(name, hash, record_number, timestamp, bookmark);
  }

  Ticket track(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
               std::string_view bookmark) {
    if (closed.load()) throw_closed("track()");
    return acks.track(name, record_number, timestamp, bookmark);
  }

  void ack(const Ticket& ticket) {
    if (closed.load()) throw_closed("ack()");
    acks.ack(ticket);
  }

  static void assign(EventLogState& state, std::uint64_t record_number, Timestamp timestamp,
                     std::string_view bookmark) {
    state.record_number = record_number;
    state.timestamp = timestamp;
    state.bookmark.assign(bookmark);
  }

  // The fast path: true if the name is known and its change is in the
  // current change set, both now updated. A swap of the change set during
  // the update (the generation moved on) makes it false: the caller then
  // records the change again in the new set, under the mutex. (The commit
  // side copies the swapped-out entries under their slots' locks, so it
  // sees this update whole, or not at all and then the new set has it.)
  static bool updated_in_place(Shard& shard, std::string_view name, std::uint64_t hash,
                               std::uint64_t record_number, Timestamp timestamp,
                               std::string_view bookmark) {
    Slot* slot = shard.live.find_locked(name, hash);
    if (slot == nullptr) return false;
    assign(slot->state, record_number, timestamp, bookmark);
    const std::uint64_t generation = shard.generation.load();
    const bool done = slot->generation == generation && slot->change != nullptr;
    slot->lock.unlock();
    return done;
  }

  // remove(): the stream's records in flight are dropped too.
  void remove(std::string_view name) {
    const std::uint64_t hash = LiveStates::hash(name);
    acks.dropped(name, hash, [&] { erase(name, hash); });
  }

  void erase(std::string_view name, std::uint64_t hash) {
    Shard& shard = shards[shard_of(hash)];
    {
      MutexLock lock(shard.mutex);
      if (shard.closed) throw_closed("remove()");
      Slot* slot = shard.live.find(name, hash);
      if (slot == nullptr) return;  // absent, or its removal is already pending
      slot->lock.lock();
      Change& change = change_of(shard, *slot, hash);
      change.removed = true;
      change.slot = nullptr;
      slot->change = nullptr;
      slot->lock.unlock();
      shard.changes.removed.emplace(name, &change);
      shard.live.erase(name, hash);
      shard.size.store(shard.live.size(), std::memory_order_relaxed);
    }
    note_update();
  }

  // A live slot for a name not in the shard. An empty name or one that is
  // not UTF-8: Error{invalid_argument}, and nothing changes.
  Slot& add_slot(Shard& shard, std::string_view name, std::uint64_t hash) REQUIRES(shard.mutex) {
    detail::check_name("Checkpoint", name);
    Slot& slot = shard.live.insert(name, hash);
    shard.size.store(shard.live.size(), std::memory_order_relaxed);
    if (!shard.changes.removed.empty()) {
      // Removed earlier in this generation: it takes its entry back.
      if (auto removed = shard.changes.removed.find(name); removed != shard.changes.removed.end()) {
        slot.lock.lock();
        slot.generation = shard.generation.load(std::memory_order_relaxed);
        slot.change = removed->second;
        slot.change->slot = &slot;
        slot.lock.unlock();
        shard.changes.removed.erase(removed);
      }
    }
    return slot;
  }

  // The slot's entry in the shard's change set, made if it has none yet;
  // with the slot's lock held too.
  Change& change_of(Shard& shard, Slot& slot, std::uint64_t hash) REQUIRES(shard.mutex) {
    const std::uint64_t generation = shard.generation.load(std::memory_order_relaxed);
    if (slot.generation == generation && slot.change != nullptr) return *slot.change;
    Change& change = shard.changes.add(slot.state.name);
    change.slot = &slot;
    slot.generation = generation;
    slot.change = &change;
    if (!shard.inflight || !shard.inflight->contains(hash)) {
      shard.fresh.fetch_add(1, std::memory_order_relaxed);
    }
    return change;
  }

  std::size_t updates_counted() const {
    std::size_t sum = 0;
    for (const Stripe& stripe : updates) sum += stripe.count.load(std::memory_order_relaxed);
    return sum;
  }

  void note_update() EXCLUDES(control) {
    if (!armed.load(std::memory_order_acquire) && !armed.exchange(true)) {
      MutexLock lock(control);
      const auto now = clock->now();
      if (!due) due = now + options.flush_interval;
      if (!changed_since) changed_since = now;
      wake.notify_one();  // the worker may be waiting without a deadline
    }
    const std::size_t mine = updates[my_stripe()].count.fetch_add(1, std::memory_order_relaxed) + 1;
    if (mine >= options.max_updates ||
        (mine % kSumEvery == 0 && updates_counted() >= options.max_updates)) {
      if (!woken.exchange(true)) {
        MutexLock lock(control);  // so the worker cannot miss the wakeup
        wake.notify_one();
      }
    }
  }

  // ---- Commits -------------------------------------------------------------

  // commit_locked() under commit_mutex, if `go()` (called there first)
  // says so, then on_expire for the names it expired (without locks: the
  // callback may call any method). Throws what go() or the commit threw.
  void commit(bool even_if_idle, const std::function<bool()>& go = {})
      EXCLUDES(commit_mutex, control) {
    std::vector<std::string> expired;
    std::optional<Error> failure;
    {
      MutexLock commit_lock(commit_mutex);
      if (go && !go()) return;
      try {
        commit_locked(even_if_idle);
      } catch (const Error& e) {
        failure = e;
      }
      expired.swap(expired_names);
    }
    for (const std::string& name : expired) {
      try {
        options.on_expire(name);
      } catch (...) {  // ignored, as on_error's
      }
    }
    if (failure) throw *failure;
  }

  // Takes the changes and commits them with those of earlier failed
  // commits, and the removal of the states that expired. Nothing to commit:
  // no store call, unless `even_if_idle` (the constructor's commit, which
  // proves the store writable). Throws what the store threw, as Error; the
  // changes are then kept for the next commit.
  void commit_locked(bool even_if_idle) REQUIRES(commit_mutex) EXCLUDES(control) {
    if (!taken_unbuilt) {
      {
        MutexLock lock(control);
        due.reset();
        if (changed_since && (!committing_since || *changed_since < *committing_since))
          committing_since = changed_since;
        changed_since.reset();
        for (Stripe& stripe : updates) stripe.count.store(0, std::memory_order_relaxed);
        woken.store(false, std::memory_order_release);
        armed.store(false, std::memory_order_release);
      }
      for (std::size_t i = 0; i < kShards; ++i) {
        Shard& shard = shards[i];
        MutexLock lock(shard.mutex);
        shard.changes.swap(taken[i]);  // O(1): persist() waits for nothing longer
        shard.generation.fetch_add(1);
        // The batch of the last swap was built: no change reads the slots
        // removed since then any more.
        shard.live.recycle();
        shard.fresh.store(0, std::memory_order_relaxed);
      }
    }
    // Everything below, outside the shard locks, is O(changes log changes),
    // except the store and a walk for expired states. Until the batch is
    // whole, `taken` and `retry` stay as they are: a failure here (out of
    // memory) loses nothing.
    const Timestamp update_time = clock->wall_now();
    Batch batch;
    std::vector<std::string> retried;  // `retry`'s names: their slots get update_time too
    std::shared_ptr<const BatchNames> names;
    const auto start = clock->now();
    try {
      batch = batch_of_taken(update_time);
      if (!retry.empty()) {
        for (const EventLogState& state : retry.upserted) retried.push_back(state.name);
        batch = detail::merged(Batch(retry), std::move(batch));
        for (EventLogState& state : batch.upserted) state.update_time = update_time;
      }
      if (!batch.upserted.empty()) oldest = std::min(oldest, update_time);
      expire(update_time, batch);
      if (!batch.empty()) names = std::make_shared<const BatchNames>(batch);
    } catch (...) {
      taken_unbuilt = true;
      rethrow_as_error(clock->now() - start);
    }
    taken_unbuilt = false;
    for (auto& set : taken) set.clear();
    retry = {};
    if (batch.empty() && !even_if_idle) {  // nothing changed since the last commit
      MutexLock lock(control);
      committing_since.reset();
      return;
    }

    publish_inflight(names, batch.size());
    try {
      store->commit(Changes{update_time, batch.upserted, batch.removed});
    } catch (...) {
      retry = std::move(batch);
      rethrow_as_error(clock->now() - start);
    }
    const auto took = clock->now() - start;
    publish_inflight(nullptr, 0);
    // The states of failed commits now carry this commit's time in the
    // store: so do their slots.
    for (const std::string& name : retried) stamp(name, update_time);
    MutexLock lock(control);
    stats.commits++;
    note_duration(took);
    stats.last_commit_time = update_time;
    stats.last_error.clear();
    committing_since.reset();
  }

  // The changes in `taken`, as a sorted batch: each upsert's state copied
  // from its slot under the slot's lock, which persist() may hold (it then
  // carries a value newer than the swap, which the next commit writes
  // again), with the slot's update time set to `update_time` first. The
  // entries keep their strings' buffers for the next generation.
  Batch batch_of_taken(Timestamp update_time) REQUIRES(commit_mutex) {
    std::vector<const Change*> order;
    std::size_t total = 0;
    for (const auto& set : taken) total += set.size;
    order.reserve(total);
    for (const auto& set : taken) {
      for (std::size_t i = 0; i < set.size; ++i) order.push_back(&set.entries[i]);
    }
    std::sort(order.begin(), order.end(),
              [](const Change* a, const Change* b) { return a->name < b->name; });
    Batch out;
    for (const Change* change : order) {
      if (change->removed) {
        out.removed.push_back(change->name);
      } else {
        change->slot->lock.lock();
        try {
          change->slot->state.update_time = update_time;
          out.upserted.push_back(change->slot->state);
        } catch (...) {
          change->slot->lock.unlock();
          throw;
        }
        change->slot->lock.unlock();
      }
    }
    return out;
  }

  // Sets the update time of `name`'s live state, if there is one.
  void stamp(const std::string& name, Timestamp update_time) {
    const std::uint64_t hash = LiveStates::hash(name);
    Shard& shard = shards[shard_of(hash)];
    MutexLock lock(shard.mutex);
    if (Slot* slot = shard.live.find(name, hash)) {
      slot->lock.lock();
      slot->state.update_time = update_time;
      slot->lock.unlock();
    }
  }

  // True if the slot's state has a change recorded since the last swap.
  // With the slot's lock held.
  static bool changed_since_swap(const Shard& shard, const Slot& slot) {
    return slot.change != nullptr &&
           slot.generation == shard.generation.load(std::memory_order_relaxed);
  }

  // Removes the live states whose update time is older than `update_time`
  // minus expire_after and that have no change pending (in `batch`, or
  // recorded since the swap), and adds their names to `batch.removed`.
  void expire(Timestamp update_time, Batch& batch) REQUIRES(commit_mutex) {
    const std::int64_t after = options.expire_after.count();
    // Before the year 1: nothing is older.
    if (after <= 0 || after > update_time.unix_seconds() - Timestamp::kMinSeconds) return;
    const Timestamp cutoff =
        Timestamp::from_unix(update_time.unix_seconds() - after, update_time.nanos());
    if (!(oldest < cutoff)) return;
    const auto now = clock->now();
    if (last_expiry && now - *last_expiry < options.flush_interval) return;
    last_expiry = now;
    auto in_batch = [&](const std::string& name) {
      return std::binary_search(
          batch.upserted.begin(), batch.upserted.end(), name,
          [](const auto& a, const auto& b) { return name_of(a) < name_of(b); });
    };
    Timestamp survivors = kLatest;
    std::vector<std::string> expired;
    for (Shard& shard : shards) {
      // Candidates, found without the shard's mutex, then removed with it
      // if they still qualify (persist() may have changed them since).
      std::vector<std::string> candidates;
      const std::size_t count = shard.live.slot_count();
      for (std::size_t index = 0; index < count; ++index) {
        Slot& slot = shard.live.slot(index);
        slot.lock.lock();
        if (slot.live && !changed_since_swap(shard, slot)) {
          if (slot.state.update_time < cutoff && !in_batch(slot.state.name)) {
            try {
              candidates.push_back(slot.state.name);
            } catch (...) {
              slot.lock.unlock();
              throw;
            }
          } else {
            survivors = std::min(survivors, slot.state.update_time);
          }
        }
        slot.lock.unlock();
      }
      if (candidates.empty()) continue;
      MutexLock lock(shard.mutex);
      for (std::string& name : candidates) {
        const std::uint64_t hash = LiveStates::hash(name);
        Slot* slot = shard.live.find(name, hash);
        if (slot == nullptr) continue;
        slot->lock.lock();
        const bool still = slot->state.update_time < cutoff && !changed_since_swap(shard, *slot);
        slot->lock.unlock();
        if (!still) continue;
        shard.live.erase(name, hash);
        expired.push_back(std::move(name));
      }
      shard.size.store(shard.live.size(), std::memory_order_relaxed);
    }
    oldest = std::min(survivors, update_time);
    if (expired.empty()) return;
    std::sort(expired.begin(), expired.end());
    std::vector<std::string> removed;
    removed.reserve(batch.removed.size() + expired.size());
    std::merge(batch.removed.begin(), batch.removed.end(), expired.begin(), expired.end(),
               std::back_inserter(removed));
    batch.removed = std::move(removed);
    {
      MutexLock lock(control);
      stats.expired += expired.size();
    }
    if (options.on_expire) {
      for (std::string& name : expired) expired_names.push_back(std::move(name));
    }
  }

  static const std::string& name_of(const EventLogState& state) { return state.name; }
  static const std::string& name_of(const std::string& name) { return name; }

  // Makes `names` the batch every shard counts pending names against.
  void publish_inflight(const std::shared_ptr<const BatchNames>& names, std::size_t size) {
    inflight_size.store(size, std::memory_order_relaxed);
    for (Shard& shard : shards) {
      MutexLock lock(shard.mutex);
      shard.inflight = names;
      std::size_t fresh = 0;
      for (std::size_t i = 0; i < shard.changes.size; ++i) {
        if (!names || !names->contains(LiveStates::hash(shard.changes.entries[i].name))) {
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

  void note_duration(Clock::duration took) REQUIRES(control) {
    stats.last_commit_duration = std::chrono::duration_cast<std::chrono::nanoseconds>(took);
    stats.max_commit_duration = std::max(stats.max_commit_duration, stats.last_commit_duration);
  }

  void record_failure(const std::string& what, Clock::duration took) EXCLUDES(control) {
    MutexLock lock(control);
    stats.failed_commits++;
    note_duration(took);
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
    return updates_counted() >= options.max_updates || (due && clock->now() >= *due);
  }

  // Options::on_corrupt moved the store aside: what stats() and the
  // worker's first on_error tell.
  void note_recovery(const detail::Recovery& recovery) EXCLUDES(control) {
    MutexLock lock(control);
    stats.corrupt_salvaged = recovery.salvaged;
    stats.corrupt_lost = recovery.lost;
    stats.corrupt_recovery = recovery.report;
    startup_report.emplace(ErrorCode::corrupt, recovery.report);
  }

  void run() EXCLUDES(control, commit_mutex) {
    if (startup_report) report(options, *startup_report);
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
        commit(/*even_if_idle=*/false);
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
    // Checked under commit_mutex: a flush() that races shutdown() either
    // commits before the final commit or is refused, never after it.
    commit(/*even_if_idle=*/false, [this]() REQUIRES(commit_mutex) {
      if (closed.load(std::memory_order_acquire)) throw_closed("flush()");
      return true;
    });
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
    commit(/*even_if_idle=*/false, [this]() REQUIRES(commit_mutex) {
      if (final_done) return false;
      final_done = true;
      return true;
    });
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

  // Every live state, sorted: the states loaded, still there, in the order
  // of the store's scan, merged with the rest, copied and sorted
  // (core/state_copies.hpp, core/state_runs.hpp). Each slot is copied under
  // its own lock, and nothing else is held meanwhile, so persist() never
  // waits for more than one copy.
  StateMap sorted_states() const {
    const std::vector<const LiveStates*> tables = live_tables();
    detail::StateRuns runs;
    detail::ScanOrderCopy loaded(scan_order, tables);
    if (scan_order.size() > 0) runs.begin_stream(loaded, scan_order.prefix());
    std::size_t size = 0;
    for (const Shard& shard : shards) size += shard.size.load(std::memory_order_relaxed);
    // Room for names added meanwhile.
    runs.begin_run((size > scan_order.size() ? size - scan_order.size() : 0) + kCopySlack);
    detail::copy_others(scan_order, tables, runs);
    return runs.merge();
  }

  std::vector<const LiveStates*> live_tables() const {
    std::vector<const LiveStates*> tables;
    for (const Shard& shard : shards) tables.push_back(&shard.live);
    return tables;
  }

  std::optional<EventLogState> find(std::string_view name) const {
    const std::uint64_t hash = LiveStates::hash(name);
    const Shard& shard = shards[shard_of(hash)];
    Slot* slot = shard.live.find_locked(name, hash);
    if (slot == nullptr) {
      // Absent, or a change of the table got in the way: look again.
      MutexLock lock(shard.mutex);
      slot = shard.live.find(name, hash);
      if (slot == nullptr) return std::nullopt;
      slot->lock.lock();
    }
    std::optional<EventLogState> out;
    try {
      out = slot->state;
    } catch (...) {
      slot->lock.unlock();
      throw;
    }
    slot->lock.unlock();
    return out;
  }

  Stats current_stats() const EXCLUDES(control) {
    Stats out;
    std::optional<Clock::time_point> oldest;
    {
      MutexLock lock(control);
      out = stats;
      oldest = changed_since;
      if (committing_since && (!oldest || *committing_since < *oldest)) oldest = committing_since;
    }
    if (oldest) {
      out.oldest_change_age =
          std::max(std::chrono::nanoseconds(0),
                   std::chrono::duration_cast<std::chrono::nanoseconds>(clock->now() - *oldest));
    }
    out.states = 0;
    out.pending = inflight_size.load(std::memory_order_relaxed);
    for (const Shard& shard : shards) {
      out.states += shard.size.load(std::memory_order_relaxed);
      out.pending += shard.fresh.load(std::memory_order_relaxed);
    }
    out.in_flight = acks.in_flight();
    out.acked_waiting = acks.acked_waiting();
    return out;
  }
};

Checkpoint::Checkpoint(std::string_view uri, Options options) {
  const std::string label = "Checkpoint on " + std::string(uri);
  try {
    impl_ = std::make_shared<Impl>(Store::open(uri, {OpenMode::write, options.create_if_missing}),
                                   label, options);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::corrupt || options.on_corrupt == CorruptPolicy::fail) throw;
    detail::Recovery recovery = detail::recover_corrupt_store(uri, options.on_corrupt, e);
    impl_ = std::make_shared<Impl>(std::move(recovery.store), label, std::move(options));
    impl_->note_recovery(recovery);
  }
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
  impl_->persist(name, record_number, timestamp, bookmark);
}

void Checkpoint::persist_state(EventLogState state) {
  persist(state.name, state.record_number, state.timestamp, state.bookmark);
}

void Checkpoint::remove(std::string_view name) {
  detail::check_name("Checkpoint", name);
  impl_->remove(name);
}

Ticket Checkpoint::track(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
                         std::string_view bookmark) {
  // As persist(): the name is checked when it is new to the tracked streams.
  if (!detail::is_valid_utf8(bookmark)) detail::check_state("Checkpoint", name, bookmark);
  return impl_->track(name, record_number, timestamp, bookmark);
}

void Checkpoint::ack(const Ticket& ticket) { impl_->ack(ticket); }

StateMap Checkpoint::states() const { return impl_->sorted_states(); }

std::optional<EventLogState> Checkpoint::state(std::string_view name) const {
  return impl_->find(name);
}

void Checkpoint::flush() { impl_->flush(); }

void Checkpoint::shutdown() { impl_->shutdown(); }

Stats Checkpoint::stats() const { return impl_->current_stats(); }

}  // namespace checkpoint
