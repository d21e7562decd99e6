// The seam between core and backends: core never names a backend; the
// backends library defines register_builtin_backends(), which open_store()
// and the other registry functions call once before anything else.
#pragma once

#include "checkpoint/registry.hpp"

namespace checkpoint::detail {

// Defined in backends/builtin.cpp.
void register_builtin_backends();

// register_backend() without the call to register_builtin_backends(), for
// use from inside it.
void add_backend(BackendInfo info, BackendFactory factory, StoreLister lister = {});

}  // namespace checkpoint::detail
