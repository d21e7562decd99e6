#include "checkpoint/conformance.hpp"

CHECKPOINT_CONFORMANCE_SUITE(Yaml, [](const std::filesystem::path& dir) {
  return "yaml:" + (dir / "state.yml").string();
});
