/* A plugin for the loader's tests, compiled once per defect:
 *   NO_ENTRY          exports no entry point
 *   PLUGIN_ABI=N      declares ABI version N
 *   BACKEND_SIZE=N    a checkpoint_plugin_backend of N bytes
 *   SCHEME="x"        its backend's scheme ("probe" by default)
 *   SECOND_SCHEME="y" a second backend
 * The "probe" backend: open() of "probe:fail-CODE" fails with CODE and a
 * message, of "probe:silent-CODE" with CODE and none; scan() hands out one
 * state whose time is out of range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/plugin.h"

#ifndef PLUGIN_ABI
#define PLUGIN_ABI CHECKPOINT_PLUGIN_ABI_VERSION
#endif
#ifndef BACKEND_SIZE
#define BACKEND_SIZE sizeof(checkpoint_plugin_backend)
#endif
#ifndef SCHEME
#define SCHEME "probe"
#endif

static int probe_open(void* backend_data, const checkpoint_plugin_uri* uri, int mode,
                      int create_if_missing, void** store, checkpoint_plugin_error* err) {
  (void)backend_data;
  (void)mode;
  (void)create_if_missing;
  if (strncmp(uri->target, "fail-", 5) == 0) {
    snprintf(err->message, err->capacity, "probe store %s: failed on purpose", uri->target);
    return atoi(uri->target + 5);
  }
  if (strncmp(uri->target, "silent-", 7) == 0) return atoi(uri->target + 7);
  *store = NULL;
  return CHECKPOINT_OK;
}

static void probe_close(void* store) { (void)store; }

static int probe_scan(void* store, checkpoint_plugin_sink sink, void* sink_data,
                      checkpoint_plugin_time* update_time, checkpoint_plugin_error* err) {
  (void)store;
  (void)err;
  checkpoint_plugin_state state = {{"a", 1}, 1, {INT64_MAX, 0}, {NULL, 0}, {0, 0}};
  update_time->seconds = 0;
  update_time->nanos = 0;
  return sink(sink_data, &state);
}

static int probe_commit(void* store, const checkpoint_plugin_changes* changes,
                        checkpoint_plugin_error* err) {
  (void)store;
  (void)changes;
  (void)err;
  return CHECKPOINT_OK;
}

static const checkpoint_plugin_backend probe = {
    BACKEND_SIZE, PLUGIN_ABI, SCHEME,      "a plugin for tests", NULL,         0,    NULL, 0,
    NULL,         probe_open, probe_close, probe_scan,           probe_commit, NULL, NULL};

#ifdef SECOND_SCHEME
static const checkpoint_plugin_backend second = {
    BACKEND_SIZE, PLUGIN_ABI, SECOND_SCHEME, "a second backend", NULL,         0,    NULL, 0,
    NULL,         probe_open, probe_close,   probe_scan,         probe_commit, NULL, NULL};
static const checkpoint_plugin_backend* const backends[] = {&probe, &second};
#else
static const checkpoint_plugin_backend* const backends[] = {&probe};
#endif

static const checkpoint_plugin plugin = {sizeof(checkpoint_plugin), PLUGIN_ABI, backends,
                                         sizeof backends / sizeof backends[0]};

#ifndef NO_ENTRY
CHECKPOINT_PLUGIN_ENTRY { return &plugin; }
#else
CHECKPOINT_PLUGIN_EXPORT const checkpoint_plugin* not_the_entry_point(void) { return &plugin; }
#endif
