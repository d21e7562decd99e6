#include "checkpoint/checkpoint.hpp"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/chunked_vector.hpp"
#include "core/legacy_adapter.hpp"
#include "core/live_states.hpp"
#include "core/scan_check.hpp"
#include "core/state_check.hpp"
#include "core/utf8.hpp"

namespace checkpoint {
namespace {

using Clock = std::chrono::steady_clock;
using detail::LiveStates;
using detail::Slot;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// What one commit hands the store: the changed states and the removed
// names, both sorted by name and disjoint (the order Changes requires, and
// the one databases write fastest).
struct Batch {
  std::vector<EventLogState> upserted;
  std::vector<std::string> removed;

  std::size_t size() const { return upserted.size() + removed.size(); }
  bool empty() const { return upserted.empty() && removed.empty(); }
};

const std::string& name_of(const EventLogState& state) { return state.name; }
const std::string& name_of(const std::string& name) { return name; }

// Whether sorted `items` (states or names) hold `name`.
template <typename Items>
bool holds(const Items& items, const std::string& name) {
  auto it = std::lower_bound(items.begin(), items.end(), name,
                             [](const auto& item, const std::string& n) { return name_of(item) < n; });
  return it != items.end() && name_of(*it) == name;
}

// Two sorted, disjoint lists (of states or names) merged into one.
template <typename Items>
Items merge_sorted(Items&& a, Items&& b) {
  Items out;
  out.reserve(a.size() + b.size());
  std::merge(std::make_move_iterator(a.begin()), std::make_move_iterator(a.end()),
             std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()),
             std::back_inserter(out),
             [](const auto& x, const auto& y) { return name_of(x) < name_of(y); });
  return out;
}

// `older` with `newer` applied on top: where both name a state, `newer`
// wins. Linear (plus a search per older name); moves from both.
Batch merged(Batch&& older, Batch&& newer) {
  auto changed_since = [&](const auto& item) {
    return holds(newer.upserted, name_of(item)) || holds(newer.removed, name_of(item));
  };
  std::erase_if(older.upserted, changed_since);
  std::erase_if(older.removed, changed_since);
  Batch out;
  out.upserted = merge_sorted(std::move(older.upserted), std::move(newer.upserted));
  out.removed = merge_sorted(std::move(older.removed), std::move(newer.removed));
  return out;
}

// The names of a batch, sorted: what stats().pending counts while the batch
// is in flight or waits to be retried.
struct PendingNames {
  std::vector<std::string> names;

  explicit PendingNames(const Batch& batch) {
    names.reserve(batch.size());
    for (const auto& state : batch.upserted) names.push_back(state.name);
    names.insert(names.end(), batch.removed.begin(), batch.removed.end());
    std::sort(names.begin(), names.end());
  }
  std::size_t size() const { return names.size(); }
  bool contains(std::string_view name) const {
    return std::binary_search(names.begin(), names.end(), name, std::less<>());
  }
};

// One name's change since the commit side last took the changes: its latest
// value, or its removal.
struct Change {
  EventLogState state;  // state.name is always set
  bool removed = false;
};

// The changes since the commit side last took them, one entry per name.
// Entries from `size` on are spare: they keep their string buffers, so once
// the set has grown to its working size, updates allocate nothing. Entries
// never move, so a growing set never makes persist() copy it.
struct ChangeSet {
  detail::ChunkedVector<Change> entries;
  std::size_t size = 0;
  // Names removed in this set, with their entry: a name persisted again
  // takes its entry back rather than getting a second one.
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> removed;

  // A new entry for `name`; its index is stored in `index`.
  Change& add(std::string_view name, std::size_t& index) {
    if (size == entries.size()) entries.emplace_back();
    index = size++;
    Change& change = entries[index];
    change.state.name.assign(name);
    return change;
  }

  void swap(ChangeSet& other) noexcept {  // O(1)
    entries.swap(other.entries);
    std::swap(size, other.size);
    removed.swap(other.removed);
  }

  void clear() {  // keeps the spare entries
    size = 0;
    removed.clear();
  }
};

// Calls the user's error callback; what it throws must not end the worker
// thread (and with it the process).
void report(const Options& options, const Error& error) noexcept {
  if (!options.on_error) return;
  try {
    options.on_error(error);
  } catch (...) {
  }
}

}  // namespace

