#include "checkpoint/error.hpp"

namespace checkpoint {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::invalid_config:
      return "invalid_config";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::corrupt:
      return "corrupt";
    case ErrorCode::io:
      return "io";
    case ErrorCode::locked:
      return "locked";
    case ErrorCode::closed:
      return "closed";
    case ErrorCode::unsupported:
      return "unsupported";
  }
  return "unknown";
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

Error::Error(ErrorCode code, const std::string& message, ErrorDetails details)
    : std::runtime_error(message),
      code_(code),
      details_(std::make_shared<const ErrorDetails>(std::move(details))) {}

const ErrorDetails& Error::details() const noexcept {
  static const ErrorDetails none;
  return details_ ? *details_ : none;
}

}  // namespace checkpoint
