#include "backends/yaml/yaml_format.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>

#include "backends/yaml/yaml_layout_reader.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "core/document_checksum.hpp"
#include "core/state_check.hpp"
#include "core/timestamp_text.hpp"
#include "core/utf8.hpp"

namespace checkpoint::backends {
namespace {

// ---- Writing ---------------------------------------------------------------

void append_escape(std::string& out, unsigned code_point) {
  switch (code_point) {
    case '\t':
      out += "\\t";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
  }
  char buf[8];
  int n = code_point <= 0xFF ? std::snprintf(buf, sizeof buf, "\\x%02X", code_point)
                             : std::snprintf(buf, sizeof buf, "\\u%04X", code_point);
  out.append(buf, static_cast<std::size_t>(n));
}

// The code point to escape at s[i], or nullopt to copy the byte as it is.
// Escaped: '"', '\', and every character that YAML does not allow raw or
// that a reader would take as a line break: C0 controls, DEL, C1 controls
// (NEL among them), U+2028, U+2029, the BOM U+FEFF and U+FFFE, U+FFFF.
// `s` is valid UTF-8, so the continuation bytes looked at exist.
std::optional<unsigned> escaped_at(std::string_view s, std::size_t i, std::size_t& width) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  width = 1;
  if (p[0] < 0x80) {
    if (p[0] < 0x20 || p[0] == 0x7F || p[0] == '"' || p[0] == '\\') return p[0];
    return std::nullopt;
  }
  if (p[0] == 0xC2 && p[1] <= 0x9F) {  // U+0080..U+009F
    width = 2;
    return p[1];
  }
  if ((p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) ||
      (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) ||
      (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))) {
    width = 3;
    return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
  }
  return std::nullopt;
}

// A YAML double-quoted scalar that every reader turns back into exactly `s`.
void append_double_quoted(std::string& out, std::string_view s) {
  out += '"';
  std::size_t copied = 0;
  for (std::size_t i = 0; i < s.size();) {
    // Printable ASCII other than '"' and '\' is copied as it is: the common case.
    if (auto c = static_cast<unsigned char>(s[i]); c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    std::size_t width;
    if (auto code_point = escaped_at(s, i, width)) {
      out.append(s, copied, i - copied);
      append_escape(out, *code_point);
      copied = i + width;
    }
    i += width;
  }
  out.append(s, copied);
  out += '"';
}

// ---- Messages --------------------------------------------------------------

// `s` quoted for an error message: control characters and bytes that are not
// printable ASCII escaped, long text shortened.
std::string for_message(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  out += '"';
  if (s.size() > kMax) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

[[noreturn]] void invalid_state(std::string_view store, std::string_view name,
                                const std::string& what) {
  throw Error(ErrorCode::invalid_argument,
              std::string(store) + ": state " + for_message(name) + ": " + what);
}

// ---- Reading ---------------------------------------------------------------

[[noreturn]] void corrupt(std::string_view store, std::string reason,
                          std::optional<std::uint64_t> line = {},
                          std::optional<std::uint64_t> offset = {}) {
  throw toolkit::corrupt(store, std::move(reason), line, offset);
}

// The line a yaml-cpp mark points at, if it points anywhere.
std::optional<std::uint64_t> line_of(const YAML::Mark& mark) {
  if (mark.is_null()) return std::nullopt;
  return static_cast<std::uint64_t>(mark.line) + 1;
}

std::size_t line_of(std::string_view text, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

// Rejects text that no YAML reader should be given: NUL bytes (a file
// zero-filled by a power loss looks like this), other control characters
// and bytes that are not UTF-8. yaml-cpp itself would take some of them,
// e.g. 0x04, as the end of input.
void check_characters(std::string_view text, std::string_view store) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != 0x7F) continue;
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == 0) {
      corrupt(store, "NUL byte; the file is damaged (a crash or power loss can leave NUL bytes)",
              line_of(text, i), i);
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", c);
    corrupt(store, std::string("control character ") + buf + " is not allowed in YAML",
            line_of(text, i), i);
  }
  if (detail::is_valid_utf8(text)) return;
  // A multi-byte sequence never spans a line break, so one line holds the fault.
  std::size_t line = 1;
  for (std::size_t start = 0; start < text.size(); ++line) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    if (!detail::is_valid_utf8(text.substr(start, end - start))) break;
    start = end + 1;
  }
  corrupt(store, "not valid UTF-8", line);
}

