#include "backends/memory/memory_store.hpp"

#include <map>
#include <mutex>

namespace checkpoint::backends {
namespace {

struct Shared {
  std::mutex mutex;
  Timestamp update_time;
  StateMap states;
};

class MemoryStore final : public StateStore {
 public:
  explicit MemoryStore(std::shared_ptr<Shared> data) : data_(std::move(data)) {}

  PersistedState load() override {
    std::lock_guard lock(data_->mutex);
    PersistedState out{data_->update_time, {}};
    out.states.reserve(data_->states.size());
    for (const auto& [name, state] : data_->states) out.states.push_back(state);
    return out;
  }

  void commit(const Commit& commit) override {
    std::lock_guard lock(data_->mutex);
    for (const auto& name : commit.removed) data_->states.erase(name);
    for (const auto& name : commit.upserted) {
      auto it = commit.states.find(name);
      if (it != commit.states.end()) data_->states.insert_or_assign(name, it->second);
    }
    data_->update_time = commit.update_time;
  }

 private:
  std::shared_ptr<Shared> data_;
};

}  // namespace

BackendInfo memory_backend_info() {
  return {
      "memory", "in this process only; memory:NAME is shared by every store of that NAME", {}, {}};
}

std::unique_ptr<StateStore> open_memory_store(const StoreUri& uri) {
  if (uri.target.empty()) return std::make_unique<MemoryStore>(std::make_shared<Shared>());
  // Named stores live as long as the process, like a file would.
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Shared>> named;
  std::lock_guard lock(mutex);
  auto& data = named[uri.target];
  if (!data) data = std::make_shared<Shared>();
  return std::make_unique<MemoryStore>(data);
}

}  // namespace checkpoint::backends
