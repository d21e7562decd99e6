// The conformance suite on the lmdb backend: one data file per test
// directory (LMDB's lock file goes beside it).
#include "checkpoint/conformance.hpp"

CHECKPOINT_CONFORMANCE_SUITE(Lmdb, [](const std::filesystem::path& dir) {
  return "lmdb:" + (dir / "state.lmdb").string();
});
