// WriterLock: one writer per store, in this process or any other.
//
// The built-in stores kept in files (yaml, json, sqlite, lmdb) take a
// WriterLock when they are opened for writing, before they read anything,
// and hold it until the store object is destroyed; a store opened for
// reading never takes it, so readers (checkpointctl dump, verify) work while
// a writer runs. A second writer gets Error{locked}. A backend of your own
// that keeps its data in files does the same in its constructor:
//
//   MyStore(const std::filesystem::path& path, const checkpoint::OpenOptions& options)
//       : path_(path), label_("mystore store " + path.string()) {
//     if (options.mode == checkpoint::OpenMode::write)
//       lock_ = checkpoint::WriterLock::acquire(path_, label_);
//     ...
//
// The lock is an exclusive flock() on PATH.lock beside the store's files,
// and one on the data file PATH itself while it exists. One store file has
// one writer whatever name reaches it: a symbolic link at PATH is followed
// first (toolkit::follow_symlinks()), so the lock file lies beside the file
// the link leads to; a directory reached through a symlink or a bind mount
// holds the same lock file anyway; and a hard link, which has a lock file of
// its own, shares the data file's flock() (a store that replaces its file
// at each commit, as yaml and json do, parts a hard link at its first
// commit: the other name keeps the old file). flock() locks belong to an open
// file, not to a process, so a second store object in the same process is
// refused too; the operating system releases the lock when its holder
// exits, however it exits (kill -9 included), so a lock is never left
// stale. The lock file is created with mode 0600 (or the store's
// toolkit::FileModes, see the second acquire()) and never removed:
// removing it could let two writers lock two different files. The holder
// writes its process id into it, for the message others get; a PATH.lock
// that is not a regular file of this user with one name (a symlink, a hard
// link to some other file, a FIFO, a directory, another user's file) is
// never opened for writing, truncated or written: Error{invalid_config}.
// The lock is advisory: it keeps out writers that use it, nothing else. A
// child made by fork() shares its parent's lock until it execs (the
// descriptors are close-on-exec) or exits. On NFS, Linux emulates flock()
// with POSIX record locks, which do not tell two store objects of one
// process apart.
//
// The descriptor held on the data file is closed when the lock is
// released. Closing any descriptor of a file drops every POSIX record lock
// (fcntl) that the process holds on it, and SQLite keeps such locks on its
// database file: a store whose library locks its data file that way must
// release the WriterLock only after closing the library's handle (declare
// the WriterLock member before the handle). For the same reason a second
// writer in this process that reaches a held data file through another name
// is refused without opening it.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "checkpoint/export.h"
#include "checkpoint/toolkit/file_modes.hpp"

namespace checkpoint {

class CHECKPOINT_API WriterLock {
 public:
  WriterLock() noexcept = default;  // holds nothing
  ~WriterLock();                    // releases the lock, if held

  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // Locks the store whose data is at `path`, through the file PATH.lock (a
  // missing directory is created with mode 0750) and the data file PATH if
  // it exists; a symlink at `path` is followed first. `store` names the
  // store in messages ("yaml store /var/lib/x.yml"). Held by another writer,
  // under this name or another: Error{locked} naming the store, the file
  // and the holder's process id where known. A PATH that exists but is not
  // a regular file (a FIFO, a device, a directory), or a PATH.lock that is
  // not a lock file of ours (see above): Error{invalid_config} naming it,
  // since trying again cannot help. Any other failure: Error{io} naming the
  // store.
  static WriterLock acquire(const std::filesystem::path& path, std::string_view store);

  // The same for a store whose files have configurable permissions
  // (toolkit/file_modes.hpp): missing directories are created with
  // modes.dir and PATH.lock with modes.file, and an existing PATH.lock, and
  // the data file whenever it is locked (here or by lock_data_file()), are
  // given modes.file: a writer makes the store's files carry the
  // configured mode. (The acquire() above applies 0600 and 0750 only to
  // what it creates.) Failing to chmod (another user's data file):
  // Error{io}.
  static WriterLock acquire(const std::filesystem::path& path, std::string_view store,
                            const toolkit::FileModes& modes);

  // The same, but a lock held by another writer is waited for, up to
  // `wait` (a rolling update: the old writer is still closing), before
  // Error{locked}, whose message then says how long it waited. The built-in
  // file backends pass their option lock_timeout_ms (toolkit::
  // lock_timeout_option()). flock() has no deadline of its own: the lock is
  // tried again with a growing pause (1 ms doubling to 50 ms), so it is
  // taken at most 50 ms after the holder goes. Zero: acquire(path, store).
  static WriterLock acquire(const std::filesystem::path& path, std::string_view store,
                            std::chrono::milliseconds wait);
  // Both: the modes applied, and the lock waited for.
  static WriterLock acquire(const std::filesystem::path& path, std::string_view store,
                            const toolkit::FileModes& modes, std::chrono::milliseconds wait);

  // The lock file of the store at `path`: PATH.lock, beside the file a
  // symlink at `path` leads to.
  static std::filesystem::path lock_file(const std::filesystem::path& path);

  // Whether a writer holds the lock file of the store at `path` now, as far
  // as can be told without taking it (Linux lists every flock() in
  // /proc/locks). False if there is no lock file; true if it cannot be
  // told. For readers that read without any lock when no writer can change
  // what they read (and check afterwards that none came).
  static bool is_held(const std::filesystem::path& path);

  // Whether a WriterLock of this process holds the data file at `path`
  // (whatever name reaches it). A reader in the same process as such a
  // writer must not open and close the file itself (see above): SQLite's
  // readers check this.
  static bool held_in_this_process(const std::filesystem::path& path);

  // Locks the data file too, for a store that creates it after acquire()
  // found none, so that a hard link made to the new file conflicts as
  // well. Nothing happens if the lock is not held, already covers the data
  // file or the file is still missing. Errors as acquire().
  void lock_data_file();

  // The holder replaced the data file (renamed a new file over PATH, as a
  // compaction does): the lock on the old file is dropped and the new one
  // locked, PATH.lock staying held throughout. Errors as acquire().
  void data_file_replaced();

  bool held() const noexcept { return fd_ >= 0; }
  void release() noexcept;

 private:
  static WriterLock acquire(const std::filesystem::path& path, std::string_view store,
                            const toolkit::FileModes& modes, bool apply,
                            std::chrono::milliseconds wait);
  void lock_data_file(std::chrono::steady_clock::time_point deadline);
  void release_data_file() noexcept;

  int fd_ = -1;                      // PATH.lock
  int data_fd_ = -1;                 // PATH, while it is locked too
  std::filesystem::path data_file_;  // PATH, symlinks followed
  std::string store_;                // for lock_data_file()'s messages
  std::optional<mode_t> file_mode_;  // given to the data file when it is locked
};

}  // namespace checkpoint
