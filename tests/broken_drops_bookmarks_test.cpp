// Must FAIL: a store that drops bookmarks (see broken_store.hpp).
#include "checkpoint/conformance.hpp"
#include "tests/broken_store.hpp"

[[maybe_unused]] static ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new checkpoint::testing::BrokenStoreEnvironment(
        "broken-bookmarks", checkpoint::testing::Defect::drops_bookmarks));

CHECKPOINT_CONFORMANCE_SUITE(DropsBookmarks, [](const std::filesystem::path& dir) {
  return "broken-bookmarks:" + (dir / "state").string();
});
