#include "backends/yaml/yaml_layout_reader.hpp"

#include "core/layout_reader.hpp"
#include "core/utf8.hpp"

namespace checkpoint::backends {
namespace {

// True if raw text between quotes is valid UTF-8 and holds none of the
// characters emit_yaml_document() always escapes: C0 and C1 controls, DEL,
// U+2028, U+2029, U+FEFF, U+FFFE and U+FFFF.
bool plain_text_ok(std::string_view raw) {
  for (char c : raw) {
    if (auto u = static_cast<unsigned char>(c); u < 0x20 || u == 0x7F) return false;
  }
  if (!detail::is_valid_utf8(raw)) return false;
  // In valid UTF-8 these byte patterns are exactly the characters named.
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  const std::size_t n = raw.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] < 0xC2) continue;
    if (p[i] == 0xC2 && p[i + 1] <= 0x9F) return false;  // U+0080..U+009F
    if (p[i] == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) return false;
    if (p[i] == 0xEF && p[i + 1] == 0xBB && p[i + 2] == 0xBF) return false;
    if (p[i] == 0xEF && p[i + 1] == 0xBF && (p[i + 2] == 0xBE || p[i + 2] == 0xBF)) return false;
  }
  return true;
}

// Decodes the escape whose letter is at `p`, as emit_yaml_document() writes
// them; nullptr for any other escape.
const char* unescape(const char* p, const char* end, std::string& out) {
  switch (*p) {
    case 't':
      out += '\t';
      return p + 1;
    case 'n':
      out += '\n';
      return p + 1;
    case 'r':
      out += '\r';
      return p + 1;
    case '"':
    case '\\':
      out += *p;
      return p + 1;
    case 'x':
    case 'u': {
      const int digits = *p == 'x' ? 2 : 4;
      std::uint32_t cp;
      if (!detail::read_hex(p + 1, end, digits, cp) || !detail::append_utf8(out, cp)) {
        return nullptr;
      }
      return p + 1 + digits;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<PersistedState> read_yaml_layout(std::string_view text) {
  detail::LayoutCursor in(text);
  PersistedState out;
  if (!in.literal("---\nupdate_time: ") || !in.timestamp('\n', out.update_time)) return {};
  // The checksum line (checked by the caller) may come before the end marker.
  auto end = [&in] {
    std::string_view checksum;
    if (in.literal("checksum: ") && !in.until('\n', checksum)) return false;
    return in.literal("...\n") && in.at_end();
  };
  if (in.literal("event_logs: []\n")) {
    if (!end()) return {};
    return out;
  }
  if (!in.literal("event_logs:\n")) return {};
  while (in.literal("- name: ")) {
    EventLogState& state = out.states.emplace_back();
    if (!in.quoted(state.name, plain_text_ok, unescape) || state.name.empty() ||
        !in.literal("\n  record_number: ") || !in.record_number('\n', state.record_number) ||
        !in.literal("  timestamp: ") || !in.timestamp('\n', state.timestamp)) {
      return {};
    }
    if (in.literal("  bookmark: ") &&
        (!in.quoted(state.bookmark, plain_text_ok, unescape) || !in.literal("\n"))) {
      return {};
    }
  }
  if (!end()) return {};
  if (!detail::sort_unique_by_name(out.states)) return {};
  return out;
}

}  // namespace checkpoint::backends
