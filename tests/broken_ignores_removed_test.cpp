// Must FAIL: a store that ignores Commit::removed (see broken_store.hpp).
#include "checkpoint/conformance.hpp"
#include "tests/broken_store.hpp"

[[maybe_unused]] static ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new checkpoint::testing::BrokenStoreEnvironment(
        "broken-removed", checkpoint::testing::Defect::ignores_removed));

CHECKPOINT_CONFORMANCE_SUITE(IgnoresRemoved, [](const std::filesystem::path& dir) {
  return "broken-removed:" + (dir / "state").string();
});
