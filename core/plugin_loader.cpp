// load_plugin(): a shared object's backends (checkpoint/plugin.h) served
// as Stores. The C table is wrapped in PluginStore, which turns the codes
// and messages of the plugin into checkpoint::Error and the C structs into
// states, exactly, in both directions.
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/error.hpp"
#include "checkpoint/plugin.h"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/toolkit/plugin.hpp"
#include "core/registry_internal.hpp"

namespace checkpoint {
namespace {

// The files loaded so far, by identity: a second name for one of them
// (a symbolic link, "./x.so" and "/abs/x.so") loads nothing.
struct Plugins {
  std::mutex mutex;
  std::vector<std::pair<dev_t, ino_t>> loaded;
};

Plugins& plugins() {
  static auto* p = new Plugins;  // never destroyed: its plugins are never unloaded
  return *p;
}

[[noreturn]] void refuse(const std::string& path, const std::string& cause) {
  throw Error(ErrorCode::invalid_config, "plugin " + path + ": " + cause);
}

ErrorCode error_code_of(int code) {
  switch (code) {
    case CHECKPOINT_INVALID_ARGUMENT:
      return ErrorCode::invalid_argument;
    case CHECKPOINT_INVALID_CONFIG:
      return ErrorCode::invalid_config;
    case CHECKPOINT_NOT_FOUND:
      return ErrorCode::not_found;
    case CHECKPOINT_CORRUPT:
      return ErrorCode::corrupt;
    case CHECKPOINT_LOCKED:
      return ErrorCode::locked;
    case CHECKPOINT_CLOSED:
      return ErrorCode::closed;
    case CHECKPOINT_UNSUPPORTED:
      return ErrorCode::unsupported;
    default:  // CHECKPOINT_IO, CHECKPOINT_NO_MEMORY and codes we do not know
      return ErrorCode::io;
  }
}

// The conversions the C++ adapter of plugin authors uses too.
using toolkit::plugin_detail::bytes;
using toolkit::plugin_detail::c_bytes;
using toolkit::plugin_detail::c_state;
using toolkit::plugin_detail::c_time;

// The message buffer handed to each call of the plugin.
class Message {
 public:
  Message() { buffer_[0] = '\0'; }
  checkpoint_plugin_error* get() { return &error_; }
  std::string text() const { return std::string(buffer_, strnlen(buffer_, sizeof buffer_)); }

 private:
  char buffer_[4096];
  checkpoint_plugin_error error_{buffer_, sizeof buffer_};
};

// The table of one backend, copied out of the plugin up to its size, and
// where it came from.
struct Table {
  checkpoint_plugin_backend ops{};
  std::string path;
};

class PluginStore final : public Store {
 public:
  PluginStore(std::shared_ptr<const Table> table, void* handle, std::string label, OpenMode mode)
      : table_(std::move(table)), handle_(handle), label_(std::move(label)), mode_(mode) {}
  ~PluginStore() override { table_->ops.close(handle_); }

  Timestamp scan(const StateSink& sink) override {
    struct Context {
      const StateSink* sink;
      const std::string* label;
      std::exception_ptr error;
    } context{&sink, &label_, nullptr};
    auto forward = [](void* data, const checkpoint_plugin_state* state) -> int {
      auto* c = static_cast<Context*>(data);
      try {
        (*c->sink)(state_of(*state, *c->label));
        return 0;
      } catch (...) {
        c->error = std::current_exception();
        return CHECKPOINT_IO;  // "stop"; what was thrown is rethrown below
      }
    };
    checkpoint_plugin_time update_time = c_time(Timestamp());
    Message message;
    const int code = table_->ops.scan(handle_, forward, &context, &update_time, message.get());
    if (context.error) std::rethrow_exception(context.error);
    throw_if_failed(code, message);
    return time_of(update_time, label_, "the update time");
  }

