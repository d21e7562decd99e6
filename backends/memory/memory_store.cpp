#include "backends/memory/memory_store.hpp"

#include <unistd.h>

#include <map>
#include <mutex>

#include "checkpoint/error.hpp"

namespace checkpoint::backends {
namespace {

struct Shared {
  std::mutex mutex;
  std::string label;  // "memory store NAME", for messages
  Timestamp update_time;
  StateMap states;
  bool writer = false;  // a store object holds it for writing
};

class MemoryStore final : public StateStore {
 public:
  explicit MemoryStore(std::shared_ptr<Shared> data) : data_(std::move(data)) {}
  ~MemoryStore() override {
    if (!writer_) return;
    std::lock_guard lock(data_->mutex);
    data_->writer = false;
  }

  PersistedState load() override {
    std::lock_guard lock(data_->mutex);
    PersistedState out{data_->update_time, {}};
    out.states.reserve(data_->states.size());
    for (const auto& [name, state] : data_->states) out.states.push_back(state);
    return out;
  }

  // One writer at a time, as for the file stores: the first commit makes
  // this object the writer until it is destroyed.
  void commit(const Commit& commit) override {
    std::lock_guard lock(data_->mutex);
    if (!writer_) {
      if (data_->writer) {
        throw Error(ErrorCode::locked,
                    data_->label + ": locked by another store object in this process (pid " +
                        std::to_string(::getpid()) + "); one writer at a time (readers may load)");
      }
      data_->writer = writer_ = true;
    }
    for (const auto& name : commit.removed) data_->states.erase(name);
    for (const auto& name : commit.upserted) {
      auto it = commit.states.find(name);
      if (it != commit.states.end()) data_->states.insert_or_assign(name, it->second);
    }
    data_->update_time = commit.update_time;
  }

 private:
  std::shared_ptr<Shared> data_;
  bool writer_ = false;
};

}  // namespace

BackendInfo memory_backend_info() {
  return {
      "memory", "in this process only; memory:NAME is shared by every store of that NAME", {}, {}};
}

std::unique_ptr<StateStore> open_memory_store(const StoreUri& uri) {
  if (uri.target.empty()) {
    auto data = std::make_shared<Shared>();
    data->label = "memory store (unnamed)";
    return std::make_unique<MemoryStore>(data);
  }
  // Named stores live as long as the process, like a file would.
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Shared>> named;
  std::lock_guard lock(mutex);
  auto& data = named[uri.target];
  if (!data) {
    data = std::make_shared<Shared>();
    data->label = "memory store " + uri.target;
  }
  return std::make_unique<MemoryStore>(data);
}

}  // namespace checkpoint::backends
