// PowerCut: what a power cut could leave of a directory, for stores that do
// their file I/O through checkpoint/toolkit (durable_file.hpp,
// writer_lock.hpp, or system_calls.hpp directly). In the spirit of ALICE
// (Pillai et al., "All File Systems Are Not Created Equal", OSDI 2014) and
// CrashMonkey (Mohan et al., OSDI 2018); part of the conformance library.
//
// While a PowerCut exists, it replaces the toolkit's system calls and
// records every call on a path under its directory (or on a descriptor
// opened there): the files and directories created, written, truncated,
// renamed, removed and chmod()ed, and every fsync(). Everything under the
// directory at construction counts as durable. From that record it builds
// every state the disk could hold had the power gone after any number of
// those calls:
//
// - an fsync() of a file makes everything done to its data, size and mode
//   before it durable (POSIX fsync() with synchronized I/O; Linux fsync(2));
// - an fsync() of a directory makes the entries created, renamed or
//   removed in it before it durable (Linux fsync(2): syncing a file "does
//   not necessarily ensure that the entry in the directory containing the
//   file has also reached disk"; a rename between two directories needs
//   both); an entry whose directory is not itself reachable is lost with it;
// - each metadata operation (a create, mkdir, unlink, rename or chmod)
//   reaches the disk whole or not at all: a journaling file system (ext4,
//   XFS, btrfs) commits each in one transaction, so a rename never leaves
//   both names or neither;
// - nothing else is promised. Every subset of the operations not yet made
//   durable may have reached the disk, whatever order they were made in
//   (so an entry touched several times may hold any of its values), and
//   each un-synced write may be lost, complete, zero-filled (its size
//   reached the disk, its data did not: ext4 data=writeback, XFS) or torn:
//   a prefix of it written, cut at its first and last page boundary and in
//   its middle, the rest lost or zero-filled.
//
// This is weaker than ext4's default data=ordered mode (which writes data
// before the metadata naming it, and orders metadata operations), so a
// store that survives it survives ext4. In particular, "a rename persists
// only with or after the data of the file it names was synced" holds
// exactly when the program synced that data before the rename: an fsync
// that returned is never undone, and one that was not made promises
// nothing. Not modelled: arbitrary bytes in un-synced regions, tears that
// keep a later page and lose an earlier one, damage to synced data, and
// disks that ignore cache flushes.
//
// Two ways to use it. Every state (for_each_crash_state()):
//
//   checkpoint::conformance::PowerCut power(dir);
//   store->commit(...);                       // recorded
//   const auto acknowledged = power.operations();
//   power.cut();                              // the process dies with it
//   store.reset();
//   power.for_each_crash_state([&](const CrashState& state) {
//     // `dir` now holds this state: load it, compare it
//     return true;                            // false stops
//   });
//
// One state per cut (the one that loses everything not synced):
//
//   power.cut_after(5);     // optional: the power goes after 5 more calls
//   store->commit(...);     // calls after the cut fail with EIO
//   power.cut();            // the power goes now (if it has not yet)
//   store.reset();
//   power.reboot();         // `dir` now holds what the disk held
//
// Only calls made through the toolkit are seen: a store that writes files
// by other means (SQLite, LMDB) is not tested by this (operations() stays
// 0), and one that mixes both would be judged wrongly. One PowerCut at a
// time; not thread-safe: no other thread may make toolkit calls meanwhile.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace checkpoint::conformance {

namespace detail {
struct PowerCutModel;
}

// One state a power cut could leave (PowerCut::for_each_crash_state()).
struct CrashState {
  // The power went after any number of recorded calls from `earliest` to
  // `latest` (counted as operations() counts them): each of those cuts can
  // leave this state.
  std::size_t earliest = 0;
  std::size_t latest = 0;
  // The last call made before `earliest`, and what became of each call
  // not yet synced ("kept", "lost", "zero-filled", "torn after 4096 of
  // 9000 bytes, the rest lost"), one per line: for failure messages.
  std::string description;
};

class PowerCut {
 public:
  explicit PowerCut(std::filesystem::path dir);
  ~PowerCut();  // puts the real system calls back (without rebooting)
  PowerCut(const PowerCut&) = delete;
  PowerCut& operator=(const PowerCut&) = delete;

  // Toolkit calls on paths under the directory (or on descriptors opened
  // there) since construction.
  std::size_t operations() const;

  // The power goes after `n` more such calls: every later call fails with
  // EIO and changes nothing.
  void cut_after(std::size_t n);
  // The power goes now, if it has not yet.
  void cut();
  bool was_cut() const;

  // Replaces what is under the directory with what the disk held when the
  // power went, had everything not synced been lost, and puts the real
  // system calls back. Requires cut().
  void reboot();

  // Puts the real system calls back and, for every distinct state a power
  // cut after `from` or more of the recorded calls could leave (in the
  // order of the calls), writes the state over the directory and calls
  // `check`, until it returns false. Returns how many states were checked.
  // Requires cut(). Throws std::length_error if a cut point leaves more
  // than a million combinations of un-synced operations to try.
  std::size_t for_each_crash_state(const std::function<bool(const CrashState&)>& check,
                                   std::size_t from = 0);

  // What the toolkit calls did, one line each, for failure messages.
  std::string log() const;

 private:
  std::unique_ptr<detail::PowerCutModel> state_;
};

}  // namespace checkpoint::conformance
