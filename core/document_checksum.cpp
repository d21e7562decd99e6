#include "core/document_checksum.hpp"

#include <algorithm>
#include <cstdio>

#include "core/checksum.hpp"

namespace checkpoint::detail {

std::string document_checksum(std::string_view covered) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", Crc32c().add(covered).value());
  return hex;
}

std::optional<ChecksumLine> find_checksum_line(std::string_view text, std::string_view prefix) {
  std::size_t at = std::string_view::npos;
  if (text.starts_with(prefix)) at = 0;
  std::string newline_prefix = "\n" + std::string(prefix);
  if (std::size_t found = text.rfind(newline_prefix); found != std::string_view::npos) {
    at = found + 1;
  }
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t end = text.find('\n', at);
  std::string_view value = text.substr(
      at + prefix.size(), (end == std::string_view::npos ? text.size() : end) - at - prefix.size());
  while (value.ends_with('\r') || value.ends_with(' ')) value.remove_suffix(1);
  bool quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
  if (quoted) value = value.substr(1, value.size() - 2);
  std::size_t line =
      1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + at, '\n'));
  return ChecksumLine{at, line, value, quoted};
}

}  // namespace checkpoint::detail
