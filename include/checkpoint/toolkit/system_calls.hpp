// The system calls behind the toolkit's file handling (durable_file.hpp,
// writer_lock.hpp, whole_file_store.hpp), called through one table so that
// a test can fail any one of them, or record them to cut the power in the
// middle of a commit (checkpoint/power_cut.hpp), the way LevelDB's Env and
// SQLite's xSetSystemCall do. Production code never changes the table; it
// only calls through sys(). A backend that does its file I/O through the
// toolkit gets that testing for free.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include "checkpoint/export.h"

namespace checkpoint::toolkit {

struct SystemCalls {
  int (*open)(const char* path, int flags, mode_t mode);
  ssize_t (*read)(int fd, void* buf, size_t n);
  ssize_t (*write)(int fd, const void* buf, size_t n);
  int (*fsync)(int fd);
  int (*close)(int fd);
  int (*rename)(const char* from, const char* to);
  int (*unlink)(const char* path);
  int (*mkdir)(const char* path, mode_t mode);
  int (*chmod)(const char* path, mode_t mode);
  int (*fchmod)(int fd, mode_t mode);
  int (*stat)(const char* path, struct stat* st);
  int (*flock)(int fd, int operation);
  int (*ftruncate)(int fd, off_t length);
  int (*fstat)(int fd, struct stat* st);
  int (*lstat)(const char* path, struct stat* st);
};

// The table in use: the real calls unless a test replaced them.
CHECKPOINT_API const SystemCalls& sys() noexcept;

// The real calls, for a test's replacements to forward to.
CHECKPOINT_API const SystemCalls& real_system_calls() noexcept;

// Replaces the table. For tests only, and only while no other thread is
// inside a call through it.
CHECKPOINT_API void set_system_calls(const SystemCalls& calls) noexcept;

}  // namespace checkpoint::toolkit
