/* plugin.h: the plugin ABI of checkpoint (C11; C++ too).
 *
 * A plugin is a shared object that adds backends to the registry at run
 * time: checkpoint::load_plugin(PATH) (checkpoint/plugin.hpp),
 * checkpoint_load_plugin() (checkpoint.h), the environment variable
 * CHECKPOINT_PLUGINS, or `checkpointctl --plugin PATH`. It may be written in
 * any language that can export a C function: it depends on this header
 * only, never on the library's C++ ABI, so a plugin built with another
 * compiler, or written in C, Rust or Go, works. docs/plugins.md is the
 * reference, with an example in C (examples/c_plugin) and in C++
 * (examples/custom_backend, through checkpoint/toolkit/plugin.hpp).
 *
 * A plugin is trusted code: it runs inside the program, with its rights.
 *
 * The entry point. The shared object exports
 *
 *   const checkpoint_plugin* checkpoint_plugin_v1(void);
 *
 * (CHECKPOINT_PLUGIN_ENTRY below declares it), which returns a description
 * of its backends that stays valid, unchanged, until the process ends: the
 * library never unloads a plugin that registered a backend. It is called
 * once per load, from the thread that loads; NULL means the plugin cannot
 * work here (its message, if any, is not kept). Every struct the library
 * reads begins with its `size` (sizeof as the plugin was built) and the
 * ABI version it was written for, so that the structs can grow: a field
 * beyond `size` is taken as absent (NULL, 0).
 *
 * Errors. A function that can fail returns CHECKPOINT_OK (0) or one of the
 * CHECKPOINT_* codes of checkpoint.h, which are checkpoint::ErrorCode in
 * order, and may write a message (NUL-terminated, UTF-8, cut to fit) into
 * the library's buffer `err->message` of `err->capacity` bytes. The message
 * names the store and what was wrong, as every message of checkpoint does
 * ("lines store /var/lib/x.lines: line 3: bad record number"). No exception
 * may cross: a plugin written in C++ catches everything at the boundary
 * (checkpoint/toolkit/plugin.hpp does). An unknown code is taken as
 * CHECKPOINT_IO.
 *
 * Values cross exactly: names and bookmarks as (pointer, length) pairs of
 * bytes (a name may hold any UTF-8, NUL included), the record number as
 * uint64_t, times as int64_t Unix seconds and uint32_t nanoseconds
 * (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z). The library
 * checks what a plugin hands it: a time out of range is Error{corrupt}.
 *
 * Threads. The library calls a store from one thread at a time (as the
 * Store contract says), but different stores, and open(), from any thread
 * at once. */
#ifndef CHECKPOINT_PLUGIN_H
#define CHECKPOINT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint/checkpoint.h" /* CHECKPOINT_OK and the other codes */

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes: the value of every `abi_version` field,
 * and the version in the entry point's name. */
#define CHECKPOINT_PLUGIN_ABI_VERSION 1

/* Bytes: a name, a bookmark. `data` may be NULL when `size` is 0. */
typedef struct checkpoint_plugin_bytes {
  const char* data;
  size_t size;
} checkpoint_plugin_bytes;

/* A point in time: Unix seconds and nanoseconds (0 to 999999999), UTC.
 * The zero time (a store never committed) is -62135596800 and 0. */
typedef struct checkpoint_plugin_time {
  int64_t seconds;
  uint32_t nanos;
} checkpoint_plugin_time;

/* One state (checkpoint::EventLogState). */
typedef struct checkpoint_plugin_state {
  checkpoint_plugin_bytes name; /* non-empty */
  uint64_t record_number;
  checkpoint_plugin_time timestamp; /* the record's time */
  checkpoint_plugin_bytes bookmark; /* size 0: none */
  /* When a commit last changed this state (EventLogState::update_time):
   * store it exactly and give it back; a store written before states had
   * one gives the store's update time. */
  checkpoint_plugin_time update_time;
} checkpoint_plugin_state;

/* Where a failing function writes its message. */
typedef struct checkpoint_plugin_error {
  char* message;   /* the library's buffer, "" on entry */
  size_t capacity; /* its size in bytes, the NUL included */
} checkpoint_plugin_error;

/* The config string a store is opened with (checkpoint::StoreUri); every
 * string NUL-terminated and valid during the call only. */
typedef struct checkpoint_plugin_uri {
  const char* text;               /* as messages may show it: any password is "***" */
  const char* scheme;             /* lower case */
  const char* target;             /* the path or name, percent-decoded (never holds a NUL) */
  const char* const* option_keys; /* option_count keys, each one of the backend's `options` */
  const char* const* option_values;
  size_t option_count;
} checkpoint_plugin_uri;

enum { CHECKPOINT_PLUGIN_READ = 0, CHECKPOINT_PLUGIN_WRITE = 1 };

/* One commit (checkpoint::Changes): valid during the call only. */
typedef struct checkpoint_plugin_changes {
  checkpoint_plugin_time update_time;      /* the store's update time after it */
  const checkpoint_plugin_state* upserted; /* sorted by name (bytewise), names unique */
  size_t upserted_count;
  const checkpoint_plugin_bytes* removed; /* sorted, unique, none of them upserted; a name */
  size_t removed_count;                   /* the store never held is not an error */
} checkpoint_plugin_changes;

/* Receives the states of a scan or a salvage, one at a time, in name
 * order; the state need only stay valid during the call. Non-zero: the
 * library wants to stop (an exception of its own, kept by it): return that
 * value at once from scan(). */
