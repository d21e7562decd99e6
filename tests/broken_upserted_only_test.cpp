// Must FAIL: a store that writes only the upserted states (see broken_store.hpp).
#include "checkpoint/conformance.hpp"
#include "tests/broken_store.hpp"

[[maybe_unused]] static ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new checkpoint::testing::BrokenStoreEnvironment(
        "broken-upserted", checkpoint::testing::Defect::upserted_only));

CHECKPOINT_CONFORMANCE_SUITE(UpsertedOnly, [](const std::filesystem::path& dir) {
  return "broken-upserted:" + (dir / "state").string();
});
