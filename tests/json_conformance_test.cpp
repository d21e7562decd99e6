#include "checkpoint/conformance.hpp"

CHECKPOINT_CONFORMANCE_SUITE(Json, [](const std::filesystem::path& dir) {
  return "json:" + (dir / "state.json").string();
});