typedef int (*checkpoint_plugin_sink)(void* sink_data, const checkpoint_plugin_state* state);

/* What check() reports (checkpoint::CheckReport): the plugin sets `states`
 * and `update_time` and calls problem() once per problem. */
typedef struct checkpoint_plugin_report {
  size_t states;                      /* states that read back exactly */
  checkpoint_plugin_time update_time; /* zero time if it could not be read */
  void* report_data;
  /* One line per problem, NUL-terminated. Non-zero: out of memory; return
   * CHECKPOINT_NO_MEMORY. */
  int (*problem)(void* report_data, const char* text);
} checkpoint_plugin_report;

/* What salvage() could read (checkpoint::Salvage): the plugin sets
 * `update_time`, calls state() per readable state in name order and
 * damage() per thing it could not read. */
typedef struct checkpoint_plugin_salvage {
  checkpoint_plugin_time update_time; /* zero time if lost */
  void* salvage_data;
  /* Non-zero: stop and return that value. */
  int (*state)(void* salvage_data, const checkpoint_plugin_state* state);
  /* where: "line 12"; what: what is wrong there; name: the state's name
   * where it could still be read (size 0 otherwise). Non-zero: as above. */
  int (*damage)(void* salvage_data, const char* where, const char* what,
                checkpoint_plugin_bytes name);
} checkpoint_plugin_salvage;

/* One backend: what the registry lists (checkpoint::BackendInfo) and its
 * operations, the Store contract of checkpoint/store.hpp in C. */
typedef struct checkpoint_plugin_backend {
  size_t size;          /* sizeof(checkpoint_plugin_backend) */
  uint32_t abi_version; /* CHECKPOINT_PLUGIN_ABI_VERSION */

  const char* scheme;         /* a letter, then letters, digits, '+', '-', '.' */
  const char* description;    /* one line, for people */
  const char* const* options; /* the option keys it accepts */
  size_t option_count;
  const char* const* extensions; /* ".lines": a plain path ending so selects it */
  size_t extension_count;
  void* backend_data; /* passed to open() */

  /* REQUIRED. Opens the store `uri` names for reading (mode
   * CHECKPOINT_PLUGIN_READ: never creates, changes or locks anything; a
   * missing store is CHECKPOINT_NOT_FOUND) or for writing (takes the
   * writer lock first, a second writer being CHECKPOINT_LOCKED; a missing
   * store is made if `create_if_missing`, CHECKPOINT_NOT_FOUND otherwise).
   * On success *store is the plugin's handle. */
  int (*open)(void* backend_data, const checkpoint_plugin_uri* uri, int mode, int create_if_missing,
              void** store, checkpoint_plugin_error* err);
  /* REQUIRED. Releases the handle (and a writer's lock); never fails. */
  void (*close)(void* store);
  /* REQUIRED. Calls `sink` with every committed state in name order, and
   * sets *update_time to that of the last commit (the zero time if none).
   * Unreadable data: CHECKPOINT_CORRUPT; a newer format:
   * CHECKPOINT_UNSUPPORTED. */
  int (*scan)(void* store, checkpoint_plugin_sink sink, void* sink_data,
              checkpoint_plugin_time* update_time, checkpoint_plugin_error* err);
  /* REQUIRED. Makes the changes durable atomically (the old commit or the
   * new one after a crash), returning once they are on stable storage. A
   * store opened for reading: CHECKPOINT_INVALID_ARGUMENT. */
  int (*commit)(void* store, const checkpoint_plugin_changes* changes,
                checkpoint_plugin_error* err);
  /* Optional (NULL: the contract's default, from salvage() or scan()).
   * Deep verification; damage goes into the report, not the result. */
  int (*check)(void* store, checkpoint_plugin_report* report, checkpoint_plugin_error* err);
  /* Optional (NULL: the contract's default, from scan()). Every state that
   * can still be read exactly, and what could not; never CHECKPOINT_CORRUPT. */
  int (*salvage)(void* store, checkpoint_plugin_salvage* salvage, checkpoint_plugin_error* err);
} checkpoint_plugin_backend;

/* What the entry point returns. */
typedef struct checkpoint_plugin {
  size_t size;                                      /* sizeof(checkpoint_plugin) */
  uint32_t abi_version;                             /* CHECKPOINT_PLUGIN_ABI_VERSION */
  const checkpoint_plugin_backend* const* backends; /* backend_count pointers */
  size_t backend_count;
} checkpoint_plugin;

/* The entry point's name, and a declaration of it with default visibility:
 *   CHECKPOINT_PLUGIN_ENTRY { return &my_plugin; } */
#define CHECKPOINT_PLUGIN_ENTRY_NAME "checkpoint_plugin_v1"
#if defined(__GNUC__) || defined(__clang__)
#define CHECKPOINT_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define CHECKPOINT_PLUGIN_EXPORT
#endif
#ifdef __cplusplus
#define CHECKPOINT_PLUGIN_LINKAGE extern "C"
#else
#define CHECKPOINT_PLUGIN_LINKAGE
#endif
#define CHECKPOINT_PLUGIN_ENTRY                                               \
  CHECKPOINT_PLUGIN_LINKAGE CHECKPOINT_PLUGIN_EXPORT const checkpoint_plugin* \
  checkpoint_plugin_v1(void)

typedef const checkpoint_plugin* (*checkpoint_plugin_entry)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CHECKPOINT_PLUGIN_H */
