#include "checkpoint/toolkit/errors.hpp"

#include <cerrno>
#include <cstring>

namespace checkpoint::toolkit {

Error corrupt(std::string_view store, std::string reason, std::optional<std::uint64_t> line,
              std::optional<std::uint64_t> offset) {
  std::string message(store);
  message += ": ";
  if (line) message += "line " + std::to_string(*line) + ": ";
  message += reason;
  ErrorDetails details;
  details.store = std::string(store);
  details.reason = std::move(reason);
  details.line = line;
  details.offset = offset;
  return Error(ErrorCode::corrupt, message, std::move(details));
}

Error system_error(ErrorCode code, std::string_view store, const std::string& what, int err) {
  // LMDB and others report a full disk in their own words; say it plainly.
  const char* text =
      err == ENOSPC || err == EDQUOT ? "no space left on device" : std::strerror(err);
  ErrorDetails details;
  details.store = std::string(store);
  details.reason = what + ": " + text;
  details.os_error = err;
  std::string message = std::string(store) + ": " + details.reason;
  return Error(code, message, std::move(details));
}

Error store_error(ErrorCode code, std::string_view store, std::string reason) {
  ErrorDetails details;
  details.store = std::string(store);
  details.reason = std::move(reason);
  std::string message = std::string(store) + ": " + details.reason;
  return Error(code, message, std::move(details));
}

}  // namespace checkpoint::toolkit
