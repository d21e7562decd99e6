#include "backends/yaml/yaml_store.hpp"

#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/toolkit/whole_file_store.hpp"

namespace checkpoint::backends {

BackendInfo yaml_backend_info() {
  return {"yaml",
          "one YAML file in Winlogbeat's .winlogbeat.yml format, rewritten at each commit; "
          "sync=off skips fsync (unsafe)",
          toolkit::whole_file_options(),
          {".yml", ".yaml"},
          false,
          toolkit::whole_file_store_files};
}

std::unique_ptr<Store> open_yaml_store(const StoreUri& uri, const OpenOptions& options) {
  return toolkit::open_whole_file_store(
      uri, options,
      {"yaml", emit_yaml_document, parse_yaml_document,
       [](std::string_view text, std::string_view) { return salvage_yaml_document(text); }});
}

}  // namespace checkpoint::backends