  void commit(const Changes& changes) override {
    // The plugin refuses this too; here it cannot be forgotten.
    if (mode_ != OpenMode::write) {
      throw Error(ErrorCode::invalid_argument, label_ + ": opened for reading; cannot commit");
    }
    std::vector<checkpoint_plugin_state> upserted;
    upserted.reserve(changes.upserted.size());
    for (const auto& state : changes.upserted) upserted.push_back(c_state(state));
    std::vector<checkpoint_plugin_bytes> removed;
    removed.reserve(changes.removed.size());
    for (const auto& name : changes.removed) removed.push_back(c_bytes(name));
    const checkpoint_plugin_changes c{c_time(changes.update_time), upserted.data(), upserted.size(),
                                      removed.data(), removed.size()};
    Message message;
    throw_if_failed(table_->ops.commit(handle_, &c, message.get()), message);
  }

  CheckReport check() override {
    if (table_->ops.check == nullptr) return Store::check();
    CheckReport report;
    checkpoint_plugin_report c{};
    c.update_time = c_time(Timestamp());
    c.report_data = &report;
    c.problem = [](void* data, const char* text) -> int {
      try {
        static_cast<CheckReport*>(data)->problems.emplace_back(text == nullptr ? "" : text);
        return 0;
      } catch (...) {
        return CHECKPOINT_NO_MEMORY;
      }
    };
    Message message;
    throw_if_failed(table_->ops.check(handle_, &c, message.get()), message);
    report.states = c.states;
    try {
      report.update_time = time_of(c.update_time, label_, "the update time");
    } catch (const Error& e) {
      report.problems.emplace_back(e.what());
    }
    return report;
  }

  Salvage salvage() override {
    if (table_->ops.salvage == nullptr) return Store::salvage();
    struct Context {
      Salvage out;
      const std::string* label;
      std::exception_ptr error;
    } context{{}, &label_, nullptr};
    checkpoint_plugin_salvage c{};
    c.update_time = c_time(Timestamp());
    c.salvage_data = &context;
    c.state = [](void* data, const checkpoint_plugin_state* state) -> int {
      auto* x = static_cast<Context*>(data);
      try {
        try {
          x->out.readable.states.push_back(state_of(*state, *x->label));
        } catch (const Error& e) {  // a value out of range: lost, not thrown
          x->out.damage.push_back({"state \"" + bytes(state->name) + "\"", e.what(), ""});
        }
        return 0;
      } catch (...) {
        x->error = std::current_exception();
        return CHECKPOINT_NO_MEMORY;
      }
    };
    c.damage = [](void* data, const char* where, const char* what,
                  checkpoint_plugin_bytes name) -> int {
      auto* x = static_cast<Context*>(data);
      try {
        x->out.damage.push_back(
            {where == nullptr ? "" : where, what == nullptr ? "" : what, bytes(name)});
        return 0;
      } catch (...) {
        x->error = std::current_exception();
        return CHECKPOINT_NO_MEMORY;
      }
    };
    Message message;
    const int code = table_->ops.salvage(handle_, &c, message.get());
    if (context.error) std::rethrow_exception(context.error);
    throw_if_failed(code, message);
    try {
      context.out.readable.update_time = time_of(c.update_time, label_, "the update time");
    } catch (const Error& e) {
      context.out.damage.push_back({"update time", e.what(), ""});
    }
    return std::move(context.out);
  }

  // A state from the plugin; a time out of range: Error{corrupt}.
  static EventLogState state_of(const checkpoint_plugin_state& c, const std::string& label) {
    EventLogState state;
    state.name = bytes(c.name);
    state.record_number = c.record_number;
    state.timestamp = time_of(c.timestamp, label, "the timestamp of \"" + state.name + "\"");
    state.bookmark = bytes(c.bookmark);
    state.update_time = time_of(c.update_time, label, "the update time of \"" + state.name + "\"");
    return state;
  }

  static Timestamp time_of(const checkpoint_plugin_time& t, const std::string& label,
                           const std::string& what) {
    try {
      return Timestamp::from_unix(t.seconds, t.nanos);
    } catch (const Error&) {
      throw Error(ErrorCode::corrupt, label + ": " + what + " (" + std::to_string(t.seconds) +
                                          " s, " + std::to_string(t.nanos) +
                                          " ns) is out of range");
    }
  }

