#include "checkpoint/toolkit/file_modes.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/system_calls.hpp"

namespace checkpoint::toolkit {
namespace {

// Why `text` is no acceptable mode, or "" with `mode` set.
std::string mode_problem(std::string_view text, ModeOf of, mode_t& mode) {
  const char* example = of == ModeOf::file ? "0640" : "0750";
  std::string_view digits = text;
  if (digits.starts_with("0o") || digits.starts_with("0O")) digits.remove_prefix(2);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 8);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    return std::string("expected an octal mode such as ") + example;
  }
  if (ec == std::errc::result_out_of_range || value > 0777) {
    return "only the permission bits 0777 may be set (no setuid, setgid or sticky bit)";
  }
  if ((value & 0022) != 0) {
    return "it lets the group or others write (" + mode_text(value & 0022) +
           "): a store's files may be shared for reading only; use a mode such as " + example;
  }
  if (of == ModeOf::file && (value & 0600) != 0600) {
    return "the owner must be able to read and write the store's files (0600)";
  }
  if (of == ModeOf::directory && (value & 0700) != 0700) {
    return "the owner must be able to read, write and enter the store's directories (0700)";
  }
  mode = static_cast<mode_t>(value);
  return "";
}

}  // namespace

mode_t parse_mode(std::string_view option, std::string_view text, ModeOf of) {
  mode_t mode = 0;
  std::string why = mode_problem(text, of, mode);
  if (why.empty()) return mode;
  ErrorDetails details;
  details.reason = why;
  throw Error(ErrorCode::invalid_config,
              "option " + std::string(option) + "=\"" + std::string(text) + "\" is invalid; " + why,
              std::move(details));
}

std::string mode_text(mode_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  return text;
}

void apply_file_mode(const std::filesystem::path& path, mode_t mode, std::string_view store) {
  struct stat st {};
  if (sys().lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;
    throw system_error(ErrorCode::io, store, "cannot stat " + path.string(), errno);
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) == mode) return;
  // Through a descriptor of the file looked at: never a symlink swapped in.
  int fd = sys().open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == ENOENT) return;  // removed meanwhile
    throw system_error(ErrorCode::io, store,
                       "cannot open " + path.string() + " to give it mode " + mode_text(mode),
                       errno);
  }
  int rc = sys().fstat(fd, &st);
  if (rc == 0 && S_ISREG(st.st_mode)) rc = sys().fchmod(fd, mode);
  int err = errno;
  sys().close(fd);
  if (rc != 0) {
    throw system_error(ErrorCode::io, store,
                       "cannot give " + path.string() + " mode " + mode_text(mode), err);
  }
}

}  // namespace checkpoint::toolkit
