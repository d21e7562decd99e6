// Deliberately broken stores, to prove that the conformance suite fails
// them. Each defect is one that a real backend could plausibly have.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace checkpoint::testing {

enum class Defect {
  drops_bookmarks,  // stores every state without its bookmark
  double_records,   // stores record numbers as a double would hold them
  ignores_removed,  // never deletes what Commit::removed names
  upserted_only,    // writes only the upserted states and loses the rest
  in_memory_only,   // keeps data in the store object: reopening loses it
  no_writer_lock,   // holds the store only during each commit: two writers can write
};

// Registers a backend with `defect` under `scheme` before the tests run.
// Its targets name shared in-process stores, like memory:NAME.
class BrokenStoreEnvironment : public ::testing::Environment {
 public:
  BrokenStoreEnvironment(std::string scheme, Defect defect)
      : scheme_(std::move(scheme)), defect_(defect) {}
  void SetUp() override;

 private:
  std::string scheme_;
  Defect defect_;
};

}  // namespace checkpoint::testing
