#include "checkpoint/checkpoint.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/utf8.hpp"

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

void check_state(const EventLogState& state) {
  if (state.name.empty()) {
    throw Error(ErrorCode::invalid_argument, "Checkpoint: a state's name must not be empty");
  }
  if (!detail::is_valid_utf8(state.name)) {
    throw Error(ErrorCode::invalid_argument, "Checkpoint: state name is not valid UTF-8");
  }
  if (!detail::is_valid_utf8(state.bookmark)) {
    throw Error(ErrorCode::invalid_argument,
                "Checkpoint: bookmark of \"" + state.name + "\" is not valid UTF-8");
  }
}

}  // namespace

struct Checkpoint::Impl {
  std::unique_ptr<StateStore> store;
  Options options;

  // Guarded by `mutex`: what callers see and what the worker has yet to take.
  mutable std::mutex mutex;
  std::condition_variable wake;
  StateMap live;
  Changes changes;
  std::size_t updates = 0;  // persist()/remove() calls since the worker last took `changes`
  std::optional<Clock::time_point> due;  // when the interval elapses for unflushed changes
  std::size_t unacked_count = 0;         // mirror of `unacked.size()` for stats()
  bool closed = false;
  bool stopping = false;
  Stats stats;

  // Guarded by `commit_mutex`: the store and the commit-side view of it.
  std::mutex commit_mutex;
  StateMap snapshot;  // what the next commit writes
  std::unordered_set<std::string, StringHash, std::equal_to<>> unacked;  // changed, not yet durable

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
    stats.states = live.size();
    commit_now();  // proves the store writable; throws if it is not
    worker = std::thread([this] { run(); });
  }

  void record(std::string_view name, std::optional<EventLogState> value) {
    std::lock_guard lock(mutex);
    if (closed) {
      throw Error(ErrorCode::closed, "Checkpoint: persist() or remove() after shutdown()");
    }
    if (value) {
      auto it = live.find(name);
      if (it == live.end())
        it = live.emplace(std::string(name), *value).first;
      else
        it->second = *value;
    } else {
      auto it = live.find(name);
      if (it == live.end()) return;  // absent, or its removal is already pending
      live.erase(it);
    }
    auto it = changes.find(name);
    if (it == changes.end())
      changes.emplace(std::string(name), std::move(value));
    else
      it->second = std::move(value);
    if (!due) {
      due = Clock::now() + options.flush_interval;
      wake.notify_one();  // the worker may be waiting without a deadline
    }
    if (++updates >= options.max_updates) wake.notify_one();
  }

  // Takes the pending changes and commits them with everything still
  // unacknowledged. Throws what the store threw; the changes stay unacked.
  void commit_now() {
    std::lock_guard commit_lock(commit_mutex);
    Changes batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(changes);
      updates = 0;
      due.reset();
    }
    for (auto& [name, value] : batch) {
      if (value)
        snapshot.insert_or_assign(name, std::move(*value));
      else
        snapshot.erase(name);
      unacked.insert(name);
    }
    {
      std::lock_guard lock(mutex);
      unacked_count = unacked.size();
    }
    std::vector<std::string> upserted, removed;
    for (const auto& name : unacked) {
      (snapshot.contains(name) ? upserted : removed).push_back(name);
    }
    auto start = Clock::now();
    Timestamp update_time = Timestamp::now();
    try {
      store->commit(Commit{update_time, snapshot, upserted, removed});
    } catch (const Error& e) {
      record_failure(e.what(), Clock::now() - start);
      throw;
    } catch (const std::exception& e) {
      record_failure(e.what(), Clock::now() - start);
      throw Error(ErrorCode::io, e.what());
    }
    unacked.clear();
    std::lock_guard lock(mutex);
    unacked_count = 0;
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
        if (due)
          wake.wait_until(lock, *due);
        else
          wake.wait(lock);
        continue;
      }
      lock.unlock();
      try {
        commit_now();
      } catch (const Error& e) {
        if (options.on_error) options.on_error(e);
      }
      lock.lock();
    }
  }

  // Closes for callers and stops the worker. False if already stopped.
  bool stop_worker() {
    {
      std::lock_guard lock(mutex);
      if (stopping) return false;
      closed = true;
      stopping = true;
    }
    wake.notify_all();
    worker.join();
    return true;
  }
};

Checkpoint::Checkpoint(std::string_view uri, Options options)
    : Checkpoint(open_store(uri), std::move(options)) {}

Checkpoint::Checkpoint(std::unique_ptr<StateStore> store, Options options)
    : impl_(std::make_unique<Impl>(std::move(store), std::move(options))) {}

Checkpoint::~Checkpoint() {
  try {
    shutdown();
  } catch (const Error& e) {
    if (impl_->options.on_error) impl_->options.on_error(e);
  }
}

void Checkpoint::persist(std::string_view name, std::uint64_t record_number, Timestamp timestamp,
                         std::string_view bookmark) {
  persist_state(EventLogState{std::string(name), record_number, timestamp, std::string(bookmark)});
}

void Checkpoint::persist_state(EventLogState state) {
  check_state(state);
  std::string name = state.name;
  impl_->record(name, std::move(state));
}

void Checkpoint::remove(std::string_view name) { impl_->record(name, std::nullopt); }

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

void Checkpoint::shutdown() {
  if (impl_->stop_worker()) impl_->commit_now();
}

Stats Checkpoint::stats() const {
  std::lock_guard lock(impl_->mutex);
  Stats out = impl_->stats;
  out.states = impl_->live.size();
  out.pending = impl_->changes.size() + impl_->unacked_count;
  return out;
}

}  // namespace checkpoint
