// Must FAIL: a store that holds record numbers as doubles (see broken_store.hpp).
#include "checkpoint/conformance.hpp"
#include "tests/broken_store.hpp"

[[maybe_unused]] static ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new checkpoint::testing::BrokenStoreEnvironment(
        "broken-double", checkpoint::testing::Defect::double_records));

CHECKPOINT_CONFORMANCE_SUITE(DoubleRecords, [](const std::filesystem::path& dir) {
  return "broken-double:" + (dir / "state").string();
});
