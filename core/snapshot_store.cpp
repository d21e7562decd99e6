#include "checkpoint/toolkit/snapshot_store.hpp"

#include <optional>
#include <utility>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/errors.hpp"

namespace checkpoint::toolkit {

SnapshotStore::SnapshotStore(OpenMode mode, std::string label)
    : mode_(mode), label_(std::move(label)) {}

void SnapshotStore::keep(PersistedState&& loaded) {
  states_.clear();
  for (auto& state : loaded.states) {
    std::string name = state.name;
    states_.emplace_hint(states_.end(), std::move(name), std::move(state));
  }
  kept_ = true;
}

Timestamp SnapshotStore::scan(const StateSink& sink) {
  PersistedState loaded = read();
  if (mode_ == OpenMode::read) {
    for (auto& state : loaded.states) sink(std::move(state));
    return loaded.update_time;
  }
  // A writer keeps what it read, and hands out copies.
  const Timestamp update_time = loaded.update_time;
  keep(std::move(loaded));
  for (const auto& [name, state] : states_) sink(EventLogState(state));
  return update_time;
}

void SnapshotStore::commit(const Changes& changes) {
  if (mode_ == OpenMode::read) {
    throw store_error(ErrorCode::invalid_argument, label_, "opened for reading; cannot commit");
  }
  if (!kept_) keep(read());

  // What each changed name held before, to take the changes back if the
  // write fails: the kept states must always be what the store holds.
  std::vector<std::pair<std::string, std::optional<EventLogState>>> undo;
  undo.reserve(changes.upserted.size() + changes.removed.size());
  for (const auto& state : changes.upserted) {
    auto it = states_.find(state.name);
    if (it == states_.end()) {
      undo.emplace_back(state.name, std::nullopt);
      states_.emplace(state.name, state);
    } else {
      undo.emplace_back(state.name, it->second);
      it->second = state;
    }
  }
  for (const auto& name : changes.removed) {
    auto it = states_.find(name);
    if (it == states_.end()) continue;
    undo.emplace_back(name, std::move(it->second));
    states_.erase(it);
  }
  try {
    write(changes.update_time, states_, changes);
  } catch (...) {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      if (it->second) {
        states_.insert_or_assign(it->first, std::move(*it->second));
      } else {
        states_.erase(it->first);
      }
    }
    throw;
  }
}

}  // namespace checkpoint::toolkit