// Two locks, never taken the other way round: `commit_mutex` (first)
// serialises commits and guards the commit side, and is held while the store
// writes; `mutex` guards what callers see and is never held across I/O, so
// persist(), states() and stats() never wait for the store.
//
// persist() holds `mutex` for one hash lookup and a few assignments: the
// live state's slot records where the name's entry in the change set is (if
// it has one in the current generation), so no second lookup is needed.
// The commit side swaps the whole change set out in O(1) and starts a new
// generation; outside the lock it sorts the changes into the Batch the store
// commits (Changes carries only what changed: the front end keeps the one
// copy of every state, in `live`).
struct Checkpoint::Impl {
  std::unique_ptr<Store> store;
  std::string label;  // "Checkpoint on STORE" or "Checkpoint", for messages
  Options options;

  // Guarded by `mutex`.
  mutable std::mutex mutex;
  std::condition_variable wake;
  LiveStates live;                       // what callers see: every state, committed or not
  ChangeSet changes;                     // changed since the commit side last took them
  std::uint64_t generation = 1;          // of `changes`; a new one at every swap
  std::size_t updates = 0;               // persist()/remove() calls since then
  std::optional<Clock::time_point> due;  // when the unflushed changes must be committed
  // The names of the batch in flight or waiting for a retry, for
  // stats().pending; never modified once published.
  std::shared_ptr<const PendingNames> unacked_view;
  bool closed = false;    // persist(), remove(), flush() refuse
  bool stopping = false;  // the worker is told to exit
  Stats stats;

  // Guarded by `commit_mutex`.
  std::mutex commit_mutex;
  ChangeSet taken;  // the change set last swapped out; empty between commits
  Batch retry;      // the changes of failed commits, committed with the next one

  std::mutex shutdown_mutex;  // makes a second shutdown() wait for the first
  bool shut_down = false;     // guarded by `shutdown_mutex`

  std::thread worker;

  Impl(std::unique_ptr<Store> s, std::string l, Options o)
      : store(std::move(s)), label(std::move(l)), options(std::move(o)) {
    if (!store) throw Error(ErrorCode::invalid_argument, "Checkpoint: store is null");
    if (options.max_updates == 0) options.max_updates = 1;
    options.flush_interval =
        std::max<std::chrono::milliseconds>(options.flush_interval, std::chrono::seconds(1));
    load();
    commit_now();  // proves the store writable; throws if it is not
    worker = std::thread([this] { run(); });
  }

