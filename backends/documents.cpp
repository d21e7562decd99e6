// The public face of the yaml and json formats (checkpoint/documents.hpp).
#include "checkpoint/documents.hpp"

#include "backends/json/json_format.hpp"
#include "backends/yaml/yaml_format.hpp"

namespace checkpoint {
namespace {

StateMap to_map(const PersistedState& state) {
  StateMap out;
  for (const auto& s : state.states) out.insert_or_assign(s.name, s);
  return out;
}

}  // namespace

std::string yaml_document(const PersistedState& state) {
  return backends::emit_yaml_document(state.update_time, to_map(state), "yaml document");
}

std::string json_document(const PersistedState& state) {
  return backends::emit_json_document(state.update_time, to_map(state), "json document");
}

PersistedState read_yaml_document(std::string_view text, std::string_view source) {
  return backends::parse_yaml_document(text, source);
}

PersistedState read_json_document(std::string_view text, std::string_view source) {
  return backends::parse_json_document(text, source);
}

}  // namespace checkpoint
