// The conformance suite on one deliberately broken store (broken_store.hpp),
// whose defect the environment variable CHECKPOINT_BROKEN_DEFECT chooses. It
// must fail, in the case written for that defect:
// tests/expect_case_fails.cmake checks that.
#include "checkpoint/conformance.hpp"
#include "tests/broken_store.hpp"

[[maybe_unused]] static ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new checkpoint::testing::BrokenStoreEnvironment);

CHECKPOINT_CONFORMANCE_SUITE(Broken, [](const std::filesystem::path& dir) {
  return "broken:" + (dir / "state").string();
});
