// A backend written in C++ (a checkpoint::Store and its factory) served as
// a plugin (checkpoint/plugin.h). The plugin's source file needs:
//
//   #include <checkpoint/toolkit/plugin.hpp>
//
//   std::vector<checkpoint::toolkit::PluginBackend> my_backends() {
//     return {{my_backend_info(), open_my_store}};
//   }
//   CHECKPOINT_TOOLKIT_PLUGIN(my_backends)
//
// and builds as a MODULE library (docs/plugins.md). Everything here is
// inline: it is compiled into the plugin, which keeps the C ABI at its
// boundary. Every exception is caught there and crosses as a code and a
// message (a checkpoint::Error keeps its code; std::bad_alloc is
// CHECKPOINT_NO_MEMORY; anything else CHECKPOINT_IO).
#pragma once

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/plugin.h"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"

namespace checkpoint::toolkit {

// One backend of a plugin: what the registry lists (BackendInfo::origin is
// set by the loading library) and how a store is opened.
struct PluginBackend {
  BackendInfo info;
  BackendFactory factory;
};

namespace plugin_detail {

inline void put_message(checkpoint_plugin_error* err, std::string_view text) noexcept {
  if (err == nullptr || err->message == nullptr || err->capacity == 0) return;
  const std::size_t n = std::min(text.size(), err->capacity - 1);
  std::memcpy(err->message, text.data(), n);
  err->message[n] = '\0';
}

inline int code_of(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument:
      return CHECKPOINT_INVALID_ARGUMENT;
    case ErrorCode::invalid_config:
      return CHECKPOINT_INVALID_CONFIG;
    case ErrorCode::not_found:
      return CHECKPOINT_NOT_FOUND;
    case ErrorCode::corrupt:
      return CHECKPOINT_CORRUPT;
    case ErrorCode::io:
      return CHECKPOINT_IO;
    case ErrorCode::locked:
      return CHECKPOINT_LOCKED;
    case ErrorCode::closed:
      return CHECKPOINT_CLOSED;
    case ErrorCode::unsupported:
      return CHECKPOINT_UNSUPPORTED;
  }
  return CHECKPOINT_IO;
}

// What a sink or callback of the library asked: stop with this code.
struct Stop {
  int code;
};

// Runs `body`; what it throws becomes a code and a message.
template <typename Body>
int guarded(checkpoint_plugin_error* err, Body&& body) noexcept {
  try {
    body();
    return CHECKPOINT_OK;
  } catch (const Stop& stop) {
    return stop.code;
  } catch (const Error& e) {
    put_message(err, e.what());
    return code_of(e.code());
  } catch (const std::bad_alloc&) {
    put_message(err, "out of memory");
    return CHECKPOINT_NO_MEMORY;
  } catch (const std::exception& e) {
    put_message(err, e.what());
    return CHECKPOINT_IO;
  } catch (...) {
    put_message(err, "unknown exception");
    return CHECKPOINT_IO;
  }
}

inline checkpoint_plugin_time c_time(Timestamp t) noexcept { return {t.unix_seconds(), t.nanos()}; }

inline checkpoint_plugin_bytes c_bytes(std::string_view s) noexcept { return {s.data(), s.size()}; }

inline std::string bytes(const checkpoint_plugin_bytes& b) {
  return b.size == 0 ? std::string() : std::string(b.data, b.size);
}

inline checkpoint_plugin_state c_state(const EventLogState& state) noexcept {
  checkpoint_plugin_state out{};
  out.name = c_bytes(state.name);
  out.record_number = state.record_number;
  out.timestamp = c_time(state.timestamp);
  out.bookmark = c_bytes(state.bookmark);
  out.update_time = c_time(state.update_time);
  return out;
}

inline EventLogState state_of(const checkpoint_plugin_state& c) {
  EventLogState state;
  state.name = bytes(c.name);
  state.record_number = c.record_number;
  state.timestamp = Timestamp::from_unix(c.timestamp.seconds, c.timestamp.nanos);
  state.bookmark = bytes(c.bookmark);
  state.update_time = Timestamp::from_unix(c.update_time.seconds, c.update_time.nanos);
  return state;
}

inline Store& store_of(void* store) noexcept { return *static_cast<Store*>(store); }

inline int open(void* backend_data, const checkpoint_plugin_uri* uri, int mode,
                int create_if_missing, void** store, checkpoint_plugin_error* err) {
  return guarded(err, [&] {
    const auto& backend = *static_cast<const PluginBackend*>(backend_data);
    StoreUri parsed{uri->text, uri->scheme, uri->target, {}};
    for (std::size_t i = 0; i < uri->option_count; ++i) {
      parsed.options.emplace(uri->option_keys[i], uri->option_values[i]);
    }
    OpenOptions options;
    options.mode = mode == CHECKPOINT_PLUGIN_WRITE ? OpenMode::write : OpenMode::read;
    options.create_if_missing = create_if_missing != 0;
    std::unique_ptr<Store> opened = backend.factory(parsed, options);
    if (!opened) {
      throw Error(ErrorCode::invalid_config,
                  "config string \"" + parsed.text + "\": backend returned no store");
    }
    *store = opened.release();
  });
}

inline void close(void* store) { delete static_cast<Store*>(store); }

inline int scan(void* store, checkpoint_plugin_sink sink, void* sink_data,
                checkpoint_plugin_time* update_time, checkpoint_plugin_error* err) {
  return guarded(err, [&] {
    const Timestamp t = store_of(store).scan([&](EventLogState&& state) {
      const checkpoint_plugin_state c = c_state(state);
      if (int code = sink(sink_data, &c); code != 0) throw Stop{code};
    });
    *update_time = c_time(t);
  });
}

inline int commit(void* store, const checkpoint_plugin_changes* changes,
                  checkpoint_plugin_error* err) {
  return guarded(err, [&] {
    std::vector<EventLogState> upserted;
    upserted.reserve(changes->upserted_count);
    for (std::size_t i = 0; i < changes->upserted_count; ++i) {
      upserted.push_back(state_of(changes->upserted[i]));
    }
    std::vector<std::string> removed;
    removed.reserve(changes->removed_count);
    for (std::size_t i = 0; i < changes->removed_count; ++i) {
      removed.push_back(bytes(changes->removed[i]));
    }
    store_of(store).commit(
        {Timestamp::from_unix(changes->update_time.seconds, changes->update_time.nanos), upserted,
         removed});
  });
}

inline int check(void* store, checkpoint_plugin_report* report, checkpoint_plugin_error* err) {
  return guarded(err, [&] {
    const CheckReport checked = store_of(store).check();
    report->states = checked.states;
    report->update_time = c_time(checked.update_time);
    for (const auto& problem : checked.problems) {
      if (report->problem(report->report_data, problem.c_str()) != 0) throw std::bad_alloc();
    }
  });
}

inline int salvage(void* store, checkpoint_plugin_salvage* out, checkpoint_plugin_error* err) {
  return guarded(err, [&] {
    const Salvage salvaged = store_of(store).salvage();
    out->update_time = c_time(salvaged.readable.update_time);
    for (const auto& state : salvaged.readable.states) {
      const checkpoint_plugin_state c = c_state(state);
      if (int code = out->state(out->salvage_data, &c); code != 0) throw Stop{code};
    }
    for (const auto& damage : salvaged.damage) {
      if (int code = out->damage(out->salvage_data, damage.where.c_str(), damage.what.c_str(),
                                 c_bytes(damage.name));
          code != 0) {
        throw Stop{code};
      }
    }
  });
}

// The description and everything it points into; never freed (the
// library never unloads a plugin that registered a backend).
struct Description {
  std::vector<PluginBackend> backends;
  std::vector<std::vector<const char*>> options, extensions;
  std::vector<checkpoint_plugin_backend> tables;
  std::vector<const checkpoint_plugin_backend*> pointers;
  checkpoint_plugin plugin{};
};

template <typename MakeBackends>
const checkpoint_plugin* describe(MakeBackends&& make_backends) noexcept {
  try {
    auto d = std::make_unique<Description>();
    d->backends = make_backends();
    const std::size_t n = d->backends.size();
    d->options.resize(n);
    d->extensions.resize(n);
    d->tables.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const PluginBackend& backend = d->backends[i];
      for (const auto& key : backend.info.options) d->options[i].push_back(key.c_str());
      for (const auto& ext : backend.info.extensions) d->extensions[i].push_back(ext.c_str());
      checkpoint_plugin_backend& t = d->tables[i];
      t.size = sizeof(checkpoint_plugin_backend);
      t.abi_version = CHECKPOINT_PLUGIN_ABI_VERSION;
      t.scheme = backend.info.scheme.c_str();
      t.description = backend.info.description.c_str();
      t.options = d->options[i].data();
      t.option_count = d->options[i].size();
      t.extensions = d->extensions[i].data();
      t.extension_count = d->extensions[i].size();
      t.backend_data = const_cast<PluginBackend*>(&backend);
      t.open = &open;
      t.close = &close;
      t.scan = &scan;
      t.commit = &commit;
      t.check = &check;
      t.salvage = &salvage;
    }
    for (const auto& t : d->tables) d->pointers.push_back(&t);
    d->plugin.size = sizeof(checkpoint_plugin);
    d->plugin.abi_version = CHECKPOINT_PLUGIN_ABI_VERSION;
    d->plugin.backends = d->pointers.data();
    d->plugin.backend_count = d->pointers.size();
    return &d.release()->plugin;
  } catch (...) {
    return nullptr;
  }
}

}  // namespace plugin_detail
}  // namespace checkpoint::toolkit

// Defines the plugin's entry point (checkpoint_plugin_v1): the backends
// that `make_backends`, a function returning
// std::vector<checkpoint::toolkit::PluginBackend>, makes on the first call.
#define CHECKPOINT_TOOLKIT_PLUGIN(make_backends)                       \
  CHECKPOINT_PLUGIN_ENTRY {                                            \
    static const checkpoint_plugin* const described =                  \
        ::checkpoint::toolkit::plugin_detail::describe(make_backends); \
    return described;                                                  \
  }                                                                    \
  static_assert(true, "")
