// memory:NAME stores are shared by name within the process, so reopening
// one on the same string sees what was committed.
#include "checkpoint/conformance.hpp"

CHECKPOINT_CONFORMANCE_SUITE(Memory, [](const std::filesystem::path& dir) {
  return "memory:" + (dir / "state").string();
});
