// The checksum line of the whole-file formats (yaml, json).
//
// Text has no checksum of its own: a byte changed by damage in a name, a
// number or a bookmark can spell another valid value. So the files we write
// end with a line holding the CRC-32C of every byte before it, as 8
// lower-case hex digits:
//
//   yaml   checksum: 3a6f0c21        (then the "..." end marker)
//   json     "checksum": "3a6f0c21"  (the last member)
//
// Winlogbeat ignores the key. A file without it (written by Winlogbeat, by
// an older checkpoint or by hand) loads as before; a file with it loads
// only if it matches, so a file edited by hand must lose the line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace checkpoint::detail {

// The checksum of `covered` (the text before the checksum line).
std::string document_checksum(std::string_view covered);

struct ChecksumLine {
  std::size_t start;       // where the line starts in the text
  std::size_t line;        // its 1-based line number
  std::string_view value;  // what it holds, quotes removed
  bool quoted = false;     // the value was in double quotes
};

// The last line of `text` that starts with `prefix` ("checksum: " or
// "  \"checksum\": "), or nullopt if there is none.
std::optional<ChecksumLine> find_checksum_line(std::string_view text, std::string_view prefix);

}  // namespace checkpoint::detail
