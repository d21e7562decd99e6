// The public face of the yaml and json formats (checkpoint/documents.hpp).
#include "checkpoint/documents.hpp"

#include "checkpoint/error.hpp"
#if CHECKPOINT_WITH_JSON
#include "backends/json/json_format.hpp"
#endif
#if CHECKPOINT_WITH_YAML
#include "backends/yaml/yaml_format.hpp"
#endif

namespace checkpoint {
namespace {

[[maybe_unused]] StateMap to_map(const PersistedState& state) {
  StateMap out;
  for (const auto& s : state.states) out.insert_or_assign(s.name, s);
  return out;
}

[[maybe_unused]] [[noreturn]] void not_built(const char* format) {
  throw Error(ErrorCode::unsupported,
              std::string("this build of checkpoint has no ") + format + " backend");
}

}  // namespace

#if CHECKPOINT_WITH_YAML
std::string yaml_document(const PersistedState& state) {
  return backends::emit_yaml_document(state.update_time, to_map(state), "yaml document");
}
PersistedState read_yaml_document(std::string_view text, std::string_view source) {
  return backends::parse_yaml_document(text, source);
}
#else
std::string yaml_document(const PersistedState&) { not_built("yaml"); }
PersistedState read_yaml_document(std::string_view, std::string_view) { not_built("yaml"); }
#endif

#if CHECKPOINT_WITH_JSON
std::string json_document(const PersistedState& state) {
  return backends::emit_json_document(state.update_time, to_map(state), "json document");
}
PersistedState read_json_document(std::string_view text, std::string_view source) {
  return backends::parse_json_document(text, source);
}
#else
std::string json_document(const PersistedState&) { not_built("json"); }
PersistedState read_json_document(std::string_view, std::string_view) { not_built("json"); }
#endif

}  // namespace checkpoint
