/* checkpoint.h: the C API of checkpoint (C11; C++ too).
 *
 * The front end of checkpoint.hpp for C programs and for other languages'
 * bindings (bindings/go, examples/python): a handle opens a store for
 * writing, checkpoint_persist() records a stream's position in memory and
 * returns at once, and a worker thread commits the positions after
 * `max_updates` changes or `flush_interval_ms`, whichever comes first, and
 * once more when the handle is shut down or closed.
 *
 *   checkpoint* cp;
 *   char* err;
 *   if (checkpoint_open("/var/lib/shipper/.winlogbeat.yml", NULL, &cp, &err) != CHECKPOINT_OK) {
 *     fprintf(stderr, "%s\n", err);
 *     checkpoint_free(err);
 *     return 1;
 *   }
 *   checkpoint_persist(cp, "Application", 250502, time(NULL), 0, NULL);
 *   ...
 *   if (checkpoint_close(cp) != CHECKPOINT_OK) fprintf(stderr, "%s\n", checkpoint_errmsg(NULL));
 *
 * Results. Every function that can fail returns CHECKPOINT_OK (0) or one of
 * the codes below; no C++ exception ever leaves the library. The message of
 * a failure names the store or the argument. checkpoint_errmsg(cp) gives
 * the message of the last failure of a call on `cp` made by the calling
 * thread (each thread sees its own: another thread's failure never
 * overwrites it; the handle keeps one message per thread that failed a
 * call on it, until it is closed). Failures that have no handle to keep
 * them (a NULL handle, checkpoint_open(), checkpoint_close(),
 * checkpoint_load(), ...) are kept per thread, and checkpoint_errmsg(NULL)
 * gives the last of them. A call that succeeds leaves the last message as
 * it was.
 *
 * Strings. Every string passed in is NUL-terminated UTF-8 (names and
 * bookmarks that are not: CHECKPOINT_INVALID_ARGUMENT) and only read during
 * the call. Every string and array handed out belongs to the caller, who
 * frees it with the function its description names: checkpoint_free() for
 * a single string, the matching *_free() for a struct. The exception is
 * checkpoint_errmsg() and checkpoint_strerror(), which return strings that
 * the library keeps.
 *
 * Threads. Every function may be called from any thread, and calls on one
 * handle from several threads at the same time are safe, as in the C++ API,
 * except checkpoint_close(), which must be the last call on its handle.
 *
 * Times are Unix seconds and nanoseconds (0 to 999999999), UTC, from
 * 0001-01-01T00:00:00Z (-62135596800, Go's zero time.Time) to
 * 9999-12-31T23:59:59.999999999Z; outside: CHECKPOINT_INVALID_ARGUMENT.
 *
 * C++. In C++ the name `checkpoint` is the namespace of the C++ API
 * (checkpoint.hpp), so the handle type is spelled checkpoint_handle there;
 * in C, checkpoint_handle and checkpoint are the same type. */
#ifndef CHECKPOINT_CHECKPOINT_H
#define CHECKPOINT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint/export.h"
#include "checkpoint/version.h"

