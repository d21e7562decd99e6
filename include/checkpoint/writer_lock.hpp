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
// The lock is an exclusive flock() on PATH.lock beside the store's files.
// flock() locks belong to an open file, not to a process, so a second store
// object in the same process is refused too; the operating system releases
// the lock when its holder exits, however it exits (kill -9 included), so a
// lock is never left stale. The file is created with mode 0600 and never
// removed: removing it could let two writers lock two different files. The
// holder writes its process id into it, for the message others get. The
// lock is advisory: it keeps out writers that use it, nothing else. A child
// made by fork() shares its parent's lock until it execs (the descriptor is
// close-on-exec) or exits. On NFS, Linux emulates flock() with POSIX record
// locks, which do not tell two store objects of one process apart.
#pragma once

#include <filesystem>
#include <string_view>

namespace checkpoint {

class WriterLock {
 public:
  WriterLock() noexcept = default;  // holds nothing
  ~WriterLock();                    // releases the lock, if held

  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // Locks the store whose data is at `path`, through the file PATH.lock (a
  // missing directory is created with mode 0750). `store` names the store
  // in messages ("yaml store /var/lib/x.yml"). Held by another writer:
  // Error{locked} naming the store, the lock file and the holder's process
  // id where known. Any other failure: Error{io} naming the store.
  static WriterLock acquire(const std::filesystem::path& path, std::string_view store);

  // The lock file of the store at `path`: PATH.lock.
  static std::filesystem::path lock_file(const std::filesystem::path& path);

  // Whether a writer holds the lock of the store at `path` now, as far as
  // can be told without taking it (Linux lists every flock() in
  // /proc/locks). False if there is no lock file; true if it cannot be
  // told. For readers that read without any lock when no writer can change
  // what they read (and check afterwards that none came).
  static bool is_held(const std::filesystem::path& path);

  bool held() const noexcept { return fd_ >= 0; }
  void release() noexcept;

 private:
  explicit WriterLock(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace checkpoint
