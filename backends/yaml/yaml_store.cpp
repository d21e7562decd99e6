#include "backends/yaml/yaml_store.hpp"

#include "backends/yaml/yaml_format.hpp"
#include "core/document_file_store.hpp"

namespace checkpoint::backends {

BackendInfo yaml_backend_info() {
  return {"yaml",
          "one YAML file in Winlogbeat's .winlogbeat.yml format, rewritten at each commit; "
          "sync=off skips fsync (unsafe)",
          {"sync"},
          {".yml", ".yaml"}};
}

std::unique_ptr<StateStore> open_yaml_store(const StoreUri& uri) {
  return detail::open_document_file_store(uri, {"yaml", emit_yaml_document, parse_yaml_document});
}

}  // namespace checkpoint::backends
