// Timestamp text without allocating, for the writers of documents with a
// million timestamps. The text is exactly Timestamp::to_string()'s.
#pragma once

#include <cstddef>
#include <string>

#include "checkpoint/timestamp.hpp"

namespace checkpoint::detail {

// The longest text: "9999-12-31T23:59:59.999999999Z".
constexpr std::size_t kMaxTimestampText = 30;

// Writes the text at `out`, which has room for kMaxTimestampText chars;
// returns the end.
char* format_timestamp(Timestamp t, char* out) noexcept;

void append_timestamp(std::string& out, Timestamp t);

}  // namespace checkpoint::detail
