// PowerCut (checkpoint/power_cut.hpp): a model of what is durable under one
// directory, kept up to date from the toolkit's system calls.
//
// The model holds, for every file (by inode), the data it had at its last
// fsync, and for every directory the entries it had at its last fsync; at
// construction everything on disk counts as durable. reboot() writes that
// model back over the directory.
#include "checkpoint/power_cut.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/toolkit/system_calls.hpp"

namespace checkpoint::conformance {
namespace {

using toolkit::real_system_calls;
using Inode = std::pair<dev_t, ino_t>;

struct Entry {
  bool directory = false;
  Inode inode{};
  mode_t mode = 0;
};

using Entries = std::map<std::string, Entry>;  // by name within one directory

std::string contents_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

struct detail::PowerCutModel {
  std::filesystem::path root;                 // absolute, lexically normal
  std::map<Inode, std::string> data;          // durable data, by inode; absent: empty
  std::map<std::string, Entries> entries;     // durable entries, by directory (absolute path)
  std::map<int, std::string> descriptors;     // open descriptors under root, and their paths
  std::size_t operations = 0;
  std::size_t cut_after = SIZE_MAX;  // calls left before the power goes
  bool cut = false;
  std::vector<std::string> log;

  // `path` made absolute, if it lies under root; empty otherwise.
  std::string under_root(const char* path) const {
    std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
    auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
    return r == root.end() ? p.string() : std::string();
  }

  // Counts a call; false if the power is (now) gone.
  bool powered(const std::string& what) {
    ++operations;
    if (!cut && cut_after == 0) {
      cut = true;
      log.push_back("-- the power goes --");
    }
    if (cut_after != SIZE_MAX && cut_after > 0) --cut_after;
    if (cut) {
      log.push_back(what + " -> EIO (no power)");
      errno = EIO;
      return false;
    }
    log.push_back(what);
    return true;
  }

  Entries list(const std::string& dir) const {
    Entries out;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
      struct stat st;
      if (::lstat(item.path().c_str(), &st) != 0) continue;
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
      out[item.path().filename().string()] =
          Entry{S_ISDIR(st.st_mode) != 0, {st.st_dev, st.st_ino}, st.st_mode & 07777};
    }
    return out;
  }

  // Everything under `dir` as it is now counts as durable.
  void record_all(const std::string& dir) {
    Entries here = list(dir);
    for (const auto& [name, entry] : here) {
      std::string path = dir + "/" + name;
      if (entry.directory) {
        record_all(path);
      } else {
        data[entry.inode] = contents_of(path);
      }
    }
    entries[dir] = std::move(here);
  }

