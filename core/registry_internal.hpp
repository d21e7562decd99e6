// The seam between core and backends: core never names a backend; the
// backends library defines register_builtin_backends(), which open_store()
// and the other registry functions call once before anything else.
#pragma once

#include <string_view>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"

namespace checkpoint::detail {

// Defined in backends/builtin.cpp.
void register_builtin_backends();

// register_backend() without the call to register_builtin_backends(), for
// use from inside it.
// Keeps info.origin if set, else "built-in".
void add_backend(BackendInfo info, BackendFactory factory, StoreLister lister = {});

struct NewBackend {
  BackendInfo info;
  BackendFactory factory;
  StoreLister lister;
};

// Registers all of `backends` or, if one is invalid or its scheme or an
// extension taken, none: Error{code} whose message starts with `who`.
void add_backends(std::vector<NewBackend> backends, ErrorCode code, std::string_view who);

// Registers the built-in backends once (not the plugins of
// CHECKPOINT_PLUGINS): for load_plugin(), which those use.
void ensure_builtin_backends();

// Loads the plugins CHECKPOINT_PLUGINS names (core/plugin_loader.cpp).
void load_environment_plugins();

}  // namespace checkpoint::detail
