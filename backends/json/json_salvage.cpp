#include <vector>

#include "backends/json/json_format.hpp"
#include "checkpoint/error.hpp"

namespace checkpoint::backends {
namespace {

// One state in a document of its own, with the store's update time (a
// state written without its own, before states had one, takes it).
std::string one_state_document(std::string_view object, const std::string& update_time) {
  return R"({"update_time": ")" + update_time + R"(", "event_logs": [)" + std::string(object) +
         "]}";
}

// Our own layout (emit_json_document, two-space indent): each state opens
// with a line "    {" and closes with a line "    }" or "    },". Damage
// inside one state cannot spill into the next.
bool salvage_by_lines(std::string_view text, detail::SalvageCollector& collect,
                      const std::string& update_time) {
  std::size_t pos = 0, entry = std::string_view::npos;
  bool found = false;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line = text.substr(pos, next - pos);
    if (line == "    {\n") {
      if (entry != std::string_view::npos) collect.problem(entry, "the state is cut off");
      entry = pos;
      found = true;
    } else if (entry != std::string_view::npos && (line == "    }\n" || line == "    },\n")) {
      collect.state(one_state_document(text.substr(entry, pos + 5 - entry), update_time), entry);
      entry = std::string_view::npos;
    }
    pos = next;
  }
  if (entry != std::string_view::npos) collect.problem(entry, "the state is cut off");
  return found;
}

// Any other layout: each object two levels deep ({"event_logs": [ {...} ]}),
// found by tracking brackets outside strings. Damage to a quote can hide the
// states after it.
void salvage_by_brackets(std::string_view text, detail::SalvageCollector& collect,
                         const std::string& update_time) {
  std::vector<char> stack;
  bool in_string = false, escaped = false;
  std::size_t entry = std::string_view::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (c == '{' && stack.size() == 2 && stack[0] == '{' && stack[1] == '[') entry = i;
      stack.push_back(c);
    } else if ((c == '}' || c == ']') && !stack.empty()) {
      stack.pop_back();
      if (c == '}' && stack.size() == 2 && entry != std::string_view::npos) {
        collect.state(one_state_document(text.substr(entry, i + 1 - entry), update_time), entry);
        entry = std::string_view::npos;
      }
    }
  }
  if (entry != std::string_view::npos) collect.problem(entry, "the state is cut off");
}

}  // namespace

Salvage salvage_json_document(std::string_view text) {
  detail::SalvageCollector collect(text, parse_json_document);
  // The store's "update_time": "..." (the first key of that name, ahead of
  // the states' own), wherever it is.
  auto key = text.find("\"update_time\"");
  std::string value;
  if (key != std::string_view::npos) {
    auto colon = text.find(':', key);
    auto open = colon == std::string_view::npos ? colon : text.find('"', colon);
    auto close = open == std::string_view::npos ? open : text.find('"', open + 1);
    value = close == std::string_view::npos ? std::string("(cut off)")
                                            : std::string(text.substr(open + 1, close - open - 1));
  }
  std::string readable_time = value;  // what each state's document carries
  try {
    parse_json_document(one_state_document("", readable_time), "");
  } catch (const Error&) {
    readable_time = "0001-01-01T00:00:00Z";
  }
  if (!salvage_by_lines(text, collect, readable_time)) {
    salvage_by_brackets(text, collect, readable_time);
  }
  if (key == std::string_view::npos) {
    collect.problem("update_time: not found");
  } else {
    collect.update_time(R"({"update_time": ")" + value + R"(", "event_logs": []})", key);
  }
  return collect.finish();
}

}  // namespace checkpoint::backends
