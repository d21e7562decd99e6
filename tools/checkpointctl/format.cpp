#include "format.hpp"

#include <algorithm>


namespace checkpointctl {
namespace {

constexpr std::size_t kBookmarkWidth = 48;

// Control characters as C escapes, so one state stays on one line.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[(c >> 4) & 0xf];
          out += hex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out;
}

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
    std::string name, record, time, bookmark;
  };
  std::vector<Row> rows{{"NAME", "RECORD_NUMBER", "TIMESTAMP", "BOOKMARK"}};
  for (const auto& s : state.states) {
    rows.push_back({printable(s.name), std::to_string(s.record_number), s.timestamp.to_string(),
                    shorten(printable(s.bookmark), kBookmarkWidth)});
  }
  std::size_t wn = 0, wr = 0, wt = 0;
  for (const auto& r : rows) {
    wn = std::max(wn, width(r.name));
    wr = std::max(wr, width(r.record));
    wt = std::max(wt, width(r.time));
  }
  for (const auto& r : rows) {
    pad(out, r.name, wn + 2);
    // Numbers align right, as people compare them by magnitude.
    for (std::size_t w = width(r.record); w < wr; ++w) out << ' ';
    out << r.record << "  ";
    if (r.bookmark.empty()) {
      out << r.time << "\n";
    } else {
      pad(out, r.time, wt + 2);
      out << r.bookmark << "\n";
    }
  }
  out << state.states.size() << " states, update_time " << state.update_time.to_string() << "\n";
}

void print_state(const checkpoint::EventLogState& state, std::ostream& out) {
  out << "name:          " << printable(state.name) << "\n"
      << "record_number: " << state.record_number << "\n"
      << "timestamp:     " << state.timestamp.to_string() << "\n";
  if (!state.bookmark.empty()) out << "bookmark:      " << printable(state.bookmark) << "\n";
}

}  // namespace checkpointctl
