#include "backends/json/json_format.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "backends/json/json_layout_reader.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "core/document_checksum.hpp"
#include "core/state_check.hpp"
#include "core/timestamp_text.hpp"
#include "core/utf8.hpp"

namespace checkpoint::backends {
namespace {

// ordered_json keeps keys in the order written, the YAML format's order.
using Json = nlohmann::ordered_json;

constexpr const char* kRecordRange = "an integer from 0 to 18446744073709551615";

// Parses JSON text, failing on an object key that appears twice: the
// parser alone would keep the last one and silently drop the other. A first
// SAX pass finds syntax errors and repeated keys, then the DOM is built.
// (nlohmann's parse callbacks would do it in one pass, but cost O(n^2) on a
// long array of objects.)
class StrictParser {
 public:
  explicit StrictParser(std::string label) : label_(std::move(label)) {}

  Json parse(std::string_view text) const {
    KeyChecker checker;
    if (!Json::sax_parse(text.begin(), text.end(), &checker)) corrupt(checker.problem);
    try {
      return Json::parse(text.begin(), text.end());
    } catch (const Json::exception& e) {  // the first pass should have seen it
      corrupt(std::string("not valid JSON: ") + e.what());
    }
  }

  [[noreturn]] void corrupt(const std::string& what, std::optional<std::uint64_t> line = {},
                            std::optional<std::uint64_t> offset = {}) const {
    throw toolkit::corrupt(label_, what, line, offset);
  }

 private:
  class KeyChecker final : public nlohmann::json_sax<Json> {
   public:
    std::string problem;  // why parsing stopped

    bool null() override { return element_done(); }
    bool boolean(bool) override { return element_done(); }
    bool number_integer(number_integer_t) override { return element_done(); }
    bool number_unsigned(number_unsigned_t) override { return element_done(); }
    bool number_float(number_float_t, const string_t&) override { return element_done(); }
    bool string(string_t&) override { return element_done(); }
    bool binary(binary_t&) override { return element_done(); }
    bool start_object(std::size_t) override {
      stack_.push_back(Frame{true, {}, {}, 0});
      return true;
    }
    bool key(string_t& key) override {
      Frame& top = stack_.back();
      top.key = key;
      if (!top.keys.insert(key).second) {
        problem = path() + " has the key \"" + key + "\" twice";
        return false;
      }
      return true;
    }
    bool end_object() override { return end_container(); }
    bool start_array(std::size_t) override {
      stack_.push_back(Frame{false, {}, {}, 0});
      return true;
    }
    bool end_array() override { return end_container(); }
    bool parse_error(std::size_t, const std::string&,
                     const nlohmann::detail::exception& e) override {
      // "[json.exception.parse_error.101] parse error at line 1, ..." without the tag.
      std::string what = e.what();
      if (auto tag = what.find("] "); tag != std::string::npos) what.erase(0, tag + 2);
      problem = "not valid JSON: " + what;
      return false;
    }

   private:
    struct Frame {
      bool object = false;
      std::set<std::string> keys;  // objects: the keys seen so far
      std::string key;             // objects: the current key
      std::size_t index = 0;       // arrays: the current element
    };

    // "event_logs[3]": where the innermost container sits.
    std::string path() const {
      std::string out;
      for (std::size_t i = 0; i + 1 < stack_.size(); ++i) {
        const Frame& f = stack_[i];
        // Appended piece by piece: g++ 12 -O2 warns wrongly (-Wrestrict)
        // about "literal" + std::string here.
        if (f.object) {
          if (!out.empty()) out += '.';
          out += f.key;
        } else {
          out += '[';
          out += std::to_string(f.index);
          out += ']';
        }
      }
      return out.empty() ? "the top level" : out;
    }

    bool element_done() {
      if (!stack_.empty() && !stack_.back().object) ++stack_.back().index;
      return true;
    }

    bool end_container() {
      stack_.pop_back();
      return element_done();
    }

    std::vector<Frame> stack_;
  };

