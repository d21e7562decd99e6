// The I/O fault loops every backend's fault test runs: for N = 1, 2, ...
// the Nth I/O call of an operation fails (through fault_plan.hpp), until the
// operation makes fewer than N calls. After each fault:
//  - the operation threw Error{io} naming the store (or, if the failed call
//    did not matter, succeeded);
//  - a reader (Store::open() with OpenMode::read, while the writer still
//    holds the store) loads the previous commit intact, or the new one whole
//    if the failure came after the point of no return (for the whole-file
//    formats only the fsync of the directory after the rename);
//  - a store that failed to open holds no lock: opening it again works;
//  - once the fault clears, the next commit (through the same store object
//    where it opened) succeeds and loads.
// The front end variants check that Checkpoint keeps the failed changes
// and that its next flush() writes them.
#pragma once

#include <cstdint>
#include <ostream>
#include <set>
#include <string>

#include "checkpoint/state.hpp"

namespace checkpoint::fault {

struct Tally {
  std::uint64_t points = 0;              // fault points tried (an armed call failed)
  std::uint64_t failed = 0;              // of which the operation threw Error{io}
  std::uint64_t failed_opening = 0;      // of those, in Store::open() or the load after it
  std::uint64_t absorbed = 0;            // of which the operation succeeded anyway
  std::uint64_t new_whole = 0;           // failed, yet the new commit was in place
  std::set<std::string> fault_calls;     // every call that was made to fail
  std::set<std::string> absorbed_calls;  // the calls whose failure did not matter
  Tally& operator+=(const Tally& other);
};
std::ostream& operator<<(std::ostream& os, const Tally& tally);

struct LoopOptions {
  int err = 5;  // EIO
  // Whole-file formats: after a failure, the previous commit must load
  // unless a rename() came before the failing call.
  bool old_unless_renamed = false;
  // The message says what the system call failed with (strerror(err), in
  // any case): stores whose I/O goes through the toolkit.
  bool names_os_error = false;
};

// What the faults hit, in a store opened with Store::open() for writing.
enum class Stage {
  // Store::open() of a store that does not exist, in a directory that does
  // not exist either (a new one for each fault), its load and first commit.
  creating,
  // Store::open() of an existing store (taking its writer lock), its load
  // and its first commit.
  opening,
  // The first commit of a store opened and loaded before the fault.
  first_commit,
  // A commit of a store that has committed once before.
  later_commit,
};

// Store::commit() (and, as `stage` says, Store::open()) with the Nth call
// failing.
Tally store_faults(const std::string& uri, Stage stage, const LoopOptions& options);

// Store::open() with OpenMode::read and load() with the Nth call failing:
// Error{io} naming the store, and the store is left as it was.
Tally read_faults(const std::string& uri, const LoopOptions& options);

// Checkpoint::flush() with the Nth call failing, and Checkpoint's
// constructor (its open, load and first commit) with the Nth call failing.
Tally front_end_faults(const std::string& uri, const LoopOptions& options);
Tally open_faults(const std::string& uri, const LoopOptions& options);

// Opening for writing a store of an older format version (a copy of
// `fixture` at the uri's path, made anew for each fault), loading it and
// committing no change with its update time, which upgrades it, with the
// Nth call failing: Error{io}, or success; either way a reader then loads
// exactly `expected` (the upgrade is whole or not made), and a writer opens
// it and loads the same.
Tally upgrade_faults(const std::string& uri, const std::string& fixture,
                     const PersistedState& expected, const LoopOptions& options);

}  // namespace checkpoint::fault
