#include "checkpoint/writer_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/file_modes.hpp"
#include "checkpoint/toolkit/system_calls.hpp"

namespace checkpoint {
namespace {

using toolkit::sys;

[[noreturn]] void fail(std::string_view store, const std::string& what, int err) {
  throw toolkit::system_error(ErrorCode::io, store, what, err);
}

// The data files that WriterLocks of this process hold, by identity. A
// second writer here that reaches one of them through another name (a hard
// link) is refused before it opens the file: closing its descriptor after a
// failed flock() would drop the POSIX locks that SQLite, say, holds on the
// file for the first writer.
struct HeldFiles {
  std::mutex mutex;
  std::set<std::pair<dev_t, ino_t>> files;
};

HeldFiles& held_files() {
  // Never destroyed: locks may be released during static destruction.
  static HeldFiles* held = new HeldFiles;
  return *held;
}

const char* kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// Refuses a PATH.lock that is not a regular file of this user with one
// name, before anything is written through it: a planted hard link would
// have us truncate the file it shares its data with, another user's file
// would become ours to write (and a writer of another user leaves store
// files that the store's owner cannot read). Error{invalid_config}, not
// Error{io}: it stays so until someone removes the file, so trying again
// cannot help.
void check_lock_file(const struct stat& st, const std::filesystem::path& file,
                     std::string_view store) {
  std::string why;
  if (!S_ISREG(st.st_mode)) {
    why = std::string("is ") + kind_of(st.st_mode) + ", not a regular file";
  } else if (st.st_nlink != 1) {
    why = "has " + std::to_string(st.st_nlink) +
          " names (a hard link: writing it would write another file too)";
  } else if (st.st_uid != ::geteuid()) {
    throw toolkit::store_error(
        ErrorCode::invalid_config, store,
        file.string() + " belongs to uid " + std::to_string(st.st_uid) +
            ", and this process runs as uid " + std::to_string(::geteuid()) +
            ": run as the store's owner (a writer of another user would leave files that the "
            "owner cannot read)");
  } else {
    return;
  }
  throw toolkit::store_error(ErrorCode::invalid_config, store,
                             file.string() + " " + why +
                                 ", so it cannot be our lock file; it was left untouched: "
                                 "remove it, then try again");
}

// Opens PATH.lock, creating it with `mode` whatever the umask, and giving
// an existing one `mode` if `apply` (a writer of a store configured so). Never
// through a symlink, and never anything but a regular file of ours with one
// name, which is looked at before it is opened (opening a device can do
// things) and again once open (it may have been swapped in between).
// O_NONBLOCK: a FIFO put there must not block the open.
int open_lock_file(const std::filesystem::path& file, std::string_view store, mode_t mode,
                   bool apply) {
  for (int attempt = 0;; ++attempt) {
    int fd = sys().open(file.c_str(),
                        O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode);
    if (fd >= 0) {
      // open()'s mode is filtered by the umask; the contract is `mode` regardless.
      if (sys().fchmod(fd, mode) != 0) {
        int err = errno;
        sys().close(fd);
        fail(store, "cannot chmod " + file.string(), err);
      }
      return fd;
    }
    if (errno != EEXIST) fail(store, "cannot create " + file.string(), errno);
    // Removed between two calls (by hand): create it again, a few times.
    const bool again = attempt < 3;
    struct stat before {};
    if (sys().lstat(file.c_str(), &before) != 0) {
      if (errno == ENOENT && again) continue;
      fail(store, "cannot stat " + file.string(), errno);
    }
    check_lock_file(before, file, store);
    fd = sys().open(file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0) {
      if (errno == ENOENT && again) continue;
      fail(store, "cannot open " + file.string(), errno);
    }
    struct stat st {};
    if (sys().fstat(fd, &st) != 0) {
      int err = errno;
      sys().close(fd);
      fail(store, "cannot stat " + file.string(), err);
    }
    if (st.st_dev != before.st_dev || st.st_ino != before.st_ino) {
      sys().close(fd);
      if (again) continue;
      fail(store, "cannot open " + file.string() + ": it keeps being replaced", EAGAIN);
    }
    try {
      check_lock_file(st, file, store);
    } catch (...) {
      sys().close(fd);
      throw;
    }
    if (apply && (st.st_mode & 07777) != mode && sys().fchmod(fd, mode) != 0) {
      int err = errno;
      sys().close(fd);
      fail(store, "cannot give " + file.string() + " mode " + toolkit::mode_text(mode), err);
    }
    return fd;
  }
}

// "MAJOR:MINOR:INODE", the device numbers in hex, as /proc/locks names files.
std::string proc_locks_id(const struct stat& st) {
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return id;
}

// The lock that /proc/locks lists on the file `st` describes: nullopt if
// none, else the holder's process id (0 if unknown). `flock_only`: only
// flock() locks count, not POSIX record locks (which SQLite takes on its
// files). Lines look like "1: FLOCK  ADVISORY  WRITE 4711 fd:01:1234 0 EOF";
// waiters ("1: -> FLOCK ...") hold nothing. Without /proc/locks: a holder
// of unknown pid, since it cannot be told.
std::optional<long> lock_holder(const struct stat& st, bool flock_only) {
  std::ifstream locks("/proc/locks");
  if (!locks) return 0;
  const std::string wanted = proc_locks_id(st);
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream in(line);
    std::vector<std::string> fields;
    for (std::string field; in >> field;) fields.push_back(field);
    if (fields.size() < 6 || fields[1] == "->" || fields[5] != wanted) continue;
    if (flock_only && fields[1] != "FLOCK") continue;
    long pid = 0;
    std::from_chars(fields[4].data(), fields[4].data() + fields[4].size(), pid);
    return pid;
  }
  return std::nullopt;
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

std::string holder_name(long pid) {
  if (pid == static_cast<long>(::getpid())) {
    return "another store object in this process (pid " + std::to_string(pid) + ")";
  }
  if (pid > 0) return "another writer (pid " + std::to_string(pid) + ")";
  return "another writer";
}

using Deadline = std::chrono::steady_clock::time_point;

// How long the holder was waited for, when a wait was asked for.
std::string waited(std::chrono::milliseconds wait) {
  if (wait.count() <= 0) return "";
  return ", still after " + std::to_string(wait.count()) + " ms of waiting (lock_timeout_ms)";
}

[[noreturn]] void locked(std::string_view store, long pid, const std::string& holds,
                         std::chrono::milliseconds wait = {}) {
  throw toolkit::store_error(ErrorCode::locked, store,
                             "locked by " + holder_name(pid) + ", which holds " + holds +
                                 waited(wait) + "; one writer at a time (readers may load)");
}

// flock(LOCK_EX | LOCK_NB) on `fd`, tried again until `deadline` while
// another holds it, with a pause growing from 1 ms to 50 ms: flock() has no
// timeout of its own, and a blocking flock() could only be cut short by a
// signal, which a library must not take. 0 once locked, else the errno of
// the last attempt (EWOULDBLOCK: still held at the deadline).
int flock_until(int fd, Deadline deadline) {
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (sys().flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return errno;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return EWOULDBLOCK;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

// Best effort: the pid only makes others' messages more helpful, so a
// failure to write it (a full disk) does not give the lock up. The file
// was checked to be ours alone (open_lock_file()).
void write_pid(int fd) {
  std::string text = std::to_string(::getpid()) + "\n";
  if (sys().ftruncate(fd, 0) != 0) return;
  sys().write(fd, text.data(), text.size());
}

// `path` with its symlinks followed, or nullopt if that fails.
std::optional<std::filesystem::path> followed(const std::filesystem::path& path) {
  try {
    return toolkit::follow_symlinks(path, path.string());
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

std::filesystem::path WriterLock::lock_file(const std::filesystem::path& path) {
  return followed(path).value_or(path).string() + ".lock";
}

bool WriterLock::is_held(const std::filesystem::path& path) {
  auto data = followed(path);
  if (!data) return true;
  struct stat st;
  if (::stat((data->string() + ".lock").c_str(), &st) != 0) return errno != ENOENT;
  return lock_holder(st, /*flock_only=*/false).has_value();
}

bool WriterLock::held_in_this_process(const std::filesystem::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  HeldFiles& held = held_files();
  std::lock_guard lock(held.mutex);
  return held.files.contains({st.st_dev, st.st_ino});
}

WriterLock WriterLock::acquire(const std::filesystem::path& path, std::string_view store) {
  return acquire(path, store, toolkit::FileModes{}, /*apply=*/false, std::chrono::milliseconds(0));
}

WriterLock WriterLock::acquire(const std::filesystem::path& path, std::string_view store,
                               const toolkit::FileModes& modes) {
  return acquire(path, store, modes, /*apply=*/true, std::chrono::milliseconds(0));
}

WriterLock WriterLock::acquire(const std::filesystem::path& path, std::string_view store,
                               std::chrono::milliseconds wait) {
  return acquire(path, store, toolkit::FileModes{}, /*apply=*/false, wait);
}

WriterLock WriterLock::acquire(const std::filesystem::path& path, std::string_view store,
                               const toolkit::FileModes& modes, std::chrono::milliseconds wait) {
  return acquire(path, store, modes, /*apply=*/true, wait);
}

WriterLock WriterLock::acquire(const std::filesystem::path& path, std::string_view store,
                               const toolkit::FileModes& modes, bool apply,
                               std::chrono::milliseconds wait) {
  wait = std::max(wait, std::chrono::milliseconds(0));
  const Deadline deadline = std::chrono::steady_clock::now() + wait;
  WriterLock lock;
  lock.store_ = store;
  if (apply) lock.file_mode_ = modes.file;
  // Beside the file a symlink leads to: every link to it finds this lock.
  lock.data_file_ = toolkit::follow_symlinks(path, store);
  // Something that cannot hold a store (a FIFO, a device, a directory) is
  // refused before a lock file is made beside it (in /dev, say).
  struct stat st;
  if (sys().stat(lock.data_file_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    throw toolkit::store_error(ErrorCode::invalid_config, store,
                               lock.data_file_.string() + " is " + kind_of(st.st_mode) +
                                   ", not a regular file: it cannot hold a store");
  }
  toolkit::create_directories(lock.data_file_.parent_path(), store, modes.dir);
  const std::filesystem::path file = lock.data_file_.string() + ".lock";
  int fd = open_lock_file(file, store, modes.file, apply);
  if (int err = flock_until(fd, deadline); err != 0) {
    long pid = err == EWOULDBLOCK ? holder_pid(fd) : 0;
    sys().close(fd);
    if (err == EWOULDBLOCK) locked(store, pid, file.string(), wait);
    fail(store, "cannot lock " + file.string(), err);
  }
  lock.fd_ = fd;
  lock.lock_data_file(deadline);  // a hard link has a lock file of its own, not a data file
  write_pid(fd);
  return lock;
}

void WriterLock::lock_data_file() { lock_data_file(std::chrono::steady_clock::now()); }

void WriterLock::lock_data_file(Deadline deadline) {
  if (fd_ < 0 || data_fd_ >= 0) return;
  struct stat st;
  if (sys().stat(data_file_.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;  // not made yet
    fail(store_, "cannot stat " + data_file_.string(), errno);
  }
  if (!S_ISREG(st.st_mode)) return;  // no store: the store refuses it in its own words
  const std::string holds =
      "its data file " + data_file_.string() + " through another name (a hard link)";
  auto& held = held_files();
  std::lock_guard guard(held.mutex);
  if (held.files.contains({st.st_dev, st.st_ino})) locked(store_, ::getpid(), holds);
  int fd = sys().open(data_file_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == ENOENT) return;  // removed meanwhile: nothing to lock
    fail(store_, "cannot open " + data_file_.string(), errno);
  }
  if (sys().fstat(fd, &st) != 0) {
    int err = errno;
    sys().close(fd);
    fail(store_, "cannot stat " + data_file_.string(), err);
  }
  if (!S_ISREG(st.st_mode)) {  // replaced meanwhile by something that holds no store
    sys().close(fd);
    return;
  }
  // Waited for under the mutex: no other WriterLock here may take this file
  // meanwhile, since closing our descriptor would drop its POSIX locks. A
  // writer here holding it was refused above; one elsewhere that held it
  // with PATH.lock (a writer exiting closes its descriptors one by one)
  // lets it go at once.
  if (int err = flock_until(fd, deadline); err != 0) {
    sys().close(fd);
    if (err == EWOULDBLOCK) locked(store_, lock_holder(st, /*flock_only=*/true).value_or(0), holds);
    fail(store_, "cannot lock " + data_file_.string(), err);
  }
  if (file_mode_ && (st.st_mode & 07777) != *file_mode_ && sys().fchmod(fd, *file_mode_) != 0) {
    int err = errno;
    sys().close(fd);
    fail(store_, "cannot give " + data_file_.string() + " mode " + toolkit::mode_text(*file_mode_),
         err);
  }
  held.files.insert({st.st_dev, st.st_ino});
  data_fd_ = fd;
}

void WriterLock::data_file_replaced() {
  if (fd_ < 0) return;
  release_data_file();
  lock_data_file();
}

WriterLock::~WriterLock() { release(); }

WriterLock::WriterLock(WriterLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      data_fd_(std::exchange(other.data_fd_, -1)),
      data_file_(std::move(other.data_file_)),
      store_(std::move(other.store_)),
      file_mode_(other.file_mode_) {}

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    data_fd_ = std::exchange(other.data_fd_, -1);
    data_file_ = std::move(other.data_file_);
    store_ = std::move(other.store_);
    file_mode_ = other.file_mode_;
  }
  return *this;
}

void WriterLock::release_data_file() noexcept {
  if (data_fd_ < 0) return;
  auto& held = held_files();
  std::lock_guard guard(held.mutex);
  struct stat st;
  bool known = ::fstat(data_fd_, &st) == 0;
  sys().close(data_fd_);
  if (known) held.files.erase({st.st_dev, st.st_ino});
  data_fd_ = -1;
}

void WriterLock::release() noexcept {
  // Closing the only descriptor of an open file releases its flock(). The
  // pid stays in the lock file; the next holder overwrites it.
  release_data_file();
  if (fd_ >= 0) sys().close(fd_);
  fd_ = -1;
}

}  // namespace checkpoint
