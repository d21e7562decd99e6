#include "tests/fault/fault_plan.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>

#include "checkpoint/toolkit/system_calls.hpp"

namespace checkpoint::fault {
namespace {

// No allocation and no locks here: libfiu calls next_call() from inside the
// wrapped libc functions.
constexpr std::size_t kLogged = 4096;
std::atomic<bool> armed{false};
std::atomic<std::uint64_t> target{0}, count{0};
std::atomic<int> error_number{0};
std::atomic<bool> has_fired{false};
std::array<const char*, kLogged> log_names{};

}  // namespace

void arm(std::uint64_t nth, int err) {
  armed = false;
  count = 0;
  has_fired = false;
  target = nth;
  error_number = err;
  armed = true;
}

void disarm() { armed = false; }

int next_call(const char* name) {
  if (!armed.load()) return 0;
  std::uint64_t n = ++count;
  if (n <= kLogged) log_names[n - 1] = name;
  if (n != target.load()) return 0;
  has_fired = true;
  return error_number.load();
}

bool fired() { return has_fired.load(); }

std::uint64_t calls() { return count.load(); }

std::string fired_at() {
  if (!has_fired || target > kLogged) return has_fired ? "?" : "";
  return log_names[target - 1];
}

bool called_before_firing(const std::string& name) {
  std::uint64_t end = has_fired ? target.load() - 1 : count.load();
  for (std::uint64_t i = 0; i < end && i < kLogged; ++i) {
    if (name == log_names[i]) return true;
  }
  return false;
}

std::string call_log() {
  std::string out;
  std::uint64_t end = has_fired ? target.load() : count.load();
  for (std::uint64_t i = 0; i < end && i < kLogged; ++i) {
    if (!out.empty()) out += ", ";
    out += log_names[i];
  }
  return out;
}

void install_in_core() {
  using toolkit::real_system_calls;
  toolkit::SystemCalls calls = {
      [](const char* path, int flags, mode_t mode) {
        if (int err = next_call("open")) return errno = err, -1;
        return real_system_calls().open(path, flags, mode);
      },
      [](int fd, void* buf, size_t n) -> ssize_t {
        if (int err = next_call("read")) return errno = err, -1;
        return real_system_calls().read(fd, buf, n);
      },
      [](int fd, const void* buf, size_t n) -> ssize_t {
        if (int err = next_call("write")) return errno = err, -1;
        return real_system_calls().write(fd, buf, n);
      },
      [](int fd) {
        if (int err = next_call("fsync")) return errno = err, -1;
        return real_system_calls().fsync(fd);
      },
      [](int fd) {
        int err = next_call("close");
        int rc = real_system_calls().close(fd);
        if (err != 0) return errno = err, -1;
        return rc;
      },
      [](const char* from, const char* to) {
        if (int err = next_call("rename")) return errno = err, -1;
        return real_system_calls().rename(from, to);
      },
      [](const char* path) {
        if (int err = next_call("unlink")) return errno = err, -1;
        return real_system_calls().unlink(path);
      },
      [](const char* path, mode_t mode) {
        if (int err = next_call("mkdir")) return errno = err, -1;
        return real_system_calls().mkdir(path, mode);
      },
      [](const char* path, mode_t mode) {
        if (int err = next_call("chmod")) return errno = err, -1;
        return real_system_calls().chmod(path, mode);
      },
      [](int fd, mode_t mode) {
        if (int err = next_call("fchmod")) return errno = err, -1;
        return real_system_calls().fchmod(fd, mode);
      },
      [](const char* path, struct stat* st) {
        if (int err = next_call("stat")) return errno = err, -1;
        return real_system_calls().stat(path, st);
      },
      [](int fd, int operation) {
        if (int err = next_call("flock")) return errno = err, -1;
        return real_system_calls().flock(fd, operation);
      },
      [](int fd, off_t length) {
        if (int err = next_call("ftruncate")) return errno = err, -1;
        return real_system_calls().ftruncate(fd, length);
      },
      [](int fd, struct stat* st) {
        if (int err = next_call("fstat")) return errno = err, -1;
        return real_system_calls().fstat(fd, st);
      },
      [](const char* path, struct stat* st) {
        if (int err = next_call("lstat")) return errno = err, -1;
        return real_system_calls().lstat(path, st);
      },
  };
  toolkit::set_system_calls(calls);
}

}  // namespace checkpoint::fault
