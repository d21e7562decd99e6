// The C API (checkpoint/checkpoint.h) over the C++ front end. Every function
// catches whatever the C++ side throws and returns its code, keeps the
// message where checkpoint_errmsg() finds it, and copies what it hands out
// into malloc()ed memory, which the caller frees with the header's *_free()
// functions (which call free(): the library's allocator, whatever the
// program's is).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/toolkit/plugin.hpp"
#include "checkpoint/version.h"
#include "core/state_check.hpp"

struct checkpoint_handle {
  explicit checkpoint_handle(std::unique_ptr<checkpoint::Checkpoint> checkpoint)
      : front(std::move(checkpoint)) {}
  const std::unique_ptr<checkpoint::Checkpoint> front;
  // The message of the last failure of each thread that failed a call on
  // this handle. A std::map: a thread's string stays where it is while
  // other threads add theirs, so checkpoint_errmsg() can return it.
  mutable std::mutex mutex;
  mutable std::map<std::thread::id, std::string> errors;  // guarded by `mutex`
};

namespace {

using checkpoint::ErrorCode;
using checkpoint::EventLogState;

// The failures of this thread that had no handle to keep them.
thread_local std::string unattached_error;

// Keeps a failure's message for checkpoint_errmsg(). Never throws: when the
// message cannot be stored (out of memory), the slot is emptied, so that
// checkpoint_errmsg() never gives an older failure's message for this one.
void keep(const checkpoint_handle* cp, std::string_view message) noexcept {
  std::string* slot = &unattached_error;
  try {
    if (cp != nullptr) {
      std::lock_guard lock(cp->mutex);
      slot = &cp->errors[std::this_thread::get_id()];
    }
    slot->assign(message);
  } catch (...) {
    if (cp != nullptr) {
      std::lock_guard lock(cp->mutex);
      auto it = cp->errors.find(std::this_thread::get_id());
      if (it != cp->errors.end()) it->second.clear();
    } else {
      slot->clear();
    }
  }
}

int fail(const checkpoint_handle* cp, int code, std::string_view message) noexcept {
  keep(cp, message);
  return code;
}

using checkpoint::toolkit::plugin_detail::code_of;  // the same codes cross the plugin ABI

// Runs `body` (which returns a result code), turning what it throws into a
// code and a kept message: no exception crosses the C API.
template <typename Body>
int guarded(const checkpoint_handle* cp, Body&& body) noexcept {
  try {
    return body();
  } catch (const checkpoint::Error& e) {
    return fail(cp, code_of(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(cp, CHECKPOINT_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(cp, CHECKPOINT_IO, e.what());
  } catch (...) {
    return fail(cp, CHECKPOINT_IO, "unknown exception");
  }
}

int null_handle(const char* function) noexcept {
  try {
    return fail(nullptr, CHECKPOINT_INVALID_ARGUMENT,
                std::string(function) + ": the handle is NULL");
  } catch (...) {  // no memory for the function's name
    return fail(nullptr, CHECKPOINT_INVALID_ARGUMENT, "the handle is NULL");
  }
}

int null_argument(const checkpoint_handle* cp, const char* function, const char* argument) {
  return fail(cp, CHECKPOINT_INVALID_ARGUMENT,
              std::string(function) + ": " + argument + " is NULL");
}

// A failure without a handle, also handed out through `errmsg`.
void hand_out(char** errmsg) noexcept {
  if (errmsg == nullptr) return;
  *errmsg = static_cast<char*>(std::malloc(unattached_error.size() + 1));
  if (*errmsg != nullptr) {
    std::memcpy(*errmsg, unattached_error.c_str(), unattached_error.size() + 1);
  }
}

struct Free {
  void operator()(void* p) const noexcept { std::free(p); }
};
using Owned = std::unique_ptr<char, Free>;

Owned copy(std::string_view text) {
  Owned out(static_cast<char*>(std::malloc(text.size() + 1)));
  if (!out) throw std::bad_alloc();
  std::memcpy(out.get(), text.data(), text.size());
  out.get()[text.size()] = '\0';
  return out;
}

void fill(const EventLogState& state, checkpoint_state* out) {
  Owned name = copy(state.name);
  Owned bookmark = copy(state.bookmark);
  out->record_number = state.record_number;
  out->unix_seconds = state.timestamp.unix_seconds();
  out->nanos = state.timestamp.nanos();
  out->name = name.release();
  out->bookmark = bookmark.release();
}

// An array of `count` zeroed elements, or nullptr for none.
template <typename T>
T* allocate(std::size_t count) {
  if (count == 0) return nullptr;
  auto* array = static_cast<T*>(std::calloc(count, sizeof(T)));
  if (array == nullptr) throw std::bad_alloc();
  return array;
}

// Fills `out` with copies of the states [first, last).
template <typename Iterator, typename Get>
void fill_list(Iterator first, Iterator last, std::size_t count, const Get& get,
               checkpoint_state_list* out) {
  checkpoint_state_list list{allocate<checkpoint_state>(count), 0};
  try {
    for (; first != last; ++first) fill(get(*first), &list.states[list.count++]);
  } catch (...) {
    checkpoint_state_list_free(&list);
    throw;
  }
  *out = list;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

// Whether `size` bytes of a caller's struct cover `field` (at `offset`).
constexpr bool covers(std::size_t size, std::size_t offset, std::size_t field) {
  return size >= offset + field;
}
#define CHECKPOINT_COVERS(size, type, field) \
  covers(size, offsetof(type, field), sizeof(static_cast<type*>(nullptr)->field))

// The C++ options from the C ones (see checkpoint_options in the header).
int read_options(const checkpoint_options* in, checkpoint::Options& out) {
  using namespace std::chrono;
  out.max_updates = 100;
  out.flush_interval = milliseconds(5000);
  if (in == nullptr) return CHECKPOINT_OK;
  if (in->size < sizeof(in->size)) {
    return fail(nullptr, CHECKPOINT_INVALID_ARGUMENT,
                "checkpoint_open: options->size is " + std::to_string(in->size) +
                    "; set it to sizeof(checkpoint_options)");
  }
  if (in->size > sizeof(checkpoint_options)) {
    // A later header's struct: its fields this library does not know must
    // be unset, or the program asks for something that will not happen.
    const auto* bytes = reinterpret_cast<const unsigned char*>(in);
    if (std::any_of(bytes + sizeof(checkpoint_options), bytes + in->size,
                    [](unsigned char b) { return b != 0; })) {
      return fail(nullptr, CHECKPOINT_UNSUPPORTED,
                  "checkpoint_open: the options set fields that this library (" +
                      std::string(CHECKPOINT_VERSION_STRING) + ", options of " +
                      std::to_string(sizeof(checkpoint_options)) + " bytes) does not know (" +
                      std::to_string(in->size) + " bytes)");
    }
  }
  if (CHECKPOINT_COVERS(in->size, checkpoint_options, max_updates) && in->max_updates != 0) {
    out.max_updates = in->max_updates;
  }
  if (CHECKPOINT_COVERS(in->size, checkpoint_options, flush_interval_ms)) {
    if (in->flush_interval_ms < 0) {
      return fail(nullptr, CHECKPOINT_INVALID_ARGUMENT,
                  "checkpoint_open: options->flush_interval_ms is " +
                      std::to_string(in->flush_interval_ms) + "; it must not be negative");
    }
    if (in->flush_interval_ms != 0) out.flush_interval = milliseconds(in->flush_interval_ms);
  }
  return CHECKPOINT_OK;
}

// What checkpointctl convert does: one commit of every state, then a
// comparison through a store opened anew.
int convert(const char* from_uri, const char* to_uri, unsigned flags) {
  using checkpoint::OpenMode;
  using checkpoint::PersistedState;
  using checkpoint::Store;
  const std::string to(to_uri);
  const std::string shown = checkpoint::redacted_config(to);  // what messages may show
  const PersistedState src = Store::open(from_uri, {.mode = OpenMode::read})->load();
  {
    auto dst = Store::open(to, {.mode = OpenMode::write});
    const PersistedState before = dst->load();
    if (!before.states.empty() && (flags & CHECKPOINT_CONVERT_REPLACE) == 0) {
      return fail(nullptr, CHECKPOINT_INVALID_ARGUMENT,
                  "checkpoint_convert: " + shown + " already holds " +
                      std::to_string(before.states.size()) +
                      " states; pass CHECKPOINT_CONVERT_REPLACE to replace them");
    }
    std::vector<std::string> removed;
    auto by_name = [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; };
    std::vector<EventLogState> gone;
    std::set_difference(before.states.begin(), before.states.end(), src.states.begin(),
                        src.states.end(), std::back_inserter(gone), by_name);
    for (auto& state : gone) removed.push_back(std::move(state.name));
    dst->commit(checkpoint::Changes{src.update_time, src.states, removed});
  }  // closed, its lock released, before it is read back

  const PersistedState after = Store::open(to, {.mode = OpenMode::read})->load();
  if (after.states != src.states || after.update_time != src.update_time) {
    return fail(nullptr, CHECKPOINT_CORRUPT,
                "checkpoint_convert: " + shown + " holds " + std::to_string(after.states.size()) +
                    " states after the commit, not the " + std::to_string(src.states.size()) +
                    " states written");
  }
  return CHECKPOINT_OK;
}

}  // namespace

extern "C" {

const char* checkpoint_strerror(int code) {
  switch (code) {
    case CHECKPOINT_OK:
      return "ok";
    case CHECKPOINT_INVALID_ARGUMENT:
      return "invalid_argument";
    case CHECKPOINT_INVALID_CONFIG:
      return "invalid_config";
    case CHECKPOINT_NOT_FOUND:
      return "not_found";
    case CHECKPOINT_CORRUPT:
      return "corrupt";
    case CHECKPOINT_IO:
      return "io";
    case CHECKPOINT_LOCKED:
      return "locked";
    case CHECKPOINT_CLOSED:
      return "closed";
    case CHECKPOINT_UNSUPPORTED:
      return "unsupported";
    case CHECKPOINT_NO_MEMORY:
      return "no_memory";
    default:
      return "unknown";
  }
}

int checkpoint_open(const char* uri, const checkpoint_options* options, checkpoint_handle** out,
                    char** errmsg) {
  if (out != nullptr) *out = nullptr;
  if (errmsg != nullptr) *errmsg = nullptr;
  int result = guarded(nullptr, [&]() -> int {
    if (uri == nullptr) return null_argument(nullptr, "checkpoint_open", "uri");
    if (out == nullptr) return null_argument(nullptr, "checkpoint_open", "out");
    checkpoint::Options cpp_options;
    if (int code = read_options(options, cpp_options); code != CHECKPOINT_OK) return code;
    auto front = std::make_unique<checkpoint::Checkpoint>(uri, std::move(cpp_options));
    *out = new checkpoint_handle(std::move(front));
    return CHECKPOINT_OK;
  });
  if (result != CHECKPOINT_OK) hand_out(errmsg);
  return result;
}

int checkpoint_persist(checkpoint_handle* cp, const char* name, uint64_t record_number,
                       int64_t unix_seconds, uint32_t nanos, const char* bookmark) {
  if (cp == nullptr) return null_handle("checkpoint_persist");
  return guarded(cp, [&]() -> int {
    if (name == nullptr) return null_argument(cp, "checkpoint_persist", "name");
    cp->front->persist(name, record_number, checkpoint::Timestamp::from_unix(unix_seconds, nanos),
                       bookmark == nullptr ? std::string_view() : std::string_view(bookmark));
    return CHECKPOINT_OK;
  });
}

int checkpoint_remove(checkpoint_handle* cp, const char* name) {
  if (cp == nullptr) return null_handle("checkpoint_remove");
  return guarded(cp, [&]() -> int {
    if (name == nullptr) return null_argument(cp, "checkpoint_remove", "name");
    cp->front->remove(name);
    return CHECKPOINT_OK;
  });
}

int checkpoint_get(checkpoint_handle* cp, const char* name, checkpoint_state* out) {
  if (out != nullptr) *out = checkpoint_state{};
  if (cp == nullptr) return null_handle("checkpoint_get");
  return guarded(cp, [&]() -> int {
    if (name == nullptr) return null_argument(cp, "checkpoint_get", "name");
    if (out == nullptr) return null_argument(cp, "checkpoint_get", "out");
    // No state can have a name that persist() refuses: say why, not "absent".
    checkpoint::detail::check_name("checkpoint_get", name);
    std::optional<EventLogState> state = cp->front->state(name);
    if (!state) {
      return fail(cp, CHECKPOINT_NOT_FOUND,
                  "checkpoint_get: no state named \"" + std::string(name) + "\"");
    }
    fill(*state, out);
    return CHECKPOINT_OK;
  });
}

void checkpoint_state_free(checkpoint_state* state) {
  if (state == nullptr) return;
  std::free(state->name);
  std::free(state->bookmark);
  state->name = nullptr;
  state->bookmark = nullptr;
}

int checkpoint_states(checkpoint_handle* cp, checkpoint_state_list* out) {
  if (out != nullptr) *out = checkpoint_state_list{};
  if (cp == nullptr) return null_handle("checkpoint_states");
  return guarded(cp, [&]() -> int {
    if (out == nullptr) return null_argument(cp, "checkpoint_states", "out");
    const checkpoint::StateMap states = cp->front->states();
    fill_list(
        states.begin(), states.end(), states.size(),
        [](const checkpoint::StateMap::value_type& entry) -> const EventLogState& {
          return entry.second;
        },
        out);
    return CHECKPOINT_OK;
  });
}

void checkpoint_state_list_free(checkpoint_state_list* list) {
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->count; ++i) checkpoint_state_free(&list->states[i]);
  std::free(list->states);
  *list = checkpoint_state_list{};
}

int checkpoint_flush(checkpoint_handle* cp) {
  if (cp == nullptr) return null_handle("checkpoint_flush");
  return guarded(cp, [&]() -> int {
    cp->front->flush();
    return CHECKPOINT_OK;
  });
}

int checkpoint_shutdown(checkpoint_handle* cp) {
  if (cp == nullptr) return null_handle("checkpoint_shutdown");
  return guarded(cp, [&]() -> int {
    cp->front->shutdown();
    return CHECKPOINT_OK;
  });
}

int checkpoint_close(checkpoint_handle* cp) {
  if (cp == nullptr) return CHECKPOINT_OK;
  // The handle's messages go with it: the result's goes to the thread's.
  const int result = guarded(nullptr, [&]() -> int {
    cp->front->shutdown();
    return CHECKPOINT_OK;
  });
  delete cp;  // the store, and its lock, with it
  return result;
}

int checkpoint_get_stats(checkpoint_handle* cp, checkpoint_stats* out) {
  if (cp == nullptr) return null_handle("checkpoint_get_stats");
  return guarded(cp, [&]() -> int {
    if (out == nullptr) return null_argument(cp, "checkpoint_get_stats", "out");
    const std::size_t size = out->size;
    if (size < sizeof(out->size)) {
      return fail(cp, CHECKPOINT_INVALID_ARGUMENT,
                  "checkpoint_get_stats: out->size is " + std::to_string(size) +
                      "; set it to sizeof(checkpoint_stats)");
    }
    const checkpoint::Stats stats = cp->front->stats();
#define CHECKPOINT_SET(field, value) \
  if (CHECKPOINT_COVERS(size, checkpoint_stats, field)) out->field = (value)
    CHECKPOINT_SET(commits, stats.commits);
    CHECKPOINT_SET(failed_commits, stats.failed_commits);
    CHECKPOINT_SET(states, stats.states);
    CHECKPOINT_SET(pending, stats.pending);
    CHECKPOINT_SET(last_commit_duration_ns, stats.last_commit_duration.count());
    CHECKPOINT_SET(last_error,
                   stats.last_error.empty() ? nullptr : copy(stats.last_error).release());
#undef CHECKPOINT_SET
    return CHECKPOINT_OK;
  });
}

void checkpoint_stats_free(checkpoint_stats* stats) {
  if (stats == nullptr || !CHECKPOINT_COVERS(stats->size, checkpoint_stats, last_error)) return;
  std::free(stats->last_error);
  stats->last_error = nullptr;
}

const char* checkpoint_errmsg(const checkpoint_handle* cp) {
  if (cp == nullptr) return unattached_error.c_str();
  std::lock_guard lock(cp->mutex);
  auto it = cp->errors.find(std::this_thread::get_id());
  return it == cp->errors.end() ? "" : it->second.c_str();
}

void checkpoint_free(void* p) { std::free(p); }

int checkpoint_load(const char* uri, checkpoint_state_list* out, int64_t* update_unix_seconds,
                    uint32_t* update_nanos, char** errmsg) {
  if (out != nullptr) *out = checkpoint_state_list{};
  if (errmsg != nullptr) *errmsg = nullptr;
  int result = guarded(nullptr, [&]() -> int {
    if (uri == nullptr) return null_argument(nullptr, "checkpoint_load", "uri");
    if (out == nullptr) return null_argument(nullptr, "checkpoint_load", "out");
    const checkpoint::PersistedState loaded =
        checkpoint::Store::open(uri, {.mode = checkpoint::OpenMode::read})->load();
    fill_list(
        loaded.states.begin(), loaded.states.end(), loaded.states.size(),
        [](const EventLogState& state) -> const EventLogState& { return state; }, out);
    if (update_unix_seconds != nullptr) *update_unix_seconds = loaded.update_time.unix_seconds();
    if (update_nanos != nullptr) *update_nanos = loaded.update_time.nanos();
    return CHECKPOINT_OK;
  });
  if (result != CHECKPOINT_OK) hand_out(errmsg);
  return result;
}

int checkpoint_convert(const char* from_uri, const char* to_uri, unsigned flags, char** errmsg) {
  if (errmsg != nullptr) *errmsg = nullptr;
  int result = guarded(nullptr, [&]() -> int {
    if (from_uri == nullptr) return null_argument(nullptr, "checkpoint_convert", "from_uri");
    if (to_uri == nullptr) return null_argument(nullptr, "checkpoint_convert", "to_uri");
    if ((flags & ~CHECKPOINT_CONVERT_REPLACE) != 0) {
      return fail(nullptr, CHECKPOINT_INVALID_ARGUMENT,
                  "checkpoint_convert: unknown flags " + std::to_string(flags));
    }
    return convert(from_uri, to_uri, flags);
  });
  if (result != CHECKPOINT_OK) hand_out(errmsg);
  return result;
}

int checkpoint_load_plugin(const char* path, char** errmsg) {
  if (errmsg != nullptr) *errmsg = nullptr;
  int result = guarded(nullptr, [&]() -> int {
    if (path == nullptr) return null_argument(nullptr, "checkpoint_load_plugin", "path");
    checkpoint::load_plugin(path);
    return CHECKPOINT_OK;
  });
  if (result != CHECKPOINT_OK) hand_out(errmsg);
  return result;
}

int checkpoint_backends(checkpoint_backend_list* out) {
  if (out != nullptr) *out = checkpoint_backend_list{};
  return guarded(nullptr, [&]() -> int {
    if (out == nullptr) return null_argument(nullptr, "checkpoint_backends", "out");
    const auto infos = checkpoint::registered_backends();
    checkpoint_backend_list list{allocate<checkpoint_backend>(infos.size()), 0};
    try {
      for (const auto& info : infos) {
        checkpoint_backend& backend = list.backends[list.count++];
        backend.scheme = copy(info.scheme).release();
        backend.description = copy(info.description).release();
        backend.options = copy(joined(info.options)).release();
        backend.extensions = copy(joined(info.extensions)).release();
      }
    } catch (...) {
      checkpoint_backend_list_free(&list);
      throw;
    }
    *out = list;
    return CHECKPOINT_OK;
  });
}

void checkpoint_backend_list_free(checkpoint_backend_list* list) {
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->count; ++i) {
    checkpoint_backend& backend = list->backends[i];
    std::free(backend.scheme);
    std::free(backend.description);
    std::free(backend.options);
    std::free(backend.extensions);
  }
  std::free(list->backends);
  *list = checkpoint_backend_list{};
}

int checkpoint_version(void) { return CHECKPOINT_VERSION; }

const char* checkpoint_version_string(void) { return CHECKPOINT_VERSION_STRING; }

}  // extern "C"
