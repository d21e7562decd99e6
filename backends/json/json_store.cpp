#include "backends/json/json_store.hpp"

#include "backends/json/json_format.hpp"
#include "core/document_file_store.hpp"

namespace checkpoint::backends {

BackendInfo json_backend_info() {
  return {"json",
          "JSON file, the YAML format's document; sync=off skips fsync (unsafe)",
          {"sync"},
          {".json"}};
}

std::unique_ptr<StateStore> open_json_store(const StoreUri& uri) {
  return detail::open_document_file_store(uri, {"json", emit_json_document, parse_json_document});
}

}  // namespace checkpoint::backends
