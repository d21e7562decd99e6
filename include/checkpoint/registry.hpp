// Config strings and the registry of backends.
//
// A config string is SCHEME:TARGET[?key=value&key=value]; SCHEME:// followed
// by an absolute path is the same. TARGET and values are percent-decoded.
// A string without a scheme is a path whose extension picks the backend
// (".yml" -> yaml, ".db" -> sqlite, ...). A backend whose stores live on a
// server (BackendInfo::network) also takes
// SCHEME://[USER[:PASSWORD]@]HOST[:PORT][,HOST[:PORT]...]/NAME. A password
// never appears in StoreUri::text, nor so in any message that quotes it.
// All functions are thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/export.h"
#include "checkpoint/store.hpp"

namespace checkpoint {

struct StoreUri {
  std::string text;    // as given, with any password shown as "***"
  std::string scheme;  // "yaml", "sqlite", ...
  // Path (or name), percent-decoded. SCHEME://USER:PASSWORD@HOST.../NAME
  // of a network backend: "USER@HOST.../NAME" as written (its parts still
  // percent-encoded, for the backend to split), the password moved to
  // options["password"].
  std::string target;
  std::map<std::string, std::string> options;
};

// The files that hold the data of the store a config string names, whether
// they exist or not, for operations on the store as a whole: its size
// (checkpointctl compact) and moving a damaged store aside
// (Options::on_corrupt). The first is the file the store's WriterLock is
// taken on (symlinks followed); the lock file PATH.lock is not listed.
using StoreFileLister = std::function<std::vector<std::filesystem::path>(const StoreUri& uri)>;

// For a store that keeps no files of its own (a database shared by many
// stores): renames the store `uri` names, under its writer lock, to its
// name plus `suffix` (or that with -1, -2, ... if taken), so that a new,
// empty store can take its place; returns where it went, for people
// ("store web.corrupt-20261126T174500Z"). Used by Options::on_corrupt.
// Another writer holding it: Error{locked}; no such store: Error{not_found}.
using StoreMover = std::function<std::string(const StoreUri& uri, const std::string& suffix)>;

struct BackendInfo {
  std::string scheme;                   // lower case letters, digits, '+', '-', '.'
  std::string description;              // one line, for people
  std::vector<std::string> options;     // accepted option keys
  std::vector<std::string> extensions;  // ".yml", ... for scheme-less paths
  bool network = false;                 // takes SCHEME://USER@HOST:PORT/NAME (see above)
  StoreFileLister files = {};           // empty: its stores keep no files of their own
  StoreMover move_aside = {};           // for a backend without files; empty: none
  // Where it came from, set by the registry: "built-in", "program"
  // (register_backend()) or the plugin file's path (load_plugin()).
  std::string origin = {};
};

// Opens the store a config string names, for reading or writing as
// `options` say (see store.hpp for what each mode promises). Called only
// after the options were checked against BackendInfo::options.
using BackendFactory =
    std::function<std::unique_ptr<Store>(const StoreUri& uri, const OpenOptions& options)>;

// Scheme or extension already taken, or an invalid scheme:
// Error{invalid_argument}.
CHECKPOINT_API void register_backend(BackendInfo info, BackendFactory factory);

// What list_stores() tells of one store.
struct StoreSummary {
  std::string name;  // what selects it in a config string
  std::size_t states = 0;
  Timestamp update_time;  // of its last commit; zero if none was made
  std::string holder;     // the writer holding it ("host web-1, pid 7, since ..."); empty: none
};

// Lists the stores of a target that holds many (a database server's);
// called only after the options were checked against BackendInfo::options.
using StoreLister = std::function<std::vector<StoreSummary>(const StoreUri& uri)>;

// register_backend() for a backend that can list the stores of a target.
CHECKPOINT_API void register_backend(BackendInfo info, BackendFactory factory, StoreLister lister);

// The stores in the target that `uri` names, sorted by name. A backend that
// keeps one store per target (a file): Error{unsupported} naming its scheme.
CHECKPOINT_API std::vector<StoreSummary> list_stores(std::string_view uri);

// Loads the plugin (checkpoint/plugin.h) in the file `path` and registers
// its backends; their BackendInfo::origin is `path`. A plugin is trusted
// code: it runs in this process. `path` must hold a '/' ("./x.so" for a
// file in the current directory): nothing is ever looked up in a search
// path. Loading a file already loaded (the same file, under any name) does
// nothing. A missing file, a file without the entry point, an ABI version
// or struct size this library does not support, or a scheme or extension
// already taken: Error{invalid_config} naming the file and the cause, and
// nothing is registered. A plugin that registered a backend stays loaded
// until the process ends.
//
// The environment variable CHECKPOINT_PLUGINS, a colon-separated list of
// such paths, is loaded once at the first use of the registry (any
// function of this header, Store::open()); a failure there is
// Error{invalid_config} naming the variable and the file, at that use and
// every later one.
CHECKPOINT_API void load_plugin(const std::string& path);

// The files of the store that `uri` names (BackendInfo::files); empty for a
// backend that lists none. Errors as Store::open() for the config string.
CHECKPOINT_API std::vector<std::filesystem::path> store_files(std::string_view uri);

// The BackendInfo::move_aside of the backend `uri` names (empty if it has
// none). Errors as Store::open() for the config string.
CHECKPOINT_API StoreMover store_mover(std::string_view uri);

// Built-in and user backends, sorted by scheme.
CHECKPOINT_API std::vector<BackendInfo> registered_backends();

// Splits and percent-decodes; does not check that the scheme is registered,
// except that a scheme-less path is resolved by its extension. Malformed
// text: Error{invalid_config}.
CHECKPOINT_API StoreUri parse_store_uri(std::string_view uri);

// `uri` as messages show it: the password of SCHEME://USER:PASSWORD@HOST
// and the values of options whose key ends in "password" replaced by "***".
// Any text: what is not a config string comes back unchanged.
CHECKPOINT_API std::string redacted_config(std::string_view uri);

// ---- Version 1 (deprecated; see legacy_store.hpp) -------------------------

using StoreFactory = std::function<std::unique_ptr<StateStore>(const StoreUri&)>;

// Registers a version 1 backend, served through the adapter of
// legacy_store.hpp.
[[deprecated("a StateStore backend: port it to checkpoint::Store (store.hpp)")]] CHECKPOINT_API void
register_backend(BackendInfo info, StoreFactory factory);

// Opens any store for writing (Store::open() with the default options) and
// serves it as a version 1 StateStore.
CHECKPOINT_API std::unique_ptr<StateStore> open_store(std::string_view uri);

}  // namespace checkpoint
