// The stores written by release 0.1, before states had their own update
// times (tests/fixtures/release1/, see its README): every format loads
// them exactly, each state with the store's update time.
#pragma once

#include <string>

#include "checkpoint/store.hpp"

namespace checkpoint::testing {

// The fixture of one backend: "yml", "json", "db" (SQLite schema 1) or
// "lmdb" (LMDB format 1).
inline std::string release1_fixture(const std::string& extension) {
  return std::string(CHECKPOINT_RELEASE1_FIXTURES) + "/release1." + extension;
}

// What each fixture holds: checkpointctl's dump of it as release 0.1 made
// it, which has no per-state update times either, so that each state reads
// with the store's.
inline PersistedState release1_expected() {
  return Store::open("json:" + std::string(CHECKPOINT_RELEASE1_FIXTURES) + "/expected.json",
                     {.mode = OpenMode::read})
      ->load();
}

}  // namespace checkpoint::testing
