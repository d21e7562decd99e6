#include "format.hpp"

#include <algorithm>

namespace checkpointctl {
namespace {

constexpr std::size_t kBookmarkWidth = 48;

// The length of the UTF-8 sequence at the start of `s` and its code point,
// or 0 if it is not one (a stray continuation byte, an overlong form, a
// surrogate, past U+10FFFF, or cut short).
std::size_t utf8_sequence(std::string_view s, char32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = lead < 0x80                    ? 1
                       : lead >= 0xC2 && lead <= 0xDF ? 2
                       : lead >= 0xE0 && lead <= 0xEF ? 3
                       : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                      : 0;
  if (length == 0 || length > s.size()) return 0;
  code_point = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < smallest[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return length;
}

// Characters that change what a terminal shows rather than showing
// themselves: C1 controls, and the bidirectional overrides and isolates
// that can make text read as other text.
bool hidden(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

std::string escaped(std::string_view s, bool backslash) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    switch (c) {
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\\':
        out += backslash ? "\\\\" : "\\";
        ++i;
        continue;
    }
    char32_t code_point = 0;
    const std::size_t length = utf8_sequence(s.substr(i), code_point);
    if (length == 0 || code_point < 0x20 || code_point == 0x7F) {
      // A control character, or a byte that is not UTF-8: its value.
      out += "\\x";
      out += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += hex[c & 0xf];
      ++i;
    } else if (hidden(code_point)) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += hex[(code_point >> shift) & 0xf];
      i += length;
    } else {
      out.append(s, i, length);
      i += length;
    }
  }
  return out;
}

namespace {

// Width on a terminal, counting UTF-8 code points rather than bytes.
std::size_t width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Cuts at a code point boundary and marks the cut.
std::string shorten(const std::string& s, std::size_t max) {
  if (width(s) <= max) return s;
  std::size_t cut = 0, seen = 0;
  while (cut < s.size() && seen < max - 3) {
    ++cut;
    while (cut < s.size() && (s[cut] & 0xC0) == 0x80) ++cut;
    ++seen;
  }
  return s.substr(0, cut) + "...";
}

void pad(std::ostream& out, const std::string& s, std::size_t to) {
  out << s;
  for (std::size_t w = width(s); w < to; ++w) out << ' ';
}

}  // namespace

std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "(none)";
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : " ") + item;
  return out;
}

void print_table(const checkpoint::PersistedState& state, std::ostream& out) {
  struct Row {
    std::string name, record, time, changed, bookmark;
  };
  std::vector<Row> rows{{"NAME", "RECORD_NUMBER", "TIMESTAMP", "UPDATE_TIME", "BOOKMARK"}};
  for (const auto& s : state.states) {
    rows.push_back({escaped(s.name), std::to_string(s.record_number), s.timestamp.to_string(),
                    s.update_time.to_string(), shorten(escaped(s.bookmark), kBookmarkWidth)});
  }
  std::size_t wn = 0, wr = 0, wt = 0, wc = 0;
  for (const auto& r : rows) {
    wn = std::max(wn, width(r.name));
    wr = std::max(wr, width(r.record));
    wt = std::max(wt, width(r.time));
    wc = std::max(wc, width(r.changed));
  }
  for (const auto& r : rows) {
    pad(out, r.name, wn + 2);
    // Numbers align right, as people compare them by magnitude.
    for (std::size_t w = width(r.record); w < wr; ++w) out << ' ';
    out << r.record << "  ";
    pad(out, r.time, wt + 2);
    if (r.bookmark.empty()) {
      out << r.changed << "\n";
    } else {
      pad(out, r.changed, wc + 2);
      out << r.bookmark << "\n";
    }
  }
  out << state.states.size() << " states, update_time " << state.update_time.to_string() << "\n";
}

void print_state(const checkpoint::EventLogState& state, std::ostream& out) {
  out << "name:          " << escaped(state.name) << "\n"
      << "record_number: " << state.record_number << "\n"
      << "timestamp:     " << state.timestamp.to_string() << "\n";
  if (!state.bookmark.empty()) out << "bookmark:      " << escaped(state.bookmark) << "\n";
  out << "update_time:   " << state.update_time.to_string() << "\n";
}

}  // namespace checkpointctl
