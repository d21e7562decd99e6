#include "checkpoint/checkpoint.hpp"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/state_check.hpp"

namespace checkpoint {
namespace {

using Clock = std::chrono::steady_clock;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// The latest value of each changed name since the worker last took the
// batch; nullopt means removed.
using Changes =
    std::unordered_map<std::string, std::optional<EventLogState>, StringHash, std::equal_to<>>;

using NameSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

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
// persist(), states() and stats() never wait for the store. persist() holds
// it for a map lookup and a hash insert: O(log states), never O(states).
struct Checkpoint::Impl {
  std::unique_ptr<StateStore> store;
  Options options;

  // Guarded by `mutex`.
  mutable std::mutex mutex;
  std::condition_variable wake;
  StateMap live;                         // what callers see: every state, committed or not
  Changes changes;                       // changed since the commit side last took them
  std::size_t updates = 0;               // persist()/remove() calls since then
  std::optional<Clock::time_point> due;  // when the unflushed changes must be committed
  // The commit side's `unacked` as of the last commit attempt, for
  // stats().pending; never modified once published.
  std::shared_ptr<const NameSet> unacked_view;
  bool closed = false;    // persist(), remove(), flush() refuse
  bool stopping = false;  // the worker is told to exit
  Stats stats;

  // Guarded by `commit_mutex`.
  std::mutex commit_mutex;
  StateMap snapshot;  // what the next commit writes: `live` as of the last swap
  // Names changed since the last successful commit (upserted or removed);
  // replaced, never modified, once published as `unacked_view`.
  std::shared_ptr<const NameSet> unacked;

  std::mutex shutdown_mutex;  // makes a second shutdown() wait for the first
  bool shut_down = false;     // guarded by `shutdown_mutex`

  std::thread worker;

  Impl(std::unique_ptr<StateStore> s, Options o) : store(std::move(s)), options(std::move(o)) {
    if (!store) throw Error(ErrorCode::invalid_argument, "Checkpoint: store is null");
    if (options.max_updates == 0) options.max_updates = 1;
    options.flush_interval =
        std::max<std::chrono::milliseconds>(options.flush_interval, std::chrono::seconds(1));
    PersistedState loaded = store->load();
    for (auto& state : loaded.states) {
      std::string name = state.name;
      snapshot.insert_or_assign(std::move(name), std::move(state));
    }
    live = snapshot;
    commit_now();  // proves the store writable; throws if it is not
    worker = std::thread([this] { run(); });
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
    auto it = live.find(name);
    if (it == live.end()) {
      it = live.emplace(std::string(name), EventLogState{std::string(name), record_number,
                                                         timestamp, std::string(bookmark)})
               .first;
    } else {
      it->second.record_number = record_number;
      it->second.timestamp = timestamp;
      it->second.bookmark.assign(bookmark);
    }
    auto change = changes.find(name);
    if (change == changes.end()) {
      changes.emplace(it->first, it->second);
    } else if (change->second) {
      *change->second = it->second;
    } else {
      change->second = it->second;
    }
    note_update();
  }

  void erase(std::string_view name) {
    std::lock_guard lock(mutex);
    check_open();
    auto it = live.find(name);
    if (it == live.end()) return;  // absent, or its removal is already pending
    live.erase(it);
    auto change = changes.find(name);
    if (change == changes.end()) {
      changes.emplace(std::string(name), std::nullopt);
    } else {
      change->second.reset();
    }
    note_update();
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

  // Takes the pending changes and commits them with everything still
  // unacknowledged. Throws what the store threw (as Error); the changes
  // then stay unacknowledged and go into the next commit.
  void commit_now() {
    std::lock_guard commit_lock(commit_mutex);
    Changes batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(changes);  // O(1): persist() waits for nothing longer
      updates = 0;
      due.reset();
    }
    // Everything below, outside `mutex`, is O(changes), except the store.
    auto names = unacked ? std::make_shared<NameSet>(*unacked) : std::make_shared<NameSet>();
    for (auto& [name, value] : batch) {
      if (value) {
        snapshot.insert_or_assign(name, std::move(*value));
      } else {
        snapshot.erase(name);
      }
      names->insert(name);
    }
    unacked = names;
    {
      std::lock_guard lock(mutex);
      unacked_view = unacked;
    }
    std::vector<std::string> upserted, removed;
    for (const auto& name : *unacked) {
      (snapshot.contains(name) ? upserted : removed).push_back(name);
    }
    auto start = Clock::now();
    try {
      store->commit(Commit{Timestamp::now(), snapshot, upserted, removed});
    } catch (const Error& e) {
      record_failure(e.what(), Clock::now() - start);
      throw;
    } catch (const std::exception& e) {
      record_failure(e.what(), Clock::now() - start);
      throw Error(ErrorCode::io, std::string("Checkpoint: store commit failed: ") + e.what());
    } catch (...) {
      const std::string what = "Checkpoint: store commit threw an unknown exception";
      record_failure(what, Clock::now() - start);
      throw Error(ErrorCode::io, what);
    }
    unacked.reset();
    std::lock_guard lock(mutex);
    unacked_view.reset();
    stats.commits++;
    stats.last_commit_duration = Clock::now() - start;
    stats.last_error.clear();
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
    if (!unacked_view) return changes.size();
    std::size_t out = unacked_view->size();
    for (const auto& [name, value] : changes) out += unacked_view->contains(name) ? 0 : 1;
    return out;
  }
};

Checkpoint::Checkpoint(std::string_view uri, Options options)
    : Checkpoint(open_store(uri), std::move(options)) {}

Checkpoint::Checkpoint(std::unique_ptr<StateStore> store, Options options)
    : impl_(std::make_unique<Impl>(std::move(store), std::move(options))) {}

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
  detail::check_state("Checkpoint", name, bookmark);
  impl_->upsert(name, record_number, timestamp, bookmark);
}

void Checkpoint::persist_state(EventLogState state) {
  persist(state.name, state.record_number, state.timestamp, state.bookmark);
}

void Checkpoint::remove(std::string_view name) {
  detail::check_name("Checkpoint", name);
  impl_->erase(name);
}

StateMap Checkpoint::states() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->live;
}

std::optional<EventLogState> Checkpoint::state(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->live.find(name);
  if (it == impl_->live.end()) return std::nullopt;
  return it->second;
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
