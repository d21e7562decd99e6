#include "core/legacy_adapter.hpp"

#include <algorithm>
#include <vector>

#include "checkpoint/toolkit/snapshot_store.hpp"

namespace checkpoint::detail {
namespace {

class FromLegacy final : public toolkit::SnapshotStore {
 public:
  FromLegacy(std::unique_ptr<StateStore> store, OpenMode mode, std::string label)
      : SnapshotStore(mode, std::move(label)), store_(std::move(store)) {}

 protected:
  PersistedState read() override { return store_->load(); }

  void write(Timestamp update_time, const StateMap& states, const Changes& changes) override {
    std::vector<std::string> upserted, removed(changes.removed.begin(), changes.removed.end());
    upserted.reserve(changes.upserted.size());
    for (const auto& state : changes.upserted) upserted.push_back(state.name);
    store_->commit(Commit{update_time, states, upserted, removed});
  }

 private:
  std::unique_ptr<StateStore> store_;
};

class ToLegacy final : public StateStore {
 public:
  explicit ToLegacy(std::unique_ptr<Store> store) : store_(std::move(store)) {}

  PersistedState load() override { return store_->load(); }

  void commit(const Commit& commit) override {
    std::vector<std::string> names = commit.upserted;
    names.insert(names.end(), commit.removed.begin(), commit.removed.end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::vector<EventLogState> upserted;
    std::vector<std::string> removed;
    for (auto& name : names) {
      if (auto it = commit.states.find(name); it != commit.states.end()) {
        upserted.push_back(it->second);
      } else {
        removed.push_back(std::move(name));
      }
    }
    store_->commit(Changes{commit.update_time, upserted, removed});
  }

 private:
  std::unique_ptr<Store> store_;
};

}  // namespace

std::unique_ptr<Store> from_legacy(std::unique_ptr<StateStore> store, OpenMode mode,
                                   std::string label) {
  return std::make_unique<FromLegacy>(std::move(store), mode, std::move(label));
}

std::unique_ptr<StateStore> to_legacy(std::unique_ptr<Store> store) {
  return std::make_unique<ToLegacy>(std::move(store));
}

}  // namespace checkpoint::detail
