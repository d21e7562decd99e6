// Must FAIL: a store that lets two writers write (see broken_store.hpp).
#include "checkpoint/conformance.hpp"
#include "tests/broken_store.hpp"

[[maybe_unused]] static ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new checkpoint::testing::BrokenStoreEnvironment(
        "broken-no-lock", checkpoint::testing::Defect::no_writer_lock));

CHECKPOINT_CONFORMANCE_SUITE(NoWriterLock, [](const std::filesystem::path& dir) {
  return "broken-no-lock:" + (dir / "state").string();
});
