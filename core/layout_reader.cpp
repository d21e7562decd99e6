#include "core/layout_reader.hpp"

#include <algorithm>

#include "checkpoint/error.hpp"

namespace checkpoint::detail {

bool LayoutCursor::timestamp(char stop, Timestamp& out) {
  std::string_view text;
  if (!until(stop, text)) return false;
  try {
    out = Timestamp::parse(text);
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool read_hex(const char* p, const char* end, int digits, std::uint32_t& out) {
  if (end - p < digits) return false;
  out = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = p[i];
    const int v = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : -1;
    if (v < 0) return false;
    out = out * 16 + static_cast<std::uint32_t>(v);
  }
  return true;
}

bool append_utf8(std::string& out, std::uint32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return true;
}

bool sort_unique_by_name(std::vector<EventLogState>& states) {
  auto by_name = [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; };
  // Files we write are sorted already: one pass checks that.
  if (std::adjacent_find(states.begin(), states.end(), [](const auto& a, const auto& b) {
        return !(a.name < b.name);
      }) == states.end()) {
    return true;
  }
  std::sort(states.begin(), states.end(), by_name);
  return std::adjacent_find(states.begin(), states.end(), [](const auto& a, const auto& b) {
           return a.name == b.name;
         }) == states.end();
}

}  // namespace checkpoint::detail