// Checks the checksum line our files end with (core/document_checksum.hpp);
// true if there is one and it matches, false if there is none.
bool check_checksum(std::string_view text, std::string_view store) {
  auto line = detail::find_checksum_line(text, "checksum: ");
  if (!line) return false;
  if (line->value != detail::document_checksum(text.substr(0, line->start))) {
    // Damage by a power cut deserves its own, plainer message.
    if (text.find('\0') != std::string_view::npos) check_characters(text, store);
    corrupt(store,
            "the checksum does not match the contents: the file is damaged, or was edited by "
            "hand (to accept an edited file, delete its checksum line)",
            line->line, line->start);
  }
  return true;
}

// A file cut short is caught here when the parser could still make sense of
// what is left. Our own files end with the "..." marker line, and one of
// them cut short was caught before (read_yaml_layout() knows their start).
// Others, Winlogbeat's and hand-written ones, with or without "---" and
// "...", end at least with a line break (or with the "..." marker), so a
// cut inside a last line such as "record_number: 250502" is not read as a
// smaller number.
void check_complete(std::string_view text, std::string_view store) {
  if (text.ends_with("\n")) return;
  const std::size_t last_line = text.rfind('\n');
  if (text.substr(last_line == std::string_view::npos ? 0 : last_line + 1) == "...") return;
  corrupt(store,
          "the last line has no line break: the file looks truncated (if it is complete, end "
          "it with a line break)");
}

// Our own file, cut short: the message says what to do.
[[noreturn]] void cut_short(std::string_view text, std::string_view store) {
  corrupt(store,
          "the file ends after " + std::to_string(text.size()) +
              " bytes, in the middle of a document that checkpoint wrote: it was cut short. "
              "Run \"checkpointctl salvage STORE NEW-STORE\" to copy the states that can "
              "still be read into a new store",
          line_of(text, text.size()), text.size());
}

// yaml-cpp 0.7 unescapes "\N" (U+0085) and "\_" (U+00A0) to the single
// bytes 0x85 and 0xA0, not to their UTF-8, so a name Winlogbeat wrote with
// a NEL would come back changed and could not be written again. The text
// was checked to be UTF-8 and every other escape yields UTF-8, so such a
// byte where a character starts can only come from one of those two: it is
// re-encoded here.
std::string with_utf8_nel_and_nbsp(std::string s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t width = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (width == 0 && (c == 0x85 || c == 0xA0)) {
      out += '\xC2';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    width = std::max<std::size_t>(width, 1);  // anything else invalid: the caller sees it
    out.append(s, i, width);
    i += width;
  }
  return out;
}

const char* type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// Turns the parsed document into states, checking every value. `text` is
// what yaml-cpp parsed, so node marks are offsets into it.
class DocumentReader {
 public:
  // `checksummed`: the text holds a checksum line that matched.
  DocumentReader(std::string_view text, std::string_view store, bool checksummed)
      : text_(text), store_(store), checksummed_(checksummed) {}

  PersistedState read(const YAML::Node& root) {
    PersistedState out;
    if (root.IsNull()) return out;  // only comments or markers: nothing stored yet
    if (!root.IsMap()) {
      fail(root, "the top level",
           std::string(type_name(root)) + ", expected a mapping with update_time and event_logs");
    }
    bool known = false;  // a key of the format was seen
    for_each_key(root, "the top level", [&](const std::string& key, const YAML::Node& value) {
      known = known || key == "update_time" || key == "event_logs";
      if (key == "update_time") {
        if (!value.IsNull()) out.update_time = timestamp(value, key);
      } else if (key == "event_logs") {
        if (value.IsNull()) return;
        if (!value.IsSequence()) {
          fail(value, key, std::string(type_name(value)) + ", expected a sequence");
        }
        out.states.reserve(value.size());
        std::size_t index = 0;
        for (const auto& item : value) out.states.push_back(state(item, index++));
      } else if (key == "checksum") {
        // Written on a line of its own, where check_checksum() found and
        // checked it; anywhere else, the file was reformatted or damaged.
        if (!checksummed_) {
          fail(value, key,
               "not on a line of its own before the end marker, where checkpoint writes it: "
               "the file was reformatted or damaged (to accept an edited file, delete the "
               "checksum)");
        }
      } else {
        fail(value, "the top level",
             "unknown key \"" + key +
                 "\": not a checkpoint file (its keys are update_time, event_logs and "
                 "checksum)");
      }
    });
    if (!known) {
      fail(root, "the top level",
           "an empty mapping: not a checkpoint file (its keys are update_time and event_logs)");
    }
    // Written before states had their own update time: the store's.
    for (std::size_t index : without_update_time_) out.states[index].update_time = out.update_time;
    out.states = sorted_by_name(std::move(out.states));
    return out;
  }