  // Throws the plugin's failure as an Error.
  // (The plugin's message names the store, as a backend's does.)
  static void throw_if_failed(int code, const Message& message, const std::string& label,
                              const std::string& path) {
    if (code == CHECKPOINT_OK) return;
    std::string text = message.text();
    if (text.empty()) {
      text = label + ": the plugin " + path + " failed with code " + std::to_string(code) + " (" +
             checkpoint_strerror(code) + ") and no message";
    }
    if (code == CHECKPOINT_NO_MEMORY) text += " (out of memory)";
    throw Error(error_code_of(code), text);
  }

 private:
  void throw_if_failed(int code, const Message& message) const {
    throw_if_failed(code, message, label_, table_->path);
  }

  std::shared_ptr<const Table> table_;
  void* handle_;
  std::string label_;  // "SCHEME store TARGET"
  OpenMode mode_;
};

std::unique_ptr<Store> open_plugin_store(const std::shared_ptr<const Table>& table,
                                         const StoreUri& uri, const OpenOptions& options) {
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : uri.options) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  const checkpoint_plugin_uri c{uri.text.c_str(), uri.scheme.c_str(), uri.target.c_str(),
                                keys.data(),      values.data(),      keys.size()};
  // The target as messages show it (the text holds no password).
  const std::string prefix = uri.scheme + ":";
  std::string label = uri.scheme + " store " +
                      (uri.text.starts_with(prefix) ? uri.text.substr(prefix.size()) : uri.text);
  void* handle = nullptr;
  Message message;
  const int code = table->ops.open(
      table->ops.backend_data, &c,
      options.mode == OpenMode::write ? CHECKPOINT_PLUGIN_WRITE : CHECKPOINT_PLUGIN_READ,
      options.create_if_missing ? 1 : 0, &handle, message.get());
  PluginStore::throw_if_failed(code, message, label, table->path);
  return std::make_unique<PluginStore>(table, handle, std::move(label), options.mode);
}

std::vector<std::string> strings(const char* const* items, std::size_t count,
                                 const std::string& path, const std::string& what) {
  std::vector<std::string> out;
  if (count > 0 && items == nullptr)
    refuse(path, what + ": NULL array of " + std::to_string(count));
  for (std::size_t i = 0; i < count; ++i) {
    if (items[i] == nullptr) refuse(path, what + " " + std::to_string(i) + " is NULL");
    out.emplace_back(items[i]);
  }
  return out;
}

// The backends a plugin describes, checked; the library's copy of each table.
std::vector<detail::NewBackend> described_backends(const checkpoint_plugin* plugin,
                                                   const std::string& path) {
  const std::string entry = CHECKPOINT_PLUGIN_ENTRY_NAME;
  if (plugin == nullptr) refuse(path, entry + "() returned NULL (the plugin cannot work here)");
  if (plugin->abi_version != CHECKPOINT_PLUGIN_ABI_VERSION) {
    refuse(path, "ABI version " + std::to_string(plugin->abi_version) +
                     " is not supported (this library supports version " +
                     std::to_string(CHECKPOINT_PLUGIN_ABI_VERSION) + ")");
  }
  if (plugin->size < sizeof(checkpoint_plugin)) {
    refuse(path, "its checkpoint_plugin struct is " + std::to_string(plugin->size) +
                     " bytes, less than the " + std::to_string(sizeof(checkpoint_plugin)) +
                     " of ABI version " + std::to_string(CHECKPOINT_PLUGIN_ABI_VERSION));
  }
  if (plugin->backend_count == 0 || plugin->backends == nullptr) {
    refuse(path, "it describes no backend");
  }
  std::vector<detail::NewBackend> out;
  for (std::size_t i = 0; i < plugin->backend_count; ++i) {
    const checkpoint_plugin_backend* b = plugin->backends[i];
    const std::string which = "backend " + std::to_string(i);
    if (b == nullptr) refuse(path, which + " is NULL");
    if (b->abi_version != CHECKPOINT_PLUGIN_ABI_VERSION) {
      refuse(path, which + ": ABI version " + std::to_string(b->abi_version) +
                       " is not supported (this library supports version " +
                       std::to_string(CHECKPOINT_PLUGIN_ABI_VERSION) + ")");
    }
    // A later, larger table: the fields this library knows. A smaller one
    // lacks required fields.
    if (b->size < sizeof(checkpoint_plugin_backend)) {
      refuse(path, which + ": its checkpoint_plugin_backend struct is " + std::to_string(b->size) +
                       " bytes, less than the " +
                       std::to_string(sizeof(checkpoint_plugin_backend)) + " of ABI version " +
                       std::to_string(CHECKPOINT_PLUGIN_ABI_VERSION));
    }
    auto table = std::make_shared<Table>();
    std::memcpy(&table->ops, b, sizeof(checkpoint_plugin_backend));
    table->path = path;
    const auto& ops = table->ops;
    if (ops.scheme == nullptr) refuse(path, which + " has no scheme");
    const std::string named = "backend \"" + std::string(ops.scheme) + "\"";
    if (ops.open == nullptr || ops.close == nullptr || ops.scan == nullptr ||
        ops.commit == nullptr) {
      refuse(path, named + " lacks a required function (open, close, scan or commit is NULL)");
    }
    BackendInfo info;
    info.scheme = ops.scheme;
    info.description = ops.description == nullptr ? "" : ops.description;
    info.options = strings(ops.options, ops.option_count, path, named + ": option");
    info.extensions = strings(ops.extensions, ops.extension_count, path, named + ": extension");
    info.origin = path;
    std::shared_ptr<const Table> shared = table;
    out.push_back({std::move(info),
                   [shared](const StoreUri& uri, const OpenOptions& options) {
                     return open_plugin_store(shared, uri, options);
                   },
                   {}});
  }
  return out;
}

void load(const std::string& path) {
  if (path.find('/') == std::string::npos) {
    refuse("\"" + path + "\"",
           "a plugin is named by a path that holds a '/' (\"./" + path +
               "\" for a file in the current directory); no search path is ever used");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    refuse(path, error == ENOENT ? "no such file" : std::strerror(error));
  }
  if (!S_ISREG(st.st_mode)) refuse(path, "not a regular file");
  detail::ensure_builtin_backends();  // a scheme they took is taken

  auto& p = plugins();
  std::lock_guard lock(p.mutex);
  const std::pair<dev_t, ino_t> identity{st.st_dev, st.st_ino};
  if (std::find(p.loaded.begin(), p.loaded.end(), identity) != p.loaded.end()) return;

  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    refuse(path, std::string("cannot be loaded: ") + (why != nullptr ? why : "dlopen failed"));
  }
  // Unloaded unless a backend was registered.
  struct Unloader {
    void* handle;
    ~Unloader() {
      if (handle != nullptr) ::dlclose(handle);
    }
  } unloader{handle};
  void* symbol = ::dlsym(handle, CHECKPOINT_PLUGIN_ENTRY_NAME);
  if (symbol == nullptr) {
    refuse(path, std::string("exports no ") + CHECKPOINT_PLUGIN_ENTRY_NAME +
                     " (not a checkpoint plugin, or one for another ABI version)");
  }
  checkpoint_plugin_entry entry;
  static_assert(sizeof entry == sizeof symbol);
  std::memcpy(&entry, &symbol, sizeof entry);
  detail::add_backends(described_backends(entry(), path), ErrorCode::invalid_config,
                       "plugin " + path);
  p.loaded.push_back(identity);
  unloader.handle = nullptr;  // never unloaded: its code serves the backends
}

}  // namespace

void load_plugin(const std::string& path) { load(path); }

namespace detail {

void load_environment_plugins() {
  const char* value = std::getenv("CHECKPOINT_PLUGINS");
  if (value == nullptr) return;
  std::string_view list(value);
  while (!list.empty()) {
    const auto colon = list.find(':');
    const std::string path(list.substr(0, colon));
    list = colon == std::string_view::npos ? std::string_view() : list.substr(colon + 1);
    if (path.empty()) continue;
    try {
      load(path);
    } catch (const Error& e) {
      throw Error(ErrorCode::invalid_config, std::string("CHECKPOINT_PLUGINS: ") + e.what());
    }
  }
}

}  // namespace detail
}  // namespace checkpoint
