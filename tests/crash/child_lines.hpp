// A child process whose standard output is read line by line, and killed
// with SIGKILL: what the kill tests (kill_test, ack_kill_test) run their
// writers with.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace checkpoint::crash {

// A kill test's setting from the environment (CHECKPOINT_KILLS, ...):
// `fallback` when unset or empty.
inline std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

class ChildLines {
 public:
  using Clock = std::chrono::steady_clock;

  // Runs `program` with `args`; each complete line it prints goes to
  // `on_line`, which returns false for a line it does not understand (the
  // first such line is kept: strange()).
  ChildLines(const std::string& program, const std::vector<std::string>& args,
             std::function<bool(const std::string&)> on_line)
      : on_line_(std::move(on_line)) {
    std::vector<char*> argv;
    std::string path = program;
    argv.push_back(path.data());
    std::vector<std::string> copies = args;
    for (auto& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ChildLines(const ChildLines&) = delete;
  ChildLines& operator=(const ChildLines&) = delete;
  ~ChildLines() {
    if (pid_ > 0) kill();
    if (out_ >= 0) ::close(out_);
  }

  // Reads lines until `deadline`, or until `done()` says so. False if the
  // child's output ended (it exited).
  bool read_until(Clock::time_point deadline, const std::function<bool()>& done) {
    using namespace std::chrono;
    while (!done()) {
      auto left = duration_cast<microseconds>(deadline - Clock::now());
      if (left <= microseconds(0)) return true;
      struct timespec ts = {static_cast<time_t>(left.count() / 1'000'000),
                            static_cast<long>(left.count() % 1'000'000) * 1000};
      struct pollfd p = {out_, POLLIN, 0};
      int rc = ::ppoll(&p, 1, &ts, nullptr);
      if (rc < 0 && errno != EINTR) return false;
      if (rc > 0 && !take()) return false;
    }
    return true;
  }

  // Kills the child and reads what it wrote before it died; true if SIGKILL
  // is what ended it. A line cut short by the kill is not passed on.
  bool kill() {
    ::kill(pid_, SIGKILL);
    while (take()) {
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = status;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

  int status() const { return status_; }
  const std::string& strange() const { return strange_; }

 private:
  // Reads what is there; false at the end of the output.
  bool take() {
    char buf[8192];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\n') {
        line_ += buf[i];
        continue;
      }
      if (!on_line_(line_) && strange_.empty()) strange_ = line_;
      line_.clear();
    }
    return true;
  }

  std::function<bool(const std::string&)> on_line_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string line_, strange_;
  int status_ = 0;
};

}  // namespace checkpoint::crash
