// UTF-8 validation, shared by the front end and the text-format backends.
#pragma once

#include <string_view>

namespace checkpoint::detail {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace checkpoint::detail