#ifdef __cplusplus
extern "C" {
typedef struct checkpoint_handle checkpoint_handle;
#else
/* An open store and its front end; opaque. */
typedef struct checkpoint checkpoint;
typedef checkpoint checkpoint_handle;
#endif

/* Result codes: the kinds of checkpoint::ErrorCode, in its order. */
enum {
  CHECKPOINT_OK = 0,
  CHECKPOINT_INVALID_ARGUMENT, /* a NULL pointer, an empty name, invalid UTF-8, a bad time */
  CHECKPOINT_INVALID_CONFIG,   /* the config string names an unknown scheme, option or value */
  CHECKPOINT_NOT_FOUND,        /* no state of that name; a store that does not exist */
  CHECKPOINT_CORRUPT,          /* the store's data cannot be read back as states */
  CHECKPOINT_IO,               /* the operating system refused a read, write or sync */
  CHECKPOINT_LOCKED,           /* another writer holds the store */
  CHECKPOINT_CLOSED,           /* the handle was shut down (checkpoint_shutdown()) */
  CHECKPOINT_UNSUPPORTED,      /* a newer format version; an options field this library lacks */
  CHECKPOINT_NO_MEMORY         /* an allocation failed */
};

/* The code's name as the C++ API writes it ("ok", "invalid_argument", ...,
 * "no_memory"); "unknown" for a number that is none of them. Kept by the
 * library: never free it. */
CHECKPOINT_API const char* checkpoint_strerror(int code);

/* How a handle commits. Set `size` to sizeof(checkpoint_options): a field
 * beyond `size` takes its default, so a program built against this header
 * keeps working with later versions of the library, whose struct may have
 * more fields; a program built against a later header that sets a field
 * this library does not know gets CHECKPOINT_UNSUPPORTED. */
typedef struct checkpoint_options {
  size_t size;
  /* Commit once this many changes are pending. 0: the default, 100. */
  size_t max_updates;
  /* Commit this long after the first change not yet committed, at least
   * 1000 (less is taken as 1000). 0: the default, 5000. Negative:
   * CHECKPOINT_INVALID_ARGUMENT. */
  int64_t flush_interval_ms;
} checkpoint_options;

/* The defaults, for `checkpoint_options options = CHECKPOINT_OPTIONS_INIT;`. */
#define CHECKPOINT_OPTIONS_INIT \
  { sizeof(checkpoint_options), 0, 0 }

/* Where a reader stopped in one stream. The strings are the library's
 * allocations, owned by whoever received the struct. */
typedef struct checkpoint_state {
  char* name;             /* non-empty UTF-8 */
  uint64_t record_number; /* the whole uint64 range */
  int64_t unix_seconds;   /* the record's time */
  uint32_t nanos;
  char* bookmark; /* "" when there is none (never NULL in a state handed out) */
} checkpoint_state;

/* Opens the store that `uri` names for writing (a config string such as
 * "sqlite:/var/lib/shipper/state.db", or a path whose extension picks the
 * backend, such as ".winlogbeat.yml"), making it and its directory if they
 * do not exist: it takes the store's writer lock, loads every state and
 * commits once to prove the store writable. `options` NULL: the defaults.
 * On success *out is the handle (close it with checkpoint_close()) and
 * *errmsg is set to NULL; on failure *out is NULL and *errmsg a message
 * (free it with checkpoint_free()), also kept for checkpoint_errmsg(NULL).
 * `errmsg` may be NULL. Another writer holds the store: CHECKPOINT_LOCKED. */
CHECKPOINT_API int checkpoint_open(const char* uri, const checkpoint_options* options,
                                   checkpoint_handle** out, char** errmsg);

/* Records a position in memory; never waits for I/O. `bookmark` NULL or ""
 * means none. Empty name, name or bookmark not valid UTF-8, a time out of
 * range: CHECKPOINT_INVALID_ARGUMENT. After checkpoint_shutdown():
 * CHECKPOINT_CLOSED. */
CHECKPOINT_API int checkpoint_persist(checkpoint_handle* cp, const char* name,
                                      uint64_t record_number, int64_t unix_seconds, uint32_t nanos,
                                      const char* bookmark);

/* Forgets a stream (it is read from its start next time); a name that is
 * not there is not an error. Errors as checkpoint_persist(). */
CHECKPOINT_API int checkpoint_remove(checkpoint_handle* cp, const char* name);

/* The state of one stream, as last persisted (committed or not): *out is
 * filled in, to be freed with checkpoint_state_free(). No state of that
 * name: CHECKPOINT_NOT_FOUND. On failure *out is all zero (and NULL). */
CHECKPOINT_API int checkpoint_get(checkpoint_handle* cp, const char* name, checkpoint_state* out);

/* Frees the strings of a state handed out by the library and sets them to
 * NULL (not the struct itself, which the caller owns). NULL: nothing. */
CHECKPOINT_API void checkpoint_state_free(checkpoint_state* state);

/* States, sorted by name (an array of `count`; NULL when `count` is 0). */
typedef struct checkpoint_state_list {
  checkpoint_state* states;
  size_t count;
} checkpoint_state_list;

/* Every state of the handle, as last persisted, sorted by name; free the
 * list with checkpoint_state_list_free(). Works after checkpoint_shutdown()
 * too. On failure *out is empty. */
CHECKPOINT_API int checkpoint_states(checkpoint_handle* cp, checkpoint_state_list* out);

/* Frees every state of the list and its array, and empties it. NULL: nothing. */
CHECKPOINT_API void checkpoint_state_list_free(checkpoint_state_list* list);

/* Commits everything pending now and waits until it is durable; a failed
 * commit's code (the changes stay pending and are retried). After
 * checkpoint_shutdown(): CHECKPOINT_CLOSED. */
CHECKPOINT_API int checkpoint_flush(checkpoint_handle* cp);

/* Stops the worker and commits what is pending: the final commit's result.
 * Afterwards checkpoint_persist(), checkpoint_remove() and
 * checkpoint_flush() fail with CHECKPOINT_CLOSED, while checkpoint_get(),
 * checkpoint_states() and checkpoint_get_stats() keep working, and the
 * store stays locked until checkpoint_close(). A second call does nothing
 * and returns CHECKPOINT_OK. */
CHECKPOINT_API int checkpoint_shutdown(checkpoint_handle* cp);

/* checkpoint_shutdown() (the final commit), then releases the store's lock
 * and frees the handle, whatever the commit's result. Returns the final
 * commit's result if this call made it (CHECKPOINT_OK if
 * checkpoint_shutdown() had), its message kept for checkpoint_errmsg(NULL),
 * since the handle is gone. Using the handle afterwards is undefined, as
 * with free(). NULL: CHECKPOINT_OK. */
CHECKPOINT_API int checkpoint_close(checkpoint_handle* cp);

/* What checkpoint_get_stats() reports (checkpoint::Stats). Set `size` to
 * sizeof(checkpoint_stats): fields beyond it are left alone. */
typedef struct checkpoint_stats {
  size_t size;
  uint64_t commits;        /* store commits (a commit of nothing is none) */
  uint64_t failed_commits; /* of them, those that failed */
  size_t states;           /* states held */
  size_t pending;          /* names changed and not yet committed */
  int64_t last_commit_duration_ns;
  /* The last commit's error message; NULL when it succeeded. Freed by
   * checkpoint_stats_free(). */
  char* last_error;
} checkpoint_stats;

/* Fills in *out (up to out->size bytes); takes O(1) and never waits for a
 * commit. Free it with checkpoint_stats_free(). out->size smaller than a
 * size_t: CHECKPOINT_INVALID_ARGUMENT. */
CHECKPOINT_API int checkpoint_get_stats(checkpoint_handle* cp, checkpoint_stats* out);

/* Frees the strings of a checkpoint_stats and sets them to NULL. NULL: nothing. */
CHECKPOINT_API void checkpoint_stats_free(checkpoint_stats* stats);

/* The message of the last failure of a call on `cp` in this thread ("" if
 * none failed). NULL: the last failure in this thread that had no handle to
 * keep it (see the top of this file). The string is the library's; it stays
 * valid until this thread's next failing call on the same handle (or
 * without one), or checkpoint_close(cp). */
CHECKPOINT_API const char* checkpoint_errmsg(const checkpoint_handle* cp);

/* Frees a string the library handed out (an *errmsg). NULL: nothing. */
CHECKPOINT_API void checkpoint_free(void* p);

/* Reads every state of the store that `uri` names, sorted by name, without
 * being its writer: the store is opened for reading, which never creates,
 * locks or changes anything, and works while a writer runs (this is what
 * `checkpointctl dump` reads). *update_unix_seconds and *update_nanos
 * (either may be NULL) get the time of the store's last commit
 * (-62135596800 and 0 if it has none). Free the list with
 * checkpoint_state_list_free(). A store that does not exist:
 * CHECKPOINT_NOT_FOUND. `errmsg` as in checkpoint_open(). */
CHECKPOINT_API int checkpoint_load(const char* uri, checkpoint_state_list* out,
                                   int64_t* update_unix_seconds, uint32_t* update_nanos,
                                   char** errmsg);

/* For checkpoint_convert(): replace what the destination holds. */
#define CHECKPOINT_CONVERT_REPLACE 1u

/* Copies every state and the update time of the store `from_uri` (opened
 * for reading, never changed) to the store `to_uri` (made if missing) in one
 * commit, then reads the destination back and compares (a difference:
 * CHECKPOINT_CORRUPT), as `checkpointctl convert` does. A destination that
 * holds states is refused (CHECKPOINT_INVALID_ARGUMENT) unless `flags`
 * has CHECKPOINT_CONVERT_REPLACE, which makes it hold exactly the source's
 * states. `errmsg` as in checkpoint_open(). */
CHECKPOINT_API int checkpoint_convert(const char* from_uri, const char* to_uri, unsigned flags,
                                      char** errmsg);

/* One backend of the registry. */
typedef struct checkpoint_backend {
  char* scheme;      /* "yaml", "sqlite", ... */
  char* description; /* one line, for people */
  char* options;     /* the option keys it accepts, separated by commas: "sync" ("" if none) */
  char* extensions;  /* the extensions that select it in a plain path: ".yml,.yaml" */
} checkpoint_backend;

typedef struct checkpoint_backend_list {
  checkpoint_backend* backends; /* sorted by scheme */
  size_t count;
} checkpoint_backend_list;

/* The backends this library was built with (and any registered from C++),
 * sorted by scheme; free the list with checkpoint_backend_list_free(). */
CHECKPOINT_API int checkpoint_backends(checkpoint_backend_list* out);

/* Frees every string of the list and its array, and empties it. NULL: nothing. */
CHECKPOINT_API void checkpoint_backend_list_free(checkpoint_backend_list* list);

/* Loads the plugin in the file `path` and registers its backends, as
 * checkpoint::load_plugin() (registry.hpp; the ABI: plugin.h). A plugin is
 * trusted code, run in this process. `path` must hold a '/'; a file already
 * loaded loads nothing. A missing file, no entry point, an unsupported ABI
 * version, a scheme already taken: CHECKPOINT_INVALID_CONFIG, the message
 * naming the file and the cause. `errmsg` as in checkpoint_open(). */
CHECKPOINT_API int checkpoint_load_plugin(const char* path, char** errmsg);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CHECKPOINT_CHECKPOINT_H */
