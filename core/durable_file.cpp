#include "core/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "checkpoint/error.hpp"

namespace checkpoint::detail {
namespace {

[[noreturn]] void fail(std::string_view store, const std::string& what, int err) {
  throw Error(ErrorCode::io, std::string(store) + ": " + what + ": " + std::strerror(err));
}

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error that close() may carry (NFS, quotas).
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

void fsync_directory(const std::filesystem::path& dir, std::string_view store) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) fail(store, "cannot open directory " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) fail(store, "cannot fsync directory " + dir.string(), errno);
}

std::filesystem::path parent_of(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

}  // namespace

std::optional<std::string> read_file(const std::filesystem::path& path, std::string_view store) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail(store, "cannot open " + path.string(), errno);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(store, "cannot read " + path.string(), errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void create_directories(const std::filesystem::path& dir, std::string_view store) {
  if (dir.empty()) return;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail(store, dir.string() + " is not a directory", ENOTDIR);
    return;
  }
  auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) create_directories(parent, store);
  if (::mkdir(dir.c_str(), 0750) != 0) {
    if (errno == EEXIST) return;
    fail(store, "cannot create directory " + dir.string(), errno);
  }
  // mkdir's mode is filtered by the umask; the contract is 0750 regardless.
  if (::chmod(dir.c_str(), 0750) != 0) fail(store, "cannot chmod " + dir.string(), errno);
  if (!parent.empty()) fsync_directory(parent, store);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents, bool sync,
                           std::string_view store) {
  const auto dir = parent_of(path);
  create_directories(path.parent_path(), store);
  const std::filesystem::path tmp = path.string() + ".new";

  // A stale FILE.new (a crash mid-write, or something planted) is removed;
  // O_EXCL|O_NOFOLLOW then guarantee we write a file we created ourselves.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    fail(store, "cannot remove stale " + tmp.string(), errno);
  }
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail(store, "cannot create " + tmp.string(), errno);
  auto discard = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    fail(store, what, err);
  };
  if (::fchmod(fd.get(), 0600) != 0) discard("cannot chmod " + tmp.string(), errno);
  const char* p = contents.data();
  std::size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      discard("cannot write " + tmp.string(), errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (sync && ::fsync(fd.get()) != 0) discard("cannot fsync " + tmp.string(), errno);
  if (fd.close() != 0) discard("cannot close " + tmp.string(), errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    discard("cannot rename " + tmp.string() + " to " + path.string(), errno);
  }
  if (sync) fsync_directory(dir, store);
}

}  // namespace checkpoint::detail