  // Reads the store into `live`, holding each state to the contract (name
  // order, unique UTF-8 names), since everything after relies on it.
  void load() {
    detail::ScanCheck check(label);
    try {
      store->scan([&](EventLogState&& state) {
        if (auto problem = check.problem(state)) throw Error(ErrorCode::corrupt, *problem);
        live.insert(state.name).state = std::move(state);
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

  ~Impl() {
    // Joined here only if shutdown() ran on the worker itself (from on_error).
    if (worker.joinable()) worker.join();
  }

  // Sets a state in `live` and `changes`. The strings are assigned in place
  // where the entries exist, so a steady stream of updates to known names
  // allocates nothing.
  void upsert(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
              std::string_view bookmark) {
    std::lock_guard lock(mutex);
    check_open();
    Slot* found = live.find(name);
    Slot& slot = found != nullptr ? *found : add_slot(name);
    slot.state.record_number = record_number;
    slot.state.timestamp = timestamp;
    slot.state.bookmark.assign(bookmark);
    Change& change = change_of(slot);
    change.removed = false;
    change.state.record_number = record_number;
    change.state.timestamp = timestamp;
    change.state.bookmark.assign(bookmark);
    note_update();
  }

  void erase(std::string_view name) {
    std::lock_guard lock(mutex);
    check_open();
    Slot* slot = live.find(name);
    if (slot == nullptr) return;  // absent, or its removal is already pending
    Change& change = change_of(*slot);
    change.removed = true;
    changes.removed.emplace(name, slot->change);
    live.erase(name);
    note_update();
  }

  // A slot for a name not in `live`; with `mutex` held. An empty name or one
  // that is not UTF-8: Error{invalid_argument}, and nothing changes.
  Slot& add_slot(std::string_view name) {
    detail::check_name("Checkpoint", name);
    Slot& slot = live.insert(name);
    if (!changes.removed.empty()) {
      if (auto removed = changes.removed.find(name); removed != changes.removed.end()) {
        slot.generation = generation;
        slot.change = removed->second;
        changes.removed.erase(removed);
      }
    }
    return slot;
  }

  // The slot's entry in `changes`, made if it has none yet; with `mutex` held.
  Change& change_of(Slot& slot) {
    if (slot.generation != generation) {
      slot.generation = generation;
      return changes.add(slot.state.name, slot.change);
    }
    return changes.entries[slot.change];
  }

  void check_open() const {  // with `mutex` held
    if (closed) {
      throw Error(ErrorCode::closed, "Checkpoint: persist() or remove() after shutdown()");
    }
  }

  void note_update() {  // with `mutex` held
    if (!due) {
      due = Clock::now() + options.flush_interval;
      wake.notify_one();  // the worker may be waiting without a deadline
    }
    if (++updates >= options.max_updates) wake.notify_one();
  }

  // Takes the pending changes and commits them with those of earlier
  // failed commits. Throws what the store threw (as Error); the changes
  // are then kept for the next commit.
  void commit_now() {
    std::lock_guard commit_lock(commit_mutex);
    {
      std::lock_guard lock(mutex);
      taken.swap(changes);  // O(1): persist() waits for nothing longer
      ++generation;
      updates = 0;
      due.reset();
    }
    // Everything below, outside `mutex`, is O(changes log changes), except
    // the store.
    std::vector<std::size_t> order = sorted_taken();
    Batch batch = take_batch(order);
    if (!retry.empty()) batch = merged(std::move(retry), std::move(batch));
    retry = {};
    publish_pending(batch.empty() ? nullptr : std::make_shared<PendingNames>(batch));
    auto start = Clock::now();
    try {
      store->commit(Changes{Timestamp::now(), batch.upserted, batch.removed});
    } catch (...) {
      retry = std::move(batch);
      taken.clear();
      rethrow_as_error(Clock::now() - start);
    }
    auto took = Clock::now() - start;
    give_back(order, batch);
    taken.clear();
    // Declared before the lock, so destroyed after its release: it may hold
    // a million names.
    std::shared_ptr<const PendingNames> committed;
    std::lock_guard lock(mutex);
    committed.swap(unacked_view);
    stats.commits++;
    stats.last_commit_duration = took;
    stats.last_error.clear();
  }

  // Records the failure of the exception being handled and throws it as
  // Error: what the store threw, or an Error{io} that quotes it.
  [[noreturn]] void rethrow_as_error(Clock::duration took) {
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

  // The entries of `taken`, by name.
  std::vector<std::size_t> sorted_taken() const {
    std::vector<std::size_t> order(taken.size);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return taken.entries[a].state.name < taken.entries[b].state.name;
    });
    return order;
  }

  // Moves the changes out of `taken`, in name order. give_back() returns
  // the strings to the spare entries afterwards (whichever they were), so
  // that a steady stream of updates allocates nothing.
  Batch take_batch(const std::vector<std::size_t>& order) {
    Batch out;
    for (std::size_t i : order) {
      Change& change = taken.entries[i];
      if (change.removed) {
        out.removed.push_back(std::move(change.state.name));
      } else {
        out.upserted.push_back(std::move(change.state));
      }
    }
    return out;
  }

  void give_back(const std::vector<std::size_t>& order, Batch& batch) {
    auto upserted = batch.upserted.begin();
    auto removed = batch.removed.begin();
    for (std::size_t i : order) {
      Change& change = taken.entries[i];
      if (change.removed) {
        if (removed == batch.removed.end()) return;
        change.state.name = std::move(*removed++);
      } else {
        if (upserted == batch.upserted.end()) return;
        change.state = std::move(*upserted++);
      }
    }
  }

  // Makes `names` what stats().pending sees. The list it replaces is
  // destroyed outside `mutex`: freeing a million names takes a while.
  void publish_pending(std::shared_ptr<const PendingNames> names) {
    {
      std::lock_guard lock(mutex);
      unacked_view.swap(names);
    }
    names.reset();
  }

  void record_failure(const std::string& what, Clock::duration took) {
    std::lock_guard lock(mutex);
    stats.failed_commits++;
    stats.last_commit_duration = took;
    stats.last_error = what;
    // Retry at the next interval, even if nothing else changes. A failed
    // flush() runs on a caller's thread, so the worker must hear of it.
    if (!due) {
      due = Clock::now() + options.flush_interval;
      wake.notify_one();
    }
  }

  bool commit_due() const {
    return updates >= options.max_updates || (due && Clock::now() >= *due);
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      if (stopping) return;
      if (!commit_due()) {
        if (due) {
          wake.wait_until(lock, *due);
        } else {
          wake.wait(lock);
        }
        continue;
      }
      lock.unlock();
      try {
        commit_now();
      } catch (const Error& e) {
        report(options, e);
      }
      lock.lock();
    }
  }

  // The final commit, once; later calls wait for the first to finish.
  void shutdown() {
    std::lock_guard shutdown_lock(shutdown_mutex);
    if (shut_down) return;
    shut_down = true;
    {
      std::lock_guard lock(mutex);
      closed = true;
      stopping = true;
    }
    wake.notify_all();
    // From on_error the worker cannot join itself; ~Impl joins it then.
    if (worker.get_id() != std::this_thread::get_id()) worker.join();
    commit_now();
  }

  std::size_t pending() const {  // with `mutex` held
    if (!unacked_view) return changes.size;
    std::size_t out = unacked_view->size();
    for (std::size_t i = 0; i < changes.size; ++i) {
      out += unacked_view->contains(changes.entries[i].state.name) ? 0 : 1;
    }
    return out;
  }

  // Every live state, sorted. Only the copy is made under `mutex`.
  StateMap sorted_states() const {
    std::vector<EventLogState> copy;
    {
      std::lock_guard lock(mutex);
      copy.reserve(live.size());
      live.for_each([&](const Slot& slot) { copy.push_back(slot.state); });
    }
    std::sort(copy.begin(), copy.end(),
              [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; });
    StateMap out;
    for (auto& state : copy) {
      std::string name = state.name;
      out.emplace_hint(out.end(), std::move(name), std::move(state));
    }
    return out;
  }
};

Checkpoint::Checkpoint(std::string_view uri, Options options)
    : impl_(std::make_unique<Impl>(
          Store::open(uri, {OpenMode::write, options.create_if_missing}),
          "Checkpoint on " + std::string(uri), std::move(options))) {}

Checkpoint::Checkpoint(std::unique_ptr<Store> store, Options options)
    : impl_(std::make_unique<Impl>(std::move(store), "Checkpoint", std::move(options))) {}

Checkpoint::Checkpoint(std::unique_ptr<StateStore> store, Options options)
    : Checkpoint(store ? detail::from_legacy(std::move(store), OpenMode::write, "Checkpoint's store")
                       : nullptr,
                 std::move(options)) {}

Checkpoint::~Checkpoint() {
  try {
    impl_->shutdown();
  } catch (const Error& e) {
    report(impl_->options, e);
  } catch (...) {
    // A destructor must not throw; commit_now() turns store failures into Error.
  }
}

void Checkpoint::persist(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
                         std::string_view bookmark) {
  // The name is checked by upsert() only when it is new: a name found among
  // the live states was checked when it was added.
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
  std::lock_guard lock(impl_->mutex);
  const Slot* slot = impl_->live.find(name);
  if (slot == nullptr) return std::nullopt;
  return slot->state;
}

void Checkpoint::flush() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->closed) throw Error(ErrorCode::closed, "Checkpoint: flush() after shutdown()");
  }
  impl_->commit_now();
}

void Checkpoint::shutdown() { impl_->shutdown(); }

Stats Checkpoint::stats() const {
  std::lock_guard lock(impl_->mutex);
  Stats out = impl_->stats;
  out.states = impl_->live.size();
  out.pending = impl_->pending();
  return out;
}

}  // namespace checkpoint
