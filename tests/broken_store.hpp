// Deliberately broken stores, to prove that the conformance suite fails
// them, each in the case written for its defect (tests/CMakeLists.txt runs
// each through tests/expect_case_fails.cmake). Each defect is one that a
// real backend could plausibly have. The stores keep a JSON document in a
// file, written with the public toolkit, except where the defect is in
// that.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

namespace checkpoint::testing {

enum class Defect {
  drops_bookmarks,    // stores every state without its bookmark
  double_records,     // stores record numbers as a double would hold them
  ignores_removed,    // never deletes what Changes::removed names
  upserted_only,      // writes only the upserted states and loses the rest
  in_memory_only,     // keeps data in the store object: another object sees nothing
  no_writer_lock,     // takes no lock: two writers can write
  foreign_exception,  // throws std::invalid_argument on damaged data
  lenient_values,     // reads damaged numbers and names as other values
  creates_on_read,    // opens for reading as it opens for writing: creates the store
  load_before_lock,   // takes its lock at its first commit, after it loaded
  no_fsync,           // never syncs: a power cut loses what commit() said was durable
  two_files,          // keeps the states in two files, written one after the other
  ignores_file_mode,  // takes file_mode and dir_mode, but creates its files 0600 all the same
};

// The defect named `name` (as spelled above), if there is one.
std::optional<Defect> defect_named(std::string_view name);

// Registers the "broken" backend before the tests run, with the defect the
// environment variable CHECKPOINT_BROKEN_DEFECT names (a test fails at once
// if it names none).
class BrokenStoreEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
};

}  // namespace checkpoint::testing
