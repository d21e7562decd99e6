#include "backends/json/json_layout_reader.hpp"

#include "core/layout_reader.hpp"
#include "core/utf8.hpp"

namespace checkpoint::backends {
namespace {

// Decodes the escape whose letter is at `p`; nullptr for one the writer
// never uses.
const char* unescape(const char* p, const char* end, std::string& out) {
  switch (*p) {
    case '"':
    case '\\':
      out += *p;
      return p + 1;
    case 'b':
      out += '\b';
      return p + 1;
    case 'f':
      out += '\f';
      return p + 1;
    case 'n':
      out += '\n';
      return p + 1;
    case 'r':
      out += '\r';
      return p + 1;
    case 't':
      out += '\t';
      return p + 1;
    case 'u': {
      std::uint32_t cp;  // a surrogate (half of a pair) is refused
      if (!detail::read_hex(p + 1, end, 4, cp) || !detail::append_utf8(out, cp)) return nullptr;
      return p + 5;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<PersistedState> read_json_layout(std::string_view text) {
  detail::LayoutCursor in(text);
  PersistedState out;
  if (!in.literal("{\n  \"update_time\": \"") || !in.timestamp('"', out.update_time) ||
      !in.literal(",\n  \"event_logs\": [")) {
    return {};
  }
  // The checksum member (checked by the caller) may end the object.
  auto end = [&in] {
    std::string_view checksum;
    if (!in.literal(",\n  \"checksum\": ")) return in.literal("\n}\n");
    return in.until('\n', checksum) && checksum.size() == 10 && checksum.front() == '"' &&
           checksum.back() == '"' &&
           checksum.find_first_not_of("0123456789abcdef", 1) == checksum.size() - 1 &&
           in.literal("}\n");
  };
  if (in.literal("]")) {
    if (!end()) return {};
  } else {
    if (!in.literal("\n")) return {};
    do {
      EventLogState& state = out.states.emplace_back();
      if (!in.literal("    {\n      \"name\": ") ||
          !in.quoted(state.name, detail::is_valid_utf8, unescape) || state.name.empty() ||
          !in.literal(",\n      \"record_number\": ") ||
          !in.record_number(',', state.record_number) || !in.literal("\n      \"timestamp\": \"") ||
          !in.timestamp('"', state.timestamp)) {
        return {};
      }
      if (!in.literal(",\n      \"update_time\": \"")) {
        state.update_time = out.update_time;  // written before states had their own
      } else if (!in.timestamp('"', state.update_time)) {
        return {};
      }
      if (in.literal(",\n      \"bookmark\": ") &&
          !in.quoted(state.bookmark, detail::is_valid_utf8, unescape)) {
        return {};
      }
      if (!in.literal("\n    }")) return {};
    } while (in.literal(",\n"));
    if (!in.literal("\n  ]") || !end()) return {};
  }
  if (!in.at_end() || !detail::sort_unique_by_name(out.states)) return {};
  return out;
}

}  // namespace checkpoint::backends