 private:
  [[noreturn]] void fail(const YAML::Node& node, const std::string& where,
                         const std::string& what) const {
    corrupt(store_, where + ": " + what, line_of(node.Mark()));
  }

  // yaml-cpp accepts a quoted scalar that the end of the input cuts off, as
  // if it had been closed there; a truncated file would then load a
  // shortened name or bookmark. So the closing quote is looked for here.
  void check_closed(const YAML::Node& node, const std::string& where) const {
    if (node.Mark().is_null() || node.Mark().pos < 0) return;
    std::size_t pos = static_cast<std::size_t>(node.Mark().pos);
    // The mark is at the node's tag or anchor, if any: skip them.
    while (pos < text_.size() && (text_[pos] == '!' || text_[pos] == '&')) {
      pos = text_.find_first_of(" \t\r\n", pos);
      pos = text_.find_first_not_of(" \t\r\n", pos);
    }
    if (pos >= text_.size() || (text_[pos] != '"' && text_[pos] != '\'')) return;
    const char quote = text_[pos];
    for (std::size_t i = pos + 1; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;  // an escape: the next character cannot close the string
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is an escaped single quote
        } else {
          return;
        }
      }
    }
    fail(node, where, "the quoted string has no closing quote: the file is truncated");
  }

  // A string value: a scalar, plain or quoted, without a tag or tagged !!str.
  // (Plain `yes` or `123` is the text itself, as Winlogbeat reads it into a
  // Go string.) Null: nullopt.
  std::optional<std::string> string(const YAML::Node& node, const std::string& where) const {
    if (node.IsNull()) return std::nullopt;
    if (!node.IsScalar()) fail(node, where, std::string(type_name(node)) + ", expected a string");
    const std::string& tag = node.Tag();
    if (tag != "?" && tag != "!" && tag != "tag:yaml.org,2002:str") {
      fail(node, where, "tag \"" + tag + "\" is not supported, expected a string");
    }
    check_closed(node, where);
    std::string value = node.Scalar();
    if (!detail::is_valid_utf8(value)) {
      value = with_utf8_nel_and_nbsp(std::move(value));
      if (!detail::is_valid_utf8(value)) fail(node, where, "not valid UTF-8 after unescaping");
    }
    return value;
  }

  Timestamp timestamp(const YAML::Node& node, const std::string& where) const {
    if (!node.IsScalar()) {
      fail(node, where, std::string(type_name(node)) + ", expected an RFC 3339 timestamp");
    }
    const std::string& tag = node.Tag();
    if (tag != "?" && tag != "!" && tag != "tag:yaml.org,2002:timestamp" &&
        tag != "tag:yaml.org,2002:str") {
      fail(node, where, "tag \"" + tag + "\" is not supported, expected a timestamp");
    }
    check_closed(node, where);
    try {
      return Timestamp::parse(node.Scalar());
    } catch (const Error& e) {
      fail(node, where, e.what());
    }
  }

  // Decimal digits without sign or leading zero, as Winlogbeat writes them
  // (yaml-cpp tags plain scalars "?"). Other spellings (0x1F, 017, +5,
  // 1_000) read differently in YAML 1.1 readers, so they are refused rather
  // than guessed at; so is a quoted number, which Winlogbeat refuses too.
  std::uint64_t record_number(const YAML::Node& node, const std::string& where) const {
    if (!node.IsScalar()) {
      fail(node, where, std::string(type_name(node)) + ", expected an unsigned integer");
    }
    const std::string& s = node.Scalar();
    if (node.Tag() != "?")
      fail(node, where, for_message(s) + " is a quoted string, not an unsigned integer");
    bool digits =
        !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || (s.size() > 1 && s[0] == '0')) {
      fail(node, where, for_message(s) + " is not an unsigned integer");
    }
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size()) {
      fail(node, where, for_message(s) + " does not fit in 64 bits");
    }
    return value;
  }

  // Calls visit(key, value) for the scalar keys of a mapping. A key given
  // twice is corrupt: YAML forbids it, and yaml-cpp would keep both.
  template <typename Visit>
  void for_each_key(const YAML::Node& map, const std::string& where, Visit visit) const {
    std::vector<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) continue;  // not one of ours: ignored like any unknown key
      const std::string& key = it->first.Scalar();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        fail(it->first, where, "key \"" + key + "\" appears twice");
      }
      seen.push_back(key);
      visit(key, it->second);
    }
  }

  EventLogState state(const YAML::Node& node, std::size_t index) const {
    const std::string where = "event_logs[" + std::to_string(index) + "]";
    if (!node.IsMap()) {
      fail(node, where,
           std::string(type_name(node)) +
               ", expected a mapping with name, record_number and timestamp");
    }
    EventLogState out;
    bool has_name = false, has_record_number = false, has_timestamp = false,
         has_update_time = false;
    for_each_key(node, where, [&](const std::string& key, const YAML::Node& value) {
      const std::string field = where + "." + key;
      if (key == "name") {
        auto name = string(value, field);
        if (!name || name->empty()) fail(value, field, "the name is empty");
        out.name = std::move(*name);
        has_name = true;
      } else if (key == "record_number") {
        out.record_number = record_number(value, field);
        has_record_number = true;
      } else if (key == "timestamp") {
        out.timestamp = timestamp(value, field);
        has_timestamp = true;
      } else if (key == "bookmark") {
        out.bookmark = string(value, field).value_or(std::string());
      } else if (key == "update_time") {
        out.update_time = timestamp(value, field);
        has_update_time = true;
      }
    });
    if (!has_update_time) without_update_time_.push_back(index);
    // Winlogbeat always writes all three; a missing one means a damaged file.
    const char* missing = !has_name            ? "name"
                          : !has_record_number ? "record_number"
                          : !has_timestamp     ? "timestamp"
                                               : nullptr;
    if (missing != nullptr) fail(node, where, std::string(missing) + " is missing");
    return out;
  }

  // Sorted by name; two states of one name are corrupt.
  std::vector<EventLogState> sorted_by_name(std::vector<EventLogState> states) const {
    std::vector<std::size_t> order(states.size());  // indexes in the file, for messages
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return states[a].name < states[b].name; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (states[order[i - 1]].name == states[order[i]].name) {
        corrupt(store_, "event_logs[" + std::to_string(order[i - 1]) + "] and event_logs[" +
                            std::to_string(order[i]) + "] have the same name " +
                            for_message(states[order[i]].name));
      }
    }
    std::vector<EventLogState> out;
    out.reserve(order.size());
    for (std::size_t i : order) out.push_back(std::move(states[i]));
    return out;
  }

  std::string_view text_;
  std::string_view store_;
  bool checksummed_;
  mutable std::vector<std::size_t> without_update_time_;  // indexes of states that lack the key
};

}  // namespace

