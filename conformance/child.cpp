#include "conformance/child.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <typeinfo>

#include "checkpoint/error.hpp"

namespace checkpoint::conformance {

ChildOutcome run_in_child(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return {false, std::string("cannot make a pipe: ") + std::strerror(errno)};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {false, std::string("cannot fork: ") + std::strerror(errno)};
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string text;
    try {
      text = body();
    } catch (const Error& e) {
      text = std::string("threw checkpoint::Error{") + std::string(to_string(e.code())) +
             "}: " + e.what();
    } catch (const std::exception& e) {
      text = std::string("threw ") + typeid(e).name() + " (not checkpoint::Error): " + e.what();
    } catch (...) {
      text = "threw something that is not a std::exception";
    }
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, text};
  if (WIFSIGNALED(status)) {
    return {false, std::string("crashed with signal ") + std::to_string(WTERMSIG(status)) + " (" +
                       strsignal(WTERMSIG(status)) + ")"};
  }
  return {false, "exited with status " + std::to_string(WEXITSTATUS(status))};
}

}  // namespace checkpoint::conformance
