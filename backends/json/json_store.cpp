#include "backends/json/json_store.hpp"

#include "backends/json/json_format.hpp"
#include "checkpoint/toolkit/whole_file_store.hpp"

namespace checkpoint::backends {

BackendInfo json_backend_info() {
  return {"json",
          "JSON file, the YAML format's document; sync=off skips fsync (unsafe)",
          toolkit::whole_file_options(),
          {".json"},
          false,
          toolkit::whole_file_store_files};
}

std::unique_ptr<Store> open_json_store(const StoreUri& uri, const OpenOptions& options) {
  return toolkit::open_whole_file_store(
      uri, options,
      {"json", emit_json_document, parse_json_document,
       [](std::string_view text, std::string_view) { return salvage_json_document(text); }});
}

}  // namespace checkpoint::backends
