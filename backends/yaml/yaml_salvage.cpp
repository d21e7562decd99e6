#include <optional>
#include <vector>

#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/error.hpp"

namespace checkpoint::backends {

Salvage salvage_yaml_document(std::string_view text) {
  detail::SalvageCollector collect(text, parse_yaml_document);
  // Both writers (ours and Winlogbeat's) put each state at column 0 as
  // "- name: ..." followed by lines indented by two spaces; the next state or
  // a top-level key ends it.
  struct Piece {
    std::size_t begin, end;
  };
  std::vector<Piece> states;
  std::optional<Piece> update_time;
  std::size_t pos = 0;
  bool in_state = false;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line = text.substr(pos, next - pos);
    bool top_level_key = line.starts_with("update_time:") || line.starts_with("event_logs:") ||
                         line.starts_with("checksum:") || line.starts_with("---") ||
                         line.starts_with("...");
    if (line.starts_with("- ")) {
      states.push_back({pos, next});
      in_state = true;
    } else if (in_state && !top_level_key) {
      // Indented lines belong to the state; so does anything unreadable, so
      // that a line wiped by damage spoils the state rather than ending it
      // early (which would drop its last fields without a trace).
      states.back().end = next;
    } else {
      in_state = false;
      if (line.starts_with("update_time:") && !update_time) update_time = Piece{pos, next};
    }
    pos = next;
  }

  // Our files end with "..."; a damaged one that starts with "---" but
  // lacks it was cut short, and its last state may have lost its last
  // lines (a bookmark line cut off whole looks like a state without a
  // bookmark). YAML written by others may lack the marker: one that loads
  // whole was not cut. Winlogbeat's files carry no markers, so a cut at a
  // line end cannot be told there.
  auto loads = [&] {
    try {
      parse_yaml_document(text, "");
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  bool cut_short =
      text.starts_with("---") && !text.ends_with("\n...\n") && !text.ends_with("\n...") && !loads();
  if (cut_short && states.empty()) {
    collect.problem("the file was cut short (no \"...\" end marker)");
  } else if (cut_short) {
    collect.problem(states.back().begin,
                    "the file was cut short (no \"...\" end marker) in or after this state, which "
                    "may have lost its last fields");
    states.pop_back();
  }
  auto piece = [&](Piece p) {
    std::string out(text.substr(p.begin, p.end - p.begin));
    if (!out.ends_with('\n')) out += '\n';
    return out;
  };
  // Each state is read with the store's update time line when that reads,
  // so that a state written without its own (before states had one) takes
  // the store's, as a whole load gives it.
  std::string header;
  if (update_time) {
    header = piece(*update_time);
    try {
      parse_yaml_document(header + "event_logs: []\n", "");
    } catch (const Error&) {
      header.clear();
    }
  }
  for (Piece p : states) collect.state(header + "event_logs:\n" + piece(p), p.begin);
  if (update_time)
    collect.update_time(piece(*update_time), update_time->begin);
  else
    collect.problem("update_time: not found");
  return collect.finish();
}

}  // namespace checkpoint::backends
