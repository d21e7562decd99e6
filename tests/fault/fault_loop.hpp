// The I/O fault loops every backend's fault test runs: for N = 1, 2, ...
// the Nth I/O call of a commit fails (through fault_plan.hpp), until a
// commit makes fewer than N calls. After each fault:
//  - commit() threw Error{io} naming the store (or, if the failed call did
//    not matter, succeeded);
//  - a new reader loads the previous commit intact, or the new one whole if
//    the failure came after the point of no return (for the whole-file
//    formats only the fsync of the directory after the rename);
//  - the next commit, through the same store object, succeeds and loads.
// The front end variant checks that Checkpoint keeps the failed changes
// and that its next flush() writes them.
#pragma once

#include <cstdint>
#include <ostream>
#include <set>
#include <string>

namespace checkpoint::fault {

struct Tally {
  std::uint64_t points = 0;              // fault points tried (an armed call failed)
  std::uint64_t failed = 0;              // of which commit() threw Error{io}
  std::uint64_t absorbed = 0;            // of which commit() succeeded anyway
  std::uint64_t new_whole = 0;           // failed, yet the new commit was in place
  std::set<std::string> absorbed_calls;  // the calls whose failure did not matter
  Tally& operator+=(const Tally& other);
};
std::ostream& operator<<(std::ostream& os, const Tally& tally);

struct LoopOptions {
  int err = 5;  // EIO
  // Whole-file formats: after a failure, the previous commit must load
  // unless a rename() came before the failing call.
  bool old_unless_renamed = false;
};

// StateStore::commit() with the Nth call failing. With `lock_held`, the
// store object has committed once before (it holds the writer lock);
// otherwise the faulty commit is its first and takes the lock too.
Tally store_faults(const std::string& uri, bool lock_held, const LoopOptions& options);

// Checkpoint::flush() with the Nth call failing, and Checkpoint's
// constructor (its load and first commit) with the Nth call failing.
Tally front_end_faults(const std::string& uri, const LoopOptions& options);
Tally open_faults(const std::string& uri, const LoopOptions& options);

}  // namespace checkpoint::fault
