// The checksum line of the whole-file formats (core/document_checksum.hpp),
// computed here independently of the library: CRC-32C (Castagnoli,
// reflected polynomial 0x82F63B78) of every byte before the line, as 8
// lower-case hex digits. Tests use it to pin the format and to write
// documents whose checksum matches.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace checkpoint::testing {

// Bit by bit: slow and obviously right. crc32c("123456789") is e3069283.
inline std::string crc32c_hex(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc ^ 0xFFFFFFFFu);
  return hex;
}

// A YAML document without a checksum line ("---" ... "...") with the line
// added before its "..." end marker, as the yaml backend writes it.
inline std::string with_yaml_checksum(std::string_view document) {
  constexpr std::string_view kEnd = "...\n";
  std::string covered(document.substr(0, document.size() - kEnd.size()));
  return covered + "checksum: \"" + crc32c_hex(covered) + "\"\n" + std::string(kEnd);
}

// A JSON object ending "\n}\n" (or "]}\n" ...: anything, then "}\n") with a
// last member "checksum" added, as the json backend writes it.
inline std::string with_json_checksum(std::string_view document) {
  constexpr std::string_view kEnd = "}\n";
  std::string_view body = document.substr(0, document.size() - kEnd.size());
  while (body.ends_with('\n')) body.remove_suffix(1);
  std::string covered = std::string(body) + ",\n";
  return covered + "  \"checksum\": \"" + crc32c_hex(covered) + "\"\n}\n";
}

}  // namespace checkpoint::testing
