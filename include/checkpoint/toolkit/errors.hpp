// Error helpers for backend authors: every message starts with the store's
// label ("yaml store /var/lib/x.yml"), and ErrorDetails carries the parts
// (reason, line, offset, errno) so that no program has to parse messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "checkpoint/error.hpp"
#include "checkpoint/export.h"

namespace checkpoint::toolkit {

// Error{corrupt}: "STORE: line L: REASON" (the line when given). `offset` is
// the byte offset in the file, for ErrorDetails only.
CHECKPOINT_API Error corrupt(std::string_view store, std::string reason,
                             std::optional<std::uint64_t> line = {},
                             std::optional<std::uint64_t> offset = {});

// A failed system call: "STORE: WHAT: strerror(err)" with `code` (usually
// ErrorCode::io), ErrorDetails::os_error set to `err`. ENOSPC and EDQUOT
// read "no space left on device" whatever the caller's `what`.
CHECKPOINT_API Error system_error(ErrorCode code, std::string_view store, const std::string& what,
                                  int err);

// An Error of `code` naming the store: "STORE: REASON".
CHECKPOINT_API Error store_error(ErrorCode code, std::string_view store, std::string reason);

}  // namespace checkpoint::toolkit
