// The one place that names the built-in backends.
#include "backends/json/json_store.hpp"
#include "backends/lmdb/lmdb_store.hpp"
#include "backends/memory/memory_store.hpp"
#include "backends/sqlite/sqlite_store.hpp"
#include "backends/yaml/yaml_store.hpp"
#include "core/registry_internal.hpp"

namespace checkpoint::detail {

void register_builtin_backends() {
  add_backend(backends::json_backend_info(), backends::open_json_store);
  add_backend(backends::lmdb_backend_info(), backends::open_lmdb_store);
  add_backend(backends::memory_backend_info(), backends::open_memory_store);
  add_backend(backends::yaml_backend_info(), backends::open_yaml_store);
  add_backend(backends::sqlite_backend_info(), backends::open_sqlite_store);
}

}  // namespace checkpoint::detail