  std::string label_;
};

// Reads the fields of one document; every failure names the path in it.
class DocumentReader {
 public:
  // `checksummed`: the text holds a checksum line that matched.
  DocumentReader(const StrictParser& parser, bool checksummed)
      : parser_(parser), checksummed_(checksummed) {}

  PersistedState read(const Json& doc) {
    if (!doc.is_object()) {
      fail("the top level is " + std::string(doc.type_name()) + ", expected an object");
    }
    PersistedState out;
    for (const auto& [key, value] : doc.items()) {
      if (key == "checksum") {
        // Written on a line of its own, where check_checksum() found and
        // checked it; anywhere else, the file was reformatted or damaged.
        if (!checksummed_) {
          fail(
              "checksum is not on a line of its own at the end, where checkpoint writes it: "
              "the file was reformatted or damaged (to accept an edited file, delete the "
              "checksum)");
        }
      } else if (key != "update_time" && key != "event_logs") {
        fail("unknown key \"" + key +
             "\": not a checkpoint file (its keys are update_time, event_logs and checksum)");
      }
    }
    out.update_time = timestamp(doc, "update_time", "update_time");
    const Json& logs = member(doc, "event_logs", "event_logs");
    if (!logs.is_array())
      fail("event_logs is " + std::string(logs.type_name()) + ", expected an array");

    std::map<std::string, std::size_t, std::less<>> seen;  // name -> index
    out.states.reserve(logs.size());
    for (std::size_t i = 0; i < logs.size(); ++i) {
      const std::string at = "event_logs[" + std::to_string(i) + "]";
      EventLogState state = entry(logs[i], at, out.update_time);
      auto [it, fresh] = seen.emplace(state.name, i);
      if (!fresh) {
        fail(at + ".name \"" + state.name + "\" repeats event_logs[" + std::to_string(it->second) +
             "]");
      }
      out.states.push_back(std::move(state));
    }
    std::sort(out.states.begin(), out.states.end(),
              [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; });
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { parser_.corrupt(what); }

  const Json& member(const Json& object, const char* key, const std::string& at) const {
    auto it = object.find(key);
    if (it == object.end()) fail(at + " is missing");
    return *it;
  }

  const std::string& string(const Json& object, const char* key, const std::string& at) const {
    const Json& value = member(object, key, at);
    if (!value.is_string()) {
      fail(at + " is " + std::string(value.type_name()) + ", expected a string");
    }
    return value.get_ref<const std::string&>();
  }

  Timestamp timestamp(const Json& object, const char* key, const std::string& at) const {
    const std::string& text = string(object, key, at);
    try {
      return Timestamp::parse(text);
    } catch (const Error&) {
      fail(at + " \"" + text + "\" is not an RFC 3339 time from year 1 to 9999");
    }
  }

  // A state written before states had their own update time takes the
  // store's, `update_time`.
  EventLogState entry(const Json& value, const std::string& at, Timestamp update_time) const {
    if (!value.is_object()) {
      fail(at + " is " + std::string(value.type_name()) + ", expected an object");
    }
    for (const auto& [key, ignored] : value.items()) {
      if (key != "name" && key != "record_number" && key != "timestamp" && key != "bookmark" &&
          key != "update_time") {
        fail(at + " has an unknown key \"" + key + "\"");
      }
    }
    EventLogState state;
    state.name = string(value, "name", at + ".name");
    if (state.name.empty()) fail(at + ".name is empty");
    state.record_number =
        record_number(member(value, "record_number", at + ".record_number"), at + ".record_number");
    state.timestamp = timestamp(value, "timestamp", at + ".timestamp");
    if (value.contains("bookmark")) state.bookmark = string(value, "bookmark", at + ".bookmark");
    state.update_time = value.contains("update_time")
                            ? timestamp(value, "update_time", at + ".update_time")
                            : update_time;
    return state;
  }

  std::uint64_t record_number(const Json& value, const std::string& at) const {
    // The parser gives non-negative integers up to 2^64-1 as unsigned,
    // negative ones as signed, and fractions or larger numbers as floats.
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (value.is_number_integer()) fail(at + " is negative; expected " + kRecordRange);
    if (value.is_number_float()) {
      fail(at + " is " + value.dump() + ", not " + std::string(kRecordRange));
    }
    fail(at + " is " + std::string(value.type_name()) + ", expected " + kRecordRange);
  }

  const StrictParser& parser_;
  bool checksummed_;
};

// `s` (valid UTF-8) as a JSON string, escaped as nlohmann::json's dump()
// escapes it, so documents read the same whichever wrote them.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t copied = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s, copied, i - copied);
    copied = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out.append(s, copied);
  out += '"';
}

// Damage that deserves a plainer message than the parser's.
void check_text(std::string_view text, const StrictParser& parser) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    parser.corrupt("the file is empty");
  if (text.find_first_not_of('\0') == std::string_view::npos) {
    parser.corrupt("the file holds only NUL bytes (its data never reached the disk?)");
  }
  // JSON never holds a raw NUL, and the parser would take one for the end
  // of the input and ignore what follows.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    parser.corrupt("the file holds a NUL byte at offset " + std::to_string(nul), std::nullopt, nul);
  }
  if (!detail::is_valid_utf8(text)) parser.corrupt("the file is not valid UTF-8");
}

}  // namespace

