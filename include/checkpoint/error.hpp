// Every failure in checkpoint is thrown as checkpoint::Error, whose code says
// what kind of failure it was and whose message names the store or argument.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "checkpoint/export.h"

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
CHECKPOINT_API std::string_view to_string(ErrorCode code) noexcept;

// What a program may want to know of an error beyond its message, so that it
// need not parse the message. Every field is optional.
struct ErrorDetails {
  std::string store;                    // the store, as messages name it: "yaml store /x.yml"
  std::string reason;                   // what was wrong, without the store or the place
  std::optional<std::uint64_t> line;    // 1-based line of a text file
  std::optional<std::uint64_t> offset;  // byte offset in a file
  int os_error = 0;                     // errno of the system call that failed; 0: none
};

class CHECKPOINT_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  Error(ErrorCode code, const std::string& message, ErrorDetails details);
  ErrorCode code() const noexcept { return code_; }
  // Empty fields where the thrower knew nothing more than the message.
  const ErrorDetails& details() const noexcept;

 private:
  ErrorCode code_;
  std::shared_ptr<const ErrorDetails> details_;  // shared: copying an Error never throws
};

}  // namespace checkpoint
