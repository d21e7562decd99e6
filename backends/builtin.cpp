// The one place that names the built-in backends: those the build has
// (the CHECKPOINT_WITH_* options of the top-level CMakeLists.txt).
#include "backends/memory/memory_store.hpp"
#include "core/registry_internal.hpp"
#if CHECKPOINT_WITH_JSON
#include "backends/json/json_store.hpp"
#endif
#if CHECKPOINT_WITH_LMDB
#include "backends/lmdb/lmdb_store.hpp"
#endif
#if CHECKPOINT_WITH_POSTGRESQL
#include "backends/postgresql/postgresql_store.hpp"
#endif
#if CHECKPOINT_WITH_SQLITE
#include "backends/sqlite/sqlite_store.hpp"
#endif
#if CHECKPOINT_WITH_YAML
#include "backends/yaml/yaml_store.hpp"
#endif

namespace checkpoint::detail {

void register_builtin_backends() {
  add_backend(backends::memory_backend_info(), backends::open_memory_store);
#if CHECKPOINT_WITH_JSON
  add_backend(backends::json_backend_info(), backends::open_json_store);
#endif
#if CHECKPOINT_WITH_LMDB
  add_backend(backends::lmdb_backend_info(), backends::open_lmdb_store);
#endif
#if CHECKPOINT_WITH_POSTGRESQL
  // Under both of the names PostgreSQL's own URIs take.
  add_backend(backends::postgresql_backend_info(), backends::open_postgresql_store,
              backends::list_postgresql_stores);
  add_backend(backends::postgres_backend_info(), backends::open_postgresql_store,
              backends::list_postgresql_stores);
#endif
#if CHECKPOINT_WITH_SQLITE
  add_backend(backends::sqlite_backend_info(), backends::open_sqlite_store);
#endif
#if CHECKPOINT_WITH_YAML
  add_backend(backends::yaml_backend_info(), backends::open_yaml_store);
#endif
}

}  // namespace checkpoint::detail
