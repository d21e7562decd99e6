#include "tests/broken_store.hpp"

#include <cmath>
#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::testing {
namespace {

class BrokenStore final : public StateStore {
 public:
  BrokenStore(std::string inner_uri, Defect defect)
      : inner_uri_(std::move(inner_uri)), inner_(open_store(inner_uri_)), defect_(defect) {}

  PersistedState load() override { return inner_->load(); }

  void commit(const Commit& commit) override {
    StateMap states = commit.states;
    std::vector<std::string> upserted = commit.upserted, removed = commit.removed;
    switch (defect_) {
      case Defect::drops_bookmarks:
        for (auto& [name, state] : states) state.bookmark.clear();
        break;
      case Defect::double_records:
        for (auto& [name, state] : states) {
          double d = static_cast<double>(state.record_number);
          state.record_number =
              d >= 18446744073709551616.0 ? UINT64_MAX : static_cast<std::uint64_t>(d);
        }
        break;
      case Defect::ignores_removed:
        removed.clear();
        break;
      case Defect::upserted_only: {
        StateMap only;
        for (const auto& name : upserted) {
          if (auto it = states.find(name); it != states.end()) only.insert(*it);
        }
        for (const auto& old : inner_->load().states) {
          if (!only.contains(old.name)) removed.push_back(old.name);
        }
        states = std::move(only);
        break;
      }
      case Defect::in_memory_only:
        break;  // the defect is in which inner store it gets
      case Defect::no_writer_lock:
        // A store object of its own for each commit, gone right after it.
        open_store(inner_uri_)->commit(Commit{commit.update_time, states, upserted, removed});
        return;
    }
    // The inner memory store applies upserted and removed from `states`.
    inner_->commit(Commit{commit.update_time, states, upserted, removed});
  }

 private:
  std::string inner_uri_;
  std::unique_ptr<StateStore> inner_;
  Defect defect_;
};

}  // namespace

void BrokenStoreEnvironment::SetUp() {
  Defect defect = defect_;
  register_backend({scheme_, "deliberately broken, for testing the conformance suite", {}, {}},
                   [defect](const StoreUri& uri) -> std::unique_ptr<StateStore> {
                     // memory: is private to one store object; memory:NAME
                     // is shared by name, as a file would be.
                     std::string inner = defect == Defect::in_memory_only
                                             ? "memory:"
                                             : "memory:" + uri.scheme + ":" + uri.target;
                     return std::make_unique<BrokenStore>(inner, defect);
                   });
}

}  // namespace checkpoint::testing
