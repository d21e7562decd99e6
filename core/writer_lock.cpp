#include "checkpoint/writer_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/system_calls.hpp"

namespace checkpoint {
namespace {

using toolkit::sys;

[[noreturn]] void fail(std::string_view store, const std::string& what, int err) {
  throw Error(ErrorCode::io, std::string(store) + ": " + what + ": " + std::strerror(err));
}

// Opens PATH.lock, creating it with mode 0600 whatever the umask. Never
// through a symlink: someone could plant one to make us create or truncate
// a file elsewhere.
int open_lock_file(const std::filesystem::path& file, std::string_view store) {
  for (int attempt = 0;; ++attempt) {
    int fd = sys().open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // open()'s mode is filtered by the umask; the contract is 0600 regardless.
      if (sys().fchmod(fd, 0600) != 0) {
        int err = errno;
        sys().close(fd);
        fail(store, "cannot chmod " + file.string(), err);
      }
      return fd;
    }
    if (errno != EEXIST) fail(store, "cannot create " + file.string(), errno);
    fd = sys().open(file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd >= 0) return fd;
    // Removed between the two calls (by hand): create it again, a few times.
    if (errno != ENOENT || attempt == 3) fail(store, "cannot open " + file.string(), errno);
  }
}

// The process id the holder wrote, or 0 if there is none (yet).
long holder_pid(int fd) {
  char buf[32];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  long pid = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, pid);
  if (ec != std::errc() || pid <= 0) return 0;
  return pid;
}

[[noreturn]] void locked(int fd, const std::filesystem::path& file, std::string_view store) {
  long pid = holder_pid(fd);
  std::string holder = "another writer";
  if (pid == static_cast<long>(::getpid())) {
    holder = "another store object in this process (pid " + std::to_string(pid) + ")";
  } else if (pid != 0) {
    holder = "another writer (pid " + std::to_string(pid) + ")";
  }
  sys().close(fd);
  throw Error(ErrorCode::locked, std::string(store) + ": locked by " + holder + ", which holds " +
                                     file.string() + "; one writer at a time (readers may load)");
}

// Best effort: the pid only makes others' messages more helpful, so a
// failure to write it (a full disk) does not give the lock up.
void write_pid(int fd) {
  std::string text = std::to_string(::getpid()) + "\n";
  if (sys().ftruncate(fd, 0) != 0) return;
  sys().write(fd, text.data(), text.size());
}

}  // namespace

std::filesystem::path WriterLock::lock_file(const std::filesystem::path& path) {
  return path.string() + ".lock";
}

bool WriterLock::is_held(const std::filesystem::path& path) {
  struct stat st;
  if (::stat(lock_file(path).c_str(), &st) != 0) return errno != ENOENT;
  std::ifstream locks("/proc/locks");
  if (!locks) return true;
  // Each line names the locked file as MAJOR:MINOR:INODE, the device
  // numbers in hex: "1: FLOCK  ADVISORY  WRITE 4711 fd:01:1234 0 EOF".
  char wanted[64];
  std::snprintf(wanted, sizeof wanted, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string field;
    while (fields >> field) {
      if (field == wanted) return true;
    }
  }
  return false;
}

WriterLock WriterLock::acquire(const std::filesystem::path& path, std::string_view store) {
  toolkit::create_directories(path.parent_path(), store);
  const std::filesystem::path file = lock_file(path);
  int fd = open_lock_file(file, store);
  while (sys().flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) locked(fd, file, store);
    int err = errno;
    sys().close(fd);
    fail(store, "cannot lock " + file.string(), err);
  }
  write_pid(fd);
  return WriterLock(fd);
}

WriterLock::~WriterLock() { release(); }

WriterLock::WriterLock(WriterLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void WriterLock::release() noexcept {
  // Closing the only descriptor of the open file releases the flock(). The
  // pid stays in the file; the next holder overwrites it.
  if (fd_ >= 0) sys().close(fd_);
  fd_ = -1;
}

}  // namespace checkpoint
