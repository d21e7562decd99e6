// Every failure in checkpoint is thrown as checkpoint::Error, whose code says
// what kind of failure it was and whose message names the store or argument.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace checkpoint {

enum class ErrorCode {
  invalid_argument,  // a caller passed a value outside the contract
  invalid_config,    // a config string names an unknown scheme, option or value
  not_found,         // a named thing does not exist
  corrupt,           // stored data cannot be read back as states
  io,                // the operating system refused a read, write or sync
  locked,            // another writer holds the store
  closed,            // the object was shut down
  unsupported,       // stored data is of a newer, unknown format version
};

// The code's name as written above, e.g. "corrupt".
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace checkpoint
