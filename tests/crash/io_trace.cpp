// The interposed C library calls of io_trace.hpp.
#include "tests/crash/io_trace.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

namespace checkpoint::crash {
namespace {

using Kind = IoEvent::Kind;

std::mutex mutex;
std::atomic<bool> tracing{false};
std::string root;  // absolute and canonical, as /proc/self/fd names files
std::vector<IoEvent> events;
// Set while a call is being noted: what noting does itself is not noted.
thread_local bool noting = false;

// The C library's function `name`, next after ours.
template <typename Function>
Function next(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

bool under_root(const std::string& path) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

std::string path_of(int fd) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[PATH_MAX];
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

// Runs `body` unless the call is not to be noted; keeps errno as the
// interposed call left it.
template <typename Body>
void unless_noting(Body body) {
  if (!tracing.load(std::memory_order_relaxed) || noting) return;
  const int saved = errno;
  noting = true;
  body();
  noting = false;
  errno = saved;
}

void add(IoEvent event) {
  std::lock_guard lock(mutex);
  if (tracing && under_root(event.path)) events.push_back(std::move(event));
}

// Where a write through `fd` lands: the end of the file with O_APPEND.
std::uint64_t position(int fd) {
  std::uint64_t out = 0;
  unless_noting([&] {
    struct stat st;
    if ((::fcntl(fd, F_GETFL) & O_APPEND) != 0 && ::fstat(fd, &st) == 0) {
      out = static_cast<std::uint64_t>(st.st_size);
    } else if (off_t at = ::lseek(fd, 0, SEEK_CUR); at >= 0) {
      out = static_cast<std::uint64_t>(at);
    }
  });
  return out;
}

void note(int fd, Kind kind, std::uint64_t offset, std::uint64_t length) {
  unless_noting([&] {
    IoEvent event;
    event.kind = kind;
    event.path = path_of(fd);
    if (event.path.empty()) return;
    struct stat st;
    event.directory = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    const int flags = ::fcntl(fd, F_GETFL);
    event.synchronous = kind == Kind::write && flags >= 0 && (flags & O_DSYNC) != 0;
    event.offset = offset;
    event.length = length;
    add(std::move(event));
  });
}

// msync() names memory: the file mapped there, from /proc/self/maps.
void note_msync(const void* address, std::size_t length) {
  unless_noting([&] {
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
      std::uintptr_t start = 0, end = 0;
      unsigned long long file_offset = 0;
      int path_at = 0;
      if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " %*s %llx %*s %*s %n", &start, &end,
                      &file_offset, &path_at) < 3 ||
          at < start || at >= end || path_at == 0) {
        continue;
      }
      IoEvent event;
      event.kind = Kind::msync;
      event.path = line.substr(static_cast<std::size_t>(path_at));
      event.offset = file_offset + (at - start);
      event.length = length;
      add(std::move(event));
      return;
    }
  });
}

std::uint64_t total(const struct iovec* iov, int count) {
  std::uint64_t out = 0;
  for (int i = 0; i < count; ++i) out += iov[i].iov_len;
  return out;
}

}  // namespace

std::string to_string(const IoEvent& event) {
  static const char* const kNames[] = {"write", "fsync", "fdatasync", "msync", "sync_file_range"};
  std::ostringstream out;
  out << kNames[static_cast<int>(event.kind)] << " " << event.path;
  if (event.directory) out << " (directory)";
  if (event.kind == Kind::write || event.kind == Kind::msync) {
    out << " [" << event.offset << ", +" << event.length << ")";
  }
  if (event.synchronous) out << " (O_DSYNC)";
  return out.str();
}

void start_io_trace(const std::filesystem::path& dir) {
  std::lock_guard lock(mutex);
  root = std::filesystem::weakly_canonical(std::filesystem::absolute(dir)).string();
  events.clear();
  tracing = true;
}

std::vector<IoEvent> take_io_trace() {
  std::lock_guard lock(mutex);
  return std::exchange(events, {});
}

void stop_io_trace() {
  std::lock_guard lock(mutex);
  tracing = false;
  events.clear();
}

}  // namespace checkpoint::crash

using checkpoint::crash::IoEvent;
using checkpoint::crash::next;
using checkpoint::crash::note;
using checkpoint::crash::position;

extern "C" {

ssize_t write(int fd, const void* buf, size_t n) {
  static auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  const std::uint64_t at = position(fd);
  ssize_t done = real(fd, buf, n);
  if (done > 0) note(fd, IoEvent::Kind::write, at, static_cast<std::uint64_t>(done));
  return done;
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  ssize_t done = real(fd, buf, n, offset);
  if (done > 0) {
    note(fd, IoEvent::Kind::write, static_cast<std::uint64_t>(offset),
         static_cast<std::uint64_t>(done));
  }
  return done;
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t offset) {
  static auto real = next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  ssize_t done = real(fd, buf, n, offset);
  if (done > 0) {
    note(fd, IoEvent::Kind::write, static_cast<std::uint64_t>(offset),
         static_cast<std::uint64_t>(done));
  }
  return done;
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  const std::uint64_t at = position(fd);
  ssize_t done = real(fd, iov, count);
  if (done > 0) note(fd, IoEvent::Kind::write, at, static_cast<std::uint64_t>(done));
  return done;
}

ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int, off_t)>("pwritev");
  ssize_t done = real(fd, iov, count, offset);
  if (done > 0) {
    note(fd, IoEvent::Kind::write, static_cast<std::uint64_t>(offset),
         std::min<std::uint64_t>(static_cast<std::uint64_t>(done),
                                 checkpoint::crash::total(iov, count)));
  }
  return done;
}

int fsync(int fd) {
  static auto real = next<int (*)(int)>("fsync");
  int rc = real(fd);
  if (rc == 0) note(fd, IoEvent::Kind::fsync, 0, 0);
  return rc;
}

int fdatasync(int fd) {
  static auto real = next<int (*)(int)>("fdatasync");
  int rc = real(fd);
  if (rc == 0) note(fd, IoEvent::Kind::fdatasync, 0, 0);
  return rc;
}

int msync(void* address, size_t length, int flags) {
  static auto real = next<int (*)(void*, size_t, int)>("msync");
  int rc = real(address, length, flags);
  if (rc == 0 && (flags & MS_SYNC) != 0) checkpoint::crash::note_msync(address, length);
  return rc;
}

int sync_file_range(int fd, off64_t offset, off64_t count, unsigned int flags) {
  static auto real = next<int (*)(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  int rc = real(fd, offset, count, flags);
  if (rc == 0) {
    note(fd, IoEvent::Kind::sync_file_range, static_cast<std::uint64_t>(offset),
         static_cast<std::uint64_t>(count));
  }
  return rc;
}

}  // extern "C"