std::string emit_json_document(Timestamp update_time, const StateMap& states,
                               std::string_view store) {
  std::string out;
  out.reserve(64 + states.size() * 320);
  out += "{\n  \"update_time\": \"";
  detail::append_timestamp(out, update_time);
  out += "\",\n  \"event_logs\": [";
  char number[24];
  bool first = true;
  for (const auto& [name, state] : states) {
    detail::check_state(store, state.name, state.bookmark);
    out += first ? "\n    {\n      \"name\": " : ",\n    {\n      \"name\": ";
    first = false;
    append_json_string(out, state.name);
    out += ",\n      \"record_number\": ";  // an unsigned integer, never a float
    out.append(number, std::to_chars(number, number + sizeof number, state.record_number).ptr);
    out += ",\n      \"timestamp\": \"";
    detail::append_timestamp(out, state.timestamp);
    out += "\",\n      \"update_time\": \"";
    detail::append_timestamp(out, state.update_time);
    out += '"';
    if (!state.bookmark.empty()) {
      out += ",\n      \"bookmark\": ";
      append_json_string(out, state.bookmark);
    }
    out += "\n    }";
  }
  out += states.empty() ? "],\n" : "\n  ],\n";
  out += "  \"checksum\": \"" + detail::document_checksum(out) + "\"\n}\n";
  return out;
}

// Checks the checksum line our files end with (core/document_checksum.hpp);
// true if there is one and it matches, false if there is none.
bool check_checksum(std::string_view text, const StrictParser& parser) {
  auto line = detail::find_checksum_line(text, "  \"checksum\": ");
  if (!line) return false;
  if (!line->quoted || line->value != detail::document_checksum(text.substr(0, line->start))) {
    // Damage by a power cut deserves its own, plainer message.
    if (text.find('\0') != std::string_view::npos) check_text(text, parser);
    parser.corrupt(
        "the checksum does not match the contents: the file is damaged, or was edited by hand "
        "(to accept an edited file, delete its \"checksum\" member and the comma before it)",
        line->line, line->start);
  }
  return true;
}

PersistedState parse_json_document(std::string_view text, std::string_view store) {
  // Our own files, quickly; everything else (documents from elsewhere,
  // damaged ones) through nlohmann::json and the checks below.
  StrictParser parser(std::string{store});
  const bool checksummed = check_checksum(text, parser);
  if (auto ours = read_json_layout(text)) return std::move(*ours);
  check_text(text, parser);
  Json doc = parser.parse(text);
  return DocumentReader(parser, checksummed).read(doc);
}

}  // namespace checkpoint::backends
