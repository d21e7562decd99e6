#include "checkpoint/conformance.hpp"

CHECKPOINT_CONFORMANCE_SUITE(Sqlite, [](const std::filesystem::path& dir) {
  return "sqlite:" + (dir / "state.db").string();
});
