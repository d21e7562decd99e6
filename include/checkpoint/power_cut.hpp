// PowerCut: what a power cut would leave of a directory, for stores that do
// their file I/O through checkpoint/toolkit (durable_file.hpp,
// writer_lock.hpp, or system_calls.hpp directly). In the spirit of LevelDB's
// fault-injection Env; part of the conformance library.
//
// While a PowerCut exists, it replaces the toolkit's system calls and
// follows what reaches stable storage under its directory:
//
// - a file's data is durable as of its last fsync() (a file created since
//   and never synced is empty);
// - a directory entry (a file or directory created, renamed or removed) is
//   durable once its directory was fsync()ed, until then the entry is as it
//   was at the last such fsync (or when the PowerCut was made).
//
// Everything under the directory at construction is durable. Use:
//
//   checkpoint::conformance::PowerCut power(dir);
//   power.cut_after(5);     // optional: the power goes after 5 more calls
//   store->commit(...);     // calls after the cut fail with EIO
//   power.cut();            // the power goes now (if it has not yet)
//   store.reset();          // the process dies with it
//   power.reboot();         // `dir` now holds what the disk held
//
// Only calls made through the toolkit are seen: a store that writes files
// by other means (SQLite, LMDB) is not tested by this (operations() stays
// 0), and one that mixes both would be judged wrongly. One PowerCut at a
// time; not thread-safe: no other thread may make toolkit calls meanwhile.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace checkpoint::conformance {

namespace detail {
struct PowerCutModel;
}

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
  // power went, and puts the real system calls back. Requires cut().
  void reboot();

  // What the toolkit calls did, one line each, for failure messages.
  std::string log() const;

 private:
  std::unique_ptr<detail::PowerCutModel> state_;
};

}  // namespace checkpoint::conformance
