#include "examples/tail/file_position.hpp"

#include <charconv>

namespace checkpoint_tail {

std::string format_position(FilePosition position) {
  return "offset=" + std::to_string(position.offset) + " inode=" + std::to_string(position.inode);
}

std::optional<FilePosition> parse_position(std::string_view text) {
  std::optional<std::uint64_t> offset, inode;
  while (!text.empty()) {
    auto space = text.find(' ');
    std::string_view field = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (field.empty()) continue;
    auto eq = field.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    std::optional<std::uint64_t>* slot = key == "offset"  ? &offset
                                         : key == "inode" ? &inode
                                                          : nullptr;
    if (slot == nullptr) continue;
    if (slot->has_value() || value.empty()) return std::nullopt;
    std::uint64_t number = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc{} || end != value.data() + value.size()) return std::nullopt;
    *slot = number;
  }
  if (!offset || !inode) return std::nullopt;
  return FilePosition{*offset, *inode};
}

}  // namespace checkpoint_tail
