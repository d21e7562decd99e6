#include "checkpoint/toolkit/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/system_calls.hpp"

namespace checkpoint::toolkit {
namespace {

// A failed system call: what was attempted and errno. The public functions
// turn it into Error{io} naming the store (and the file being written).
struct SysError {
  std::string what;
  int err;
};

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) sys().close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error that close() may carry (NFS, quotas).
  int close() {
    int rc = sys().close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// "" for a relative path's parent means the working directory.
std::filesystem::path parent_of(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

void fsync_directory(const std::filesystem::path& dir) {
  Fd fd(sys().open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
  if (fd.get() < 0) throw SysError{"cannot open directory " + dir.string(), errno};
  if (sys().fsync(fd.get()) != 0) throw SysError{"cannot fsync directory " + dir.string(), errno};
}

// Directories that exist are left as they are: they may be shared.
void make_directories(const std::filesystem::path& dir, mode_t mode) {
  if (dir.empty()) return;
  struct stat st;
  if (sys().stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw SysError{dir.string() + " is not a directory", ENOTDIR};
    return;
  }
  auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) make_directories(parent, mode);
  if (sys().mkdir(dir.c_str(), mode) != 0) {
    if (errno == EEXIST) return;  // made by someone else meanwhile
    throw SysError{"cannot create directory " + dir.string(), errno};
  }
  // mkdir's mode is filtered by the umask; the contract is `mode` regardless.
  if (sys().chmod(dir.c_str(), mode) != 0) throw SysError{"cannot chmod " + dir.string(), errno};
  // The new entry is durable only once its parent directory is synced.
  fsync_directory(parent_of(dir));
}

// Linux's own limit on links followed in one lookup.
constexpr int kMaxSymlinks = 40;

// See follow_symlinks(). ELOOP: a loop, or too many links.
std::filesystem::path follow(std::filesystem::path path) {
  for (int links = 0;; ++links) {
    struct stat st;
    if (sys().lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return path;  // what would be created
      throw SysError{"cannot stat " + path.string(), errno};
    }
    if (!S_ISLNK(st.st_mode)) return path;
    if (links == kMaxSymlinks) throw SysError{"too many symbolic links at " + path.string(), ELOOP};
    // st_size is the target's length, except where the file system says 0.
    std::string target(st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 256, '\0');
    for (;;) {
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) throw SysError{"cannot read the symbolic link " + path.string(), errno};
      if (static_cast<std::size_t>(n) < target.size()) {
        target.resize(static_cast<std::size_t>(n));
        break;
      }
      target.resize(target.size() * 2);  // maybe cut: read it again into more room
    }
    // Relative to the directory that holds the link, as the kernel reads it.
    // Not normalised: "dir/../x" must go through dir as the kernel does.
    std::filesystem::path next(target);
    path = next.is_absolute() ? next : path.parent_path() / next;
  }
}

void write_new_file(const std::filesystem::path& link, std::string_view contents, bool sync,
                    const FileModes& modes) {
  // A symlink at FILE stays: the file it leads to is the one replaced.
  const std::filesystem::path path = follow(link);
  make_directories(path.parent_path(), modes.dir);
  const std::filesystem::path tmp = path.string() + ".new";

  // A stale FILE.new (a crash mid-write, or something planted, such as a
  // symlink) is removed, not followed; O_EXCL|O_NOFOLLOW then guarantee that
  // we write a file we created ourselves.
  if (sys().unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    throw SysError{"cannot remove stale " + tmp.string(), errno};
  }
  Fd fd(sys().open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, modes.file));
  if (fd.get() < 0) throw SysError{"cannot create " + tmp.string(), errno};
  try {
    // open()'s mode is filtered by the umask; the contract is modes.file
    // regardless. FILE gets it with the rename.
    if (sys().fchmod(fd.get(), modes.file) != 0)
      throw SysError{"cannot chmod " + tmp.string(), errno};
    const char* p = contents.data();
    std::size_t left = contents.size();
    while (left > 0) {
      ssize_t n = sys().write(fd.get(), p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError{"cannot write " + tmp.string(), errno};
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    if (sync && sys().fsync(fd.get()) != 0) throw SysError{"cannot fsync " + tmp.string(), errno};
    if (fd.close() != 0) throw SysError{"cannot close " + tmp.string(), errno};
    if (sys().rename(tmp.c_str(), path.c_str()) != 0) {
      throw SysError{"cannot rename " + tmp.string() + " to " + path.string(), errno};
    }
  } catch (const SysError&) {
    sys().unlink(tmp.c_str());  // FILE is untouched; do not leave the half-written copy
    throw;
  }
  if (sync) fsync_directory(parent_of(path));
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

}  // namespace

std::optional<std::string> read_file(const std::filesystem::path& path, std::string_view store) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer to appear.
  Fd fd(sys().open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0));
  if (fd.get() < 0) {
    // ENOTDIR: a parent is a file, so there is no such file either (as
    // exists() says).
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw system_error(ErrorCode::io, store, "cannot open " + path.string(), errno);
  }
  struct stat st {};
  if (sys().fstat(fd.get(), &st) != 0) {
    throw system_error(ErrorCode::io, store, "cannot stat " + path.string(), errno);
  }
  if (!S_ISREG(st.st_mode)) {
    throw store_error(ErrorCode::invalid_config, store,
                      path.string() + " is " + kind_of(st.st_mode) +
                          ", not a regular file: it cannot hold a store");
  }
  // Never more than the size it had when opened: a file that grows while it
  // is read (or claims no size, as /proc files do) cannot exhaust memory.
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = sys().read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw system_error(ErrorCode::io, store, "cannot read " + path.string(), errno);
    }
    if (n == 0) break;  // shrank meanwhile
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

void create_directories(const std::filesystem::path& dir, std::string_view store, mode_t mode) {
  try {
    make_directories(dir, mode);
  } catch (const SysError& e) {
    throw system_error(ErrorCode::io, store, e.what, e.err);
  }
}

void sync_directory(const std::filesystem::path& dir, std::string_view store) {
  try {
    fsync_directory(dir.empty() ? std::filesystem::path(".") : dir);
  } catch (const SysError& e) {
    throw system_error(ErrorCode::io, store, e.what, e.err);
  }
}

std::filesystem::path follow_symlinks(const std::filesystem::path& path, std::string_view store) {
  try {
    return follow(path);
  } catch (const SysError& e) {
    throw system_error(e.err == ELOOP ? ErrorCode::invalid_config : ErrorCode::io, store, e.what,
                       e.err);
  }
}

void check_companion_file(const std::filesystem::path& path, std::string_view store) {
  struct stat st;
  if (sys().lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;
    throw system_error(ErrorCode::io, store, "cannot stat " + path.string(), errno);
  }
  std::string what;
  if (S_ISLNK(st.st_mode)) {
    what = "a symbolic link";
  } else if (!S_ISREG(st.st_mode)) {
    what = kind_of(st.st_mode);
  } else if (st.st_nlink != 1) {
    what = "a file with " + std::to_string(st.st_nlink) + " names (a hard link)";
  } else {
    return;
  }
  throw store_error(ErrorCode::invalid_config, store,
                    path.string() + " is " + what +
                        ", not a regular file of the store's own; it was left untouched: remove "
                        "it, then try again");
}

bool exists(const std::filesystem::path& path, std::string_view store) {
  struct stat st;
  if (sys().lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  throw system_error(ErrorCode::io, store, "cannot stat " + path.string(), errno);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents, bool sync,
                           std::string_view store, const FileModes& modes) {
  try {
    write_new_file(path, contents, sync, modes);
  } catch (const SysError& e) {
    throw system_error(ErrorCode::io, store, "cannot write " + path.string() + ": " + e.what,
                       e.err);
  }
}

}  // namespace checkpoint::toolkit
