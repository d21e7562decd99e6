#include "backends/yaml/yaml_layout_reader.hpp"

#include "core/layout_reader.hpp"
#include "core/utf8.hpp"

namespace checkpoint::backends {
namespace {

// A line break, the other C0 controls and DEL: a value's line that holds
// one is complete, or not in our layout.
constexpr std::string_view kControl{
    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
    33};

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

std::optional<PersistedState> read_yaml_layout(std::string_view text, bool* cut) {
  if (cut != nullptr) *cut = false;
  detail::LayoutCursor in(text);
  // Set when the text ends while everything up to its end matched: the
  // start of a document in this layout, which only a cut leaves.
  bool ran_out = false;
  auto rest = [&in] {
    return std::string_view(in.here(), static_cast<std::size_t>(in.end() - in.here()));
  };
  // in.literal(s), noting when the text ends inside `s`.
  auto literal = [&](std::string_view s) {
    if (in.literal(s)) return true;
    if (rest().size() < s.size() && s.starts_with(rest())) ran_out = true;
    return false;
  };
  // read() a value that ends its line, noting when the text ends inside
  // that line with no line break or control character (NUL bytes are a
  // power cut's damage, not a cut) and only what the value may start with.
  auto value = [&](auto read, auto may_start) {
    const std::string_view last = rest();
    if (read()) return true;
    if (last.find_first_of(kControl) == std::string_view::npos && may_start(last)) {
      ran_out = true;
    }
    return false;
  };
  auto made_of = [](std::string_view chars) {
    return [chars](std::string_view s) { return s.find_first_not_of(chars) == s.npos; };
  };
  auto timestamp = [&](Timestamp& out) {
    return value([&] { return in.timestamp('\n', out); }, made_of("0123456789-:.TZ+"));
  };
  auto quoted = [&](std::string& out) {
    return value([&] { return in.quoted(out, plain_text_ok, unescape) && literal("\n"); },
                 [](std::string_view s) { return s.empty() || s[0] == '"'; });
  };
  auto result = [&](std::optional<PersistedState> out) {
    if (!out && cut != nullptr) *cut = ran_out;
    return out;
  };

  PersistedState out;
  if (!literal("---\nupdate_time: ") || !timestamp(out.update_time)) return result({});
  // The checksum line (its value checked by the caller) may come before
  // the end marker: 8 lower-case hex digits in double quotes.
  auto end = [&] {
    std::string_view checksum;
    auto checksum_line = [&] {
      return in.until('\n', checksum) && checksum.size() == 10 && checksum.front() == '"' &&
             checksum.back() == '"' &&
             checksum.substr(1, 8).find_first_not_of("0123456789abcdef") == std::string_view::npos;
    };
    if (literal("checksum: ") && !value(checksum_line, made_of("\"0123456789abcdef"))) {
      return false;
    }
    return literal("...\n") && in.at_end();
  };
  if (literal("event_logs: []\n"))
    return result(end() ? std::optional(std::move(out)) : std::nullopt);
  if (!literal("event_logs:\n")) return result({});
  while (literal("- name: ")) {
    EventLogState& state = out.states.emplace_back();
    if (!quoted(state.name) || state.name.empty() || !literal("  record_number: ") ||
        !value([&] { return in.record_number('\n', state.record_number); },
               made_of("0123456789")) ||
        !literal("  timestamp: ") || !timestamp(state.timestamp)) {
      return result({});
    }
    if (!literal("  update_time: ")) {
      state.update_time = out.update_time;  // written before states had their own
    } else if (!timestamp(state.update_time)) {
      return result({});
    }
    if (literal("  bookmark: ") && !quoted(state.bookmark)) return result({});
  }
  if (ran_out || !end()) return result({});
  if (!detail::sort_unique_by_name(out.states)) return result({});
  return out;
}

}  // namespace checkpoint::backends
