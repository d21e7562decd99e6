// Config strings and the registry of backends.
//
// A config string is SCHEME:TARGET[?key=value&key=value]; SCHEME:// followed
// by an absolute path is the same. TARGET and values are percent-decoded.
// A string without a scheme is a path whose extension picks the backend
// (".yml" -> yaml, ".db" -> sqlite, ...). All functions are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/store.hpp"

namespace checkpoint {

struct StoreUri {
  std::string text;    // as given
  std::string scheme;  // "yaml", "sqlite", ...
  std::string target;  // path (or name), percent-decoded
  std::map<std::string, std::string> options;
};

struct BackendInfo {
  std::string scheme;                   // lower case letters, digits, '+', '-', '.'
  std::string description;              // one line, for people
  std::vector<std::string> options;     // accepted option keys
  std::vector<std::string> extensions;  // ".yml", ... for scheme-less paths
};

// Opens the store a config string names, for reading or writing as
// `options` say (see store.hpp for what each mode promises). Called only
// after the options were checked against BackendInfo::options.
using BackendFactory =
    std::function<std::unique_ptr<Store>(const StoreUri& uri, const OpenOptions& options)>;

// Scheme or extension already taken, or an invalid scheme:
// Error{invalid_argument}.
void register_backend(BackendInfo info, BackendFactory factory);

// Built-in and user backends, sorted by scheme.
std::vector<BackendInfo> registered_backends();

// Splits and percent-decodes; does not check that the scheme is registered,
// except that a scheme-less path is resolved by its extension. Malformed
// text: Error{invalid_config}.
StoreUri parse_store_uri(std::string_view uri);

// ---- Version 1 (deprecated; see legacy_store.hpp) -------------------------

using StoreFactory = std::function<std::unique_ptr<StateStore>(const StoreUri&)>;

// Registers a version 1 backend, served through the adapter of
// legacy_store.hpp.
[[deprecated("a StateStore backend: port it to checkpoint::Store (store.hpp)")]] void
register_backend(BackendInfo info, StoreFactory factory);

// Opens any store for writing (Store::open() with the default options) and
// serves it as a version 1 StateStore.
std::unique_ptr<StateStore> open_store(std::string_view uri);

}  // namespace checkpoint
