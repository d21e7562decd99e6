// Backends written against the version 1 contract (StateStore, whose
// commits carry every state; checkpoint/legacy_store.hpp) keep compiling
// and working through the adapters of core/legacy_adapter.hpp, and
// open_store() keeps serving any store as a StateStore.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/registry.hpp"
#include "tests/state_values.hpp"
#include "tests/test_files.hpp"

// This file uses the deprecated names on purpose.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace checkpoint {
namespace {

using ::testing::ElementsAre;

// What a version 1 store saw, per name of store.
struct Seen {
  PersistedState stored;
  std::vector<StateMap> commits;  // Commit::states of each commit
  std::vector<std::vector<std::string>> upserted, removed;
};

std::mutex seen_mutex;
std::map<std::string, Seen>& seen() {
  static std::map<std::string, Seen> all;
  return all;
}

// A version 1 store as third parties wrote them: it writes Commit::states.
class OldStore final : public StateStore {
 public:
  explicit OldStore(std::string name) : name_(std::move(name)) {}
  PersistedState load() override {
    std::lock_guard lock(seen_mutex);
    return seen()[name_].stored;
  }
  void commit(const Commit& commit) override {
    std::lock_guard lock(seen_mutex);
    Seen& s = seen()[name_];
    s.commits.push_back(commit.states);
    s.upserted.push_back(commit.upserted);
    s.removed.push_back(commit.removed);
    s.stored.update_time = commit.update_time;
    s.stored.states.clear();
    for (const auto& [name, state] : commit.states) s.stored.states.push_back(state);
  }

 private:
  std::string name_;
};

void register_old_backend() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_backend({"oldstyle", "a version 1 backend", {}, {}},
                     [](const StoreUri& uri) -> std::unique_ptr<StateStore> {
                       return std::make_unique<OldStore>(uri.target);
                     });
  });
}

EventLogState sample(std::string name, std::uint64_t record) {
  return {std::move(name), record, Timestamp::from_unix(1'600'000'000, 5), "<b/>"};
}

TEST(LegacyStore, RegisteredVersion1BackendServesCheckpoint) {
  register_old_backend();
  {
    Options options;
    options.max_updates = 1'000'000;
    Checkpoint cp("oldstyle:front", options);
    cp.persist("a", 1, Timestamp::from_unix(1'600'000'000, 5), "<b/>");
    cp.persist("b", 2, Timestamp::from_unix(1'600'000'000, 5), "<b/>");
    cp.flush();
    cp.remove("a");
    cp.persist("c", 3, Timestamp::from_unix(1'600'000'000, 5), "<b/>");
  }
  std::lock_guard lock(seen_mutex);
  const Seen& s = seen()["front"];
  // Every version 1 commit received every state, and the names changed.
  ASSERT_EQ(s.commits.size(), 3u);  // at construction, flush(), shutdown
  EXPECT_EQ(testing::values(s.commits[1]),
            (StateMap{{"a", sample("a", 1)}, {"b", sample("b", 2)}}));
  EXPECT_THAT(s.upserted[1], ElementsAre("a", "b"));
  EXPECT_EQ(testing::values(s.commits[2]),
            (StateMap{{"b", sample("b", 2)}, {"c", sample("c", 3)}}));
  EXPECT_THAT(s.upserted[2], ElementsAre("c"));
  EXPECT_THAT(s.removed[2], ElementsAre("a"));
}

TEST(LegacyStore, Version1BackendIsReadAndWrittenThroughStoreOpen) {
  register_old_backend();
  {
    auto store = Store::open("oldstyle:direct");
    const std::vector<EventLogState> upserted = {sample("x", 7)};
    store->commit(Changes{Timestamp::from_unix(5, 6), upserted, {}});
  }
  PersistedState loaded = Store::open("oldstyle:direct", {.mode = OpenMode::read})->load();
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(5, 6));
  EXPECT_THAT(loaded.states, ElementsAre(sample("x", 7)));
  // A store opened for reading does not write, whatever the backend.
  auto reader = Store::open("oldstyle:direct", {.mode = OpenMode::read});
  try {
    reader->commit(Changes{Timestamp::from_unix(7, 8), {}, {}});
    ADD_FAILURE() << "a reader committed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
  }
}

TEST(LegacyStore, CheckpointTakesAVersion1StoreObject) {
  {
    Checkpoint cp(std::make_unique<OldStore>("object"));
    cp.persist("s", 9, Timestamp::from_unix(1'600'000'000, 5), "<b/>");
  }
  std::lock_guard lock(seen_mutex);
  EXPECT_THAT(testing::values(seen()["object"].stored.states), ElementsAre(sample("s", 9)));
}

// open_store() serves any store, version 2 ones included, as a StateStore;
// Commit::states decides between upserted and removed.
TEST(LegacyStore, OpenStoreServesAVersion2StoreAsAStateStore) {
  testing::TempDir dir("legacy_store_test");
  const std::string uri = "sqlite:" + (dir.path() / "state.db").string();
  {
    auto store = open_store(uri);
    StateMap states = {{"a", sample("a", 1)}, {"b", sample("b", 2)}};
    std::vector<std::string> upserted = {"b", "a", "gone"}, removed = {"never-held"};
    store->commit(Commit{Timestamp::from_unix(10, 1), states, upserted, removed});
    EXPECT_THAT(store->load().states, ElementsAre(sample("a", 1), sample("b", 2)));
    // Named as upserted but absent from the states: removed.
    states.erase("a");
    upserted = {"a"};
    removed = {};
    store->commit(Commit{Timestamp::from_unix(11, 1), states, upserted, removed});
  }
  PersistedState loaded = Store::open(uri, {.mode = OpenMode::read})->load();
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(11, 1));
  EXPECT_THAT(loaded.states, ElementsAre(sample("b", 2)));
}

}  // namespace
}  // namespace checkpoint
