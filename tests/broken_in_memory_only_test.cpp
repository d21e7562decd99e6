// Must FAIL: a store that keeps its data in the store object (see broken_store.hpp).
#include "checkpoint/conformance.hpp"
#include "tests/broken_store.hpp"

[[maybe_unused]] static ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new checkpoint::testing::BrokenStoreEnvironment(
        "broken-memory", checkpoint::testing::Defect::in_memory_only));

CHECKPOINT_CONFORMANCE_SUITE(InMemoryOnly, [](const std::filesystem::path& dir) {
  return "broken-memory:" + (dir / "state").string();
});
