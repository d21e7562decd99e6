#include "backends/memory/memory_store.hpp"

#include <unistd.h>

#include <map>
#include <mutex>

#include "checkpoint/toolkit/errors.hpp"

namespace checkpoint::backends {
namespace {

struct Shared {
  std::mutex mutex;
  std::string label;  // "memory store NAME", for messages
  Timestamp update_time;
  StateMap states;
  bool writer = false;  // a store object holds it for writing
};

class MemoryStore final : public Store {
 public:
  MemoryStore(std::shared_ptr<Shared> data, OpenMode mode) : data_(std::move(data)), mode_(mode) {
    if (mode_ != OpenMode::write) return;
    // One writer at a time, as for the file stores: from opening on.
    std::lock_guard lock(data_->mutex);
    if (data_->writer) {
      throw toolkit::store_error(ErrorCode::locked, data_->label,
                                 "locked by another store object in this process (pid " +
                                     std::to_string(::getpid()) +
                                     "); one writer at a time (readers may load)");
    }
    data_->writer = true;
  }
  ~MemoryStore() override {
    if (mode_ != OpenMode::write) return;
    std::lock_guard lock(data_->mutex);
    data_->writer = false;
  }

  Timestamp scan(const StateSink& sink) override {
    // Copied under the lock, handed out after it: a sink may take long.
    std::vector<EventLogState> copy;
    Timestamp update_time;
    {
      std::lock_guard lock(data_->mutex);
      update_time = data_->update_time;
      copy.reserve(data_->states.size());
      for (const auto& [name, state] : data_->states) copy.push_back(state);
    }
    for (auto& state : copy) sink(std::move(state));
    return update_time;
  }

  void commit(const Changes& changes) override {
    if (mode_ != OpenMode::write) {
      throw toolkit::store_error(ErrorCode::invalid_argument, data_->label,
                                 "opened for reading; cannot commit");
    }
    std::lock_guard lock(data_->mutex);
    for (const auto& name : changes.removed) data_->states.erase(name);
    for (const auto& state : changes.upserted) data_->states.insert_or_assign(state.name, state);
    data_->update_time = changes.update_time;
  }

 private:
  std::shared_ptr<Shared> data_;
  OpenMode mode_;
};

}  // namespace

BackendInfo memory_backend_info() {
  return {
      "memory", "in this process only; memory:NAME is shared by every store of that NAME", {}, {}};
}

std::unique_ptr<Store> open_memory_store(const StoreUri& uri, const OpenOptions& options) {
  const bool write = options.mode == OpenMode::write;
  if (uri.target.empty()) {
    if (!write) {
      throw toolkit::store_error(ErrorCode::not_found, "memory store (unnamed)",
                                 "no such store: an unnamed memory store exists only for its "
                                 "writer");
    }
    auto data = std::make_shared<Shared>();
    data->label = "memory store (unnamed)";
    return std::make_unique<MemoryStore>(data, options.mode);
  }
  // Named stores live as long as the process, like a file would.
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Shared>> named;
  std::lock_guard lock(mutex);
  auto it = named.find(uri.target);
  if (it == named.end()) {
    const std::string label = "memory store " + uri.target;
    if (!write || !options.create_if_missing) {
      throw toolkit::store_error(ErrorCode::not_found, label, "no such store");
    }
    auto data = std::make_shared<Shared>();
    data->label = label;
    it = named.emplace(uri.target, std::move(data)).first;
  }
  return std::make_unique<MemoryStore>(it->second, options.mode);
}

}  // namespace checkpoint::backends
