// The bookmark checkpoint-tail keeps for each file: the byte offset where the
// next unread line starts, and the inode of the file that offset belongs to.
// Its text form is one line of key=value pairs:
//
//   offset=1234 inode=5678
//
// The inode is what tells a file that was rotated or replaced (same path, new
// inode) from the file the offset was taken in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace checkpoint_tail {

struct FilePosition {
  std::uint64_t offset = 0;  // bytes of complete lines consumed
  std::uint64_t inode = 0;
  friend bool operator==(const FilePosition&, const FilePosition&) = default;
};

std::string format_position(FilePosition position);

// Both keys are required, each once, as decimal numbers; keys it does not
// know are skipped so that later versions may add some. Anything else:
// nullopt.
std::optional<FilePosition> parse_position(std::string_view text);

}  // namespace checkpoint_tail