  // Writes the durable directory `dir` (whose entries were recorded) back.
  void restore(const std::string& dir) {
    auto it = entries.find(dir);
    if (it == entries.end()) return;  // made durable, never synced: empty
    for (const auto& [name, entry] : it->second) {
      std::string path = dir + "/" + name;
      if (entry.directory) {
        std::filesystem::create_directory(path);
        ::chmod(path.c_str(), entry.mode);
        restore(path);
      } else {
        auto found = data.find(entry.inode);
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            << (found == data.end() ? std::string() : found->second);
        ::chmod(path.c_str(), entry.mode);
      }
    }
  }
};

namespace {

detail::PowerCutModel* active = nullptr;

std::string describe_fd(int fd) {
  auto it = active->descriptors.find(fd);
  return it == active->descriptors.end() ? std::to_string(fd) : it->second;
}

bool tracked(int fd) { return active != nullptr && active->descriptors.contains(fd); }

int seam_open(const char* path, int flags, mode_t mode) {
  std::string p = active != nullptr ? active->under_root(path) : std::string();
  if (p.empty()) return real_system_calls().open(path, flags, mode);
  if (!active->powered("open " + p + ((flags & O_CREAT) ? " (create)" : ""))) return -1;
  struct stat before;
  bool existed = ::lstat(path, &before) == 0;
  int fd = real_system_calls().open(path, flags, mode);
  if (fd >= 0) {
    active->descriptors[fd] = p;
    struct stat st;
    // A new file's data is durable only once synced, whatever its inode
    // held before (inode numbers are reused).
    if (!existed && ::fstat(fd, &st) == 0) active->data.erase({st.st_dev, st.st_ino});
  }
  return fd;
}

ssize_t seam_read(int fd, void* buf, size_t n) { return real_system_calls().read(fd, buf, n); }

ssize_t seam_write(int fd, const void* buf, size_t n) {
  if (!tracked(fd)) return real_system_calls().write(fd, buf, n);
  if (!active->powered("write " + describe_fd(fd) + " (" + std::to_string(n) + " bytes)")) {
    return -1;
  }
  return real_system_calls().write(fd, buf, n);
}

int seam_fsync(int fd) {
  if (!tracked(fd)) return real_system_calls().fsync(fd);
  if (!active->powered("fsync " + describe_fd(fd))) return -1;
  int rc = real_system_calls().fsync(fd);
  if (rc != 0) return rc;
  struct stat st;
  if (::fstat(fd, &st) != 0) return rc;
  if (S_ISDIR(st.st_mode)) {
    active->entries[active->descriptors[fd]] = active->list(active->descriptors[fd]);
  } else if (S_ISREG(st.st_mode)) {
    active->data[{st.st_dev, st.st_ino}] = contents_of("/proc/self/fd/" + std::to_string(fd));
  }
  return rc;
}

int seam_close(int fd) {
  if (active != nullptr) active->descriptors.erase(fd);
  return real_system_calls().close(fd);
}

// A call on one path that changes the file system (rename, unlink, mkdir,
// chmod): counted, refused without power, otherwise made.
template <typename Call>
int on_path(const char* path, const std::string& what, Call call) {
  std::string p = active != nullptr ? active->under_root(path) : std::string();
  if (p.empty()) return call();
  if (!active->powered(what + " " + p)) return -1;
  return call();
}

int seam_rename(const char* from, const char* to) {
  return on_path(from, "rename", [&] { return real_system_calls().rename(from, to); });
}
int seam_unlink(const char* path) {
  return on_path(path, "unlink", [&] { return real_system_calls().unlink(path); });
}
int seam_mkdir(const char* path, mode_t mode) {
  return on_path(path, "mkdir", [&] { return real_system_calls().mkdir(path, mode); });
}
int seam_chmod(const char* path, mode_t mode) {
  return on_path(path, "chmod", [&] { return real_system_calls().chmod(path, mode); });
}

int seam_fchmod(int fd, mode_t mode) {
  if (tracked(fd) && !active->powered("fchmod " + describe_fd(fd))) return -1;
  return real_system_calls().fchmod(fd, mode);
}
int seam_flock(int fd, int operation) {
  if (tracked(fd) && !active->powered("flock " + describe_fd(fd))) return -1;
  return real_system_calls().flock(fd, operation);
}
int seam_ftruncate(int fd, off_t length) {
  if (tracked(fd) && !active->powered("ftruncate " + describe_fd(fd))) return -1;
  return real_system_calls().ftruncate(fd, length);
}

int seam_stat(const char* path, struct stat* st) { return real_system_calls().stat(path, st); }
int seam_fstat(int fd, struct stat* st) { return real_system_calls().fstat(fd, st); }
int seam_lstat(const char* path, struct stat* st) { return real_system_calls().lstat(path, st); }

const toolkit::SystemCalls kSeam = {
    seam_open,  seam_read,  seam_write, seam_fsync,     seam_close, seam_rename,
    seam_unlink, seam_mkdir, seam_chmod, seam_fchmod,   seam_stat,  seam_flock,
    seam_ftruncate, seam_fstat, seam_lstat,
};

}  // namespace

PowerCut::PowerCut(std::filesystem::path dir) : state_(std::make_unique<detail::PowerCutModel>()) {
  if (active != nullptr) throw std::logic_error("PowerCut: one at a time");
  state_->root = std::filesystem::absolute(dir).lexically_normal();
  if (!state_->root.has_filename()) state_->root = state_->root.parent_path();
  state_->record_all(state_->root.string());
  active = state_.get();
  toolkit::set_system_calls(kSeam);
}

PowerCut::~PowerCut() {
  if (active == state_.get()) {
    toolkit::set_system_calls(real_system_calls());
    active = nullptr;
  }
}

std::size_t PowerCut::operations() const { return state_->operations; }

void PowerCut::cut_after(std::size_t n) { state_->cut_after = n; }

void PowerCut::cut() {
  if (!state_->cut) state_->log.push_back("-- the power goes --");
  state_->cut = true;
}

bool PowerCut::was_cut() const { return state_->cut; }

void PowerCut::reboot() {
  if (!state_->cut) throw std::logic_error("PowerCut::reboot() without cut()");
  if (active == state_.get()) {
    toolkit::set_system_calls(real_system_calls());
    active = nullptr;
  }
  const std::string root = state_->root.string();
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(root, ec)) {
    std::filesystem::remove_all(item.path(), ec);
  }
  state_->restore(root);
}

std::string PowerCut::log() const {
  std::string out;
  for (const auto& line : state_->log) out += "\n    " + line;
  return out;
}

}  // namespace checkpoint::conformance