std::string emit_yaml_document(Timestamp update_time, const StateMap& states,
                               std::string_view store) {
  std::string out;
  out.reserve(64 + states.size() * 128);
  out += "---\nupdate_time: ";
  detail::append_timestamp(out, update_time);
  out += states.empty() ? "\nevent_logs: []\n" : "\nevent_logs:\n";
  char number[24];
  for (const auto& [key, state] : states) {
    detail::check_state(store, state.name, state.bookmark);
    if (state.name != key) invalid_state(store, key, "the state's name differs from its key");
    out += "- name: ";
    append_double_quoted(out, state.name);
    out += "\n  record_number: ";
    auto end = std::to_chars(number, number + sizeof number, state.record_number).ptr;
    out.append(number, end);
    out += "\n  timestamp: ";
    detail::append_timestamp(out, state.timestamp);
    out += "\n  update_time: ";
    detail::append_timestamp(out, state.update_time);
    out += '\n';
    if (!state.bookmark.empty()) {
      out += "  bookmark: ";
      append_double_quoted(out, state.bookmark);
      out += '\n';
    }
  }
  out += "checksum: \"" + detail::document_checksum(out) + "\"\n...\n";
  return out;
}

PersistedState parse_yaml_document(std::string_view text, std::string_view store) {
  if (text.empty()) return {};
  // Our own files, quickly; everything else (Winlogbeat's files, damaged
  // ones) through yaml-cpp and the checks below. One of ours cut short
  // has lost its end (and usually its checksum line): said first, since
  // what is left of a checksum line cannot match.
  bool cut = false;
  auto ours = read_yaml_layout(text, &cut);
  if (cut) cut_short(text, store);
  const bool checksummed = check_checksum(text, store);
  if (ours) return std::move(*ours);
  check_characters(text, store);
  check_complete(text, store);
  // Without the byte order mark, yaml-cpp's marks are offsets into `text`.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return DocumentReader(text, store, checksummed).read(root);
  } catch (const YAML::DeepRecursion& e) {
    corrupt(store, "not valid YAML: nested too deeply (" + std::to_string(e.depth()) + " levels)",
            line_of(e.mark));
  } catch (const YAML::Exception& e) {
    corrupt(store, "not valid YAML: " + e.msg, line_of(e.mark));
  }
}

}  // namespace checkpoint::backends
