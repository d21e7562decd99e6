/* The C API (checkpoint/checkpoint.h), from C: values round trip exactly,
 * every function refuses NULL pointers, invalid UTF-8, bad times and a shut
 * down handle with the right code and a message, messages are kept per
 * handle and per thread, and options, stats, load, convert and the registry
 * do what the header says.
 *
 *   c_api_test CASE    runs one case (ctest runs each on its own); no argument: all
 *
 * Compiled as C11 with -Wall -Wextra -pedantic -Werror. The only wait is for
 * the worker's commit after max_updates changes, on a deadline that only a
 * broken library reaches. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, nanosleep, pthread_barrier */

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"

#ifndef CHECKPOINT_YAML_FIXTURES
#error "CHECKPOINT_YAML_FIXTURES: the directory of tests/fixtures/yaml"
#endif

static atomic_int failures = 0; /* CHECK runs on several threads */

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* `call` must return `code`; prints what it returned and the message. */
#define CHECK_CODE(call, code, cp)                                                            \
  do {                                                                                        \
    int got_ = (call);                                                                        \
    if (got_ != (code)) {                                                                     \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, __LINE__, #call, \
              checkpoint_strerror(got_), checkpoint_strerror(code), checkpoint_errmsg(cp));   \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)

#define CHECK_STR(a, b)                                                                 \
  do {                                                                                  \
    const char* a_ = (a);                                                               \
    const char* b_ = (b);                                                               \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                              \
      fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
              a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                  \
      ++failures;                                                                       \
    }                                                                                   \
  } while (0)

#define CHECK_HAS(text, part)                                                                 \
  do {                                                                                        \
    const char* t_ = (text);                                                                  \
    if (t_ == NULL || strstr(t_, (part)) == NULL) {                                           \
      fprintf(stderr, "%s:%d: %s is \"%s\", which lacks \"%s\"\n", __FILE__, __LINE__, #text, \
              t_ ? t_ : "(null)", (part));                                                    \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)

/* ---- A scratch directory per case ------------------------------------- */

static char dir[PATH_MAX];

static void make_dir(void) {
  const char* tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/c_api_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    exit(2);
  }
}

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_dir(void) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* DIR/NAME in `out`. */
static const char* in_dir(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s/%s", dir, name);
  return out;
}

static void write_text(const char* path, const char* text) {
  FILE* f = fopen(path, "w");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
}

static void copy_file(const char* from, const char* to) {
  char buffer[65536];
  FILE* in = fopen(from, "rb");
  FILE* out = fopen(to, "wb");
  size_t n;
  if (in == NULL || out == NULL) {
    perror(in == NULL ? from : to);
    exit(2);
  }
  while ((n = fread(buffer, 1, sizeof buffer, in)) > 0) fwrite(buffer, 1, n, out);
  fclose(in);
  if (fclose(out) != 0) exit(2);
}

static checkpoint* open_or_die(const char* uri, const checkpoint_options* options) {
  checkpoint* cp = NULL;
  char* err = NULL;
  if (checkpoint_open(uri, options, &cp, &err) != CHECKPOINT_OK) {
    fprintf(stderr, "checkpoint_open(%s): %s\n", uri, err);
    exit(2);
  }
  return cp;
}

/* The states a reader finds in the store, and their count. */
static size_t stored_count(const char* uri) {
  checkpoint_state_list list;
  size_t count;
  CHECK_CODE(checkpoint_load(uri, &list, NULL, NULL, NULL), CHECKPOINT_OK, NULL);
  count = list.count;
  checkpoint_state_list_free(&list);
  return count;
}

#define MIN_SECONDS INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define MAX_SECONDS INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static void check_state(const checkpoint_state* s, const char* name, uint64_t record_number,
                        int64_t seconds, uint32_t nanos, const char* bookmark) {
  CHECK_STR(s->name, name);
  CHECK(s->record_number == record_number);
  CHECK(s->unix_seconds == seconds);
  CHECK(s->nanos == nanos);
  CHECK_STR(s->bookmark, bookmark);
}

/* ---- Cases -------------------------------------------------------------- */

/* Every field exactly, through the handle, a reader and a new handle. */
static void round_trip(void) {
  char path[PATH_MAX];
  checkpoint* cp = NULL;
  char* err = (char*)"unset";
  checkpoint_state state;
  checkpoint_state_list list;
  int64_t update_seconds = 0;
  uint32_t update_nanos = 1;
  in_dir(path, sizeof path, "a/b/c/.winlogbeat.yml"); /* directories made too */

  CHECK_CODE(checkpoint_open(path, NULL, &cp, &err), CHECKPOINT_OK, NULL);
  CHECK(cp != NULL);
  CHECK(err == NULL);
  CHECK_CODE(checkpoint_persist(cp, "Application", UINT64_MAX, 1512486998, 253058800, NULL),
             CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_persist(cp, "Sysmon", 204, MIN_SECONDS, 0, "<Bookmark RecordId='204'/>"),
             CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_persist(cp, "\xce\xa3\xcf\x8d\xcf\x83\xcf\x84\xce\xb7\xce\xbc\xce\xb1", 0,
                                MAX_SECONDS, 999999999, ""),
             CHECKPOINT_OK, cp);

  CHECK_CODE(checkpoint_get(cp, "Application", &state), CHECKPOINT_OK, cp);
  check_state(&state, "Application", UINT64_MAX, 1512486998, 253058800, "");
  checkpoint_state_free(&state);
  CHECK(state.name == NULL && state.bookmark == NULL);

  CHECK_CODE(checkpoint_states(cp, &list), CHECKPOINT_OK, cp);
  CHECK(list.count == 3);
  if (list.count == 3) {
    check_state(&list.states[0], "Application", UINT64_MAX, 1512486998, 253058800, "");
    check_state(&list.states[1], "Sysmon", 204, MIN_SECONDS, 0, "<Bookmark RecordId='204'/>");
    check_state(&list.states[2], "\xce\xa3\xcf\x8d\xcf\x83\xcf\x84\xce\xb7\xce\xbc\xce\xb1", 0,
                MAX_SECONDS, 999999999, "");
  }
  checkpoint_state_list_free(&list);
  CHECK(list.states == NULL && list.count == 0);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);

  CHECK_CODE(checkpoint_load(path, &list, &update_seconds, &update_nanos, &err), CHECKPOINT_OK,
             NULL);
  CHECK(err == NULL);
  CHECK(list.count == 3);
  if (list.count == 3) {
    check_state(&list.states[1], "Sysmon", 204, MIN_SECONDS, 0, "<Bookmark RecordId='204'/>");
  }
  CHECK(update_seconds > 1700000000); /* a commit was made, now */
  checkpoint_state_list_free(&list);

  cp = open_or_die(path, NULL);
  CHECK_CODE(checkpoint_get(cp, "Sysmon", &state), CHECKPOINT_OK, cp);
  check_state(&state, "Sysmon", 204, MIN_SECONDS, 0, "<Bookmark RecordId='204'/>");
  checkpoint_state_free(&state);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
}

/* A file Winlogbeat wrote (tests/fixtures/yaml) reads exactly. */
static void winlogbeat_file(void) {
  char path[PATH_MAX];
  checkpoint* cp;
  checkpoint_state state;
  copy_file(CHECKPOINT_YAML_FIXTURES "/winlogbeat_typical.yml",
            in_dir(path, sizeof path, ".winlogbeat.yml"));
  cp = open_or_die(path, NULL);
  CHECK_CODE(checkpoint_get(cp, "Security", &state), CHECKPOINT_OK, cp);
  /* 2017-12-05T07:16:38.2530588-08:00 */
  check_state(&state, "Security", UINT64_MAX, 1512486998, 253058800, "");
  checkpoint_state_free(&state);
  CHECK_CODE(checkpoint_get(cp, "Microsoft-Windows-Sysmon/Operational", &state), CHECKPOINT_OK, cp);
  check_state(&state, "Microsoft-Windows-Sysmon/Operational", 204, 1511828850, 158887700,
              "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
              "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>");
  checkpoint_state_free(&state);
  CHECK_CODE(checkpoint_get(cp, "System", &state), CHECKPOINT_OK, cp);
  check_state(&state, "System", 0, MIN_SECONDS, 0, "");
  checkpoint_state_free(&state);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
}

static void remove_state(void) {
  char path[PATH_MAX];
  checkpoint* cp = open_or_die(in_dir(path, sizeof path, "state.json"), NULL);
  checkpoint_state state;
  CHECK_CODE(checkpoint_persist(cp, "a", 1, 0, 0, NULL), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_persist(cp, "b", 2, 0, 0, NULL), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_remove(cp, "a"), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_remove(cp, "never there"), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_get(cp, "a", &state), CHECKPOINT_NOT_FOUND, cp);
  CHECK(state.name == NULL && state.bookmark == NULL);
  CHECK_HAS(checkpoint_errmsg(cp), "no state named \"a\"");
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
  CHECK(stored_count(path) == 1);
}

/* Every pointer argument may be NULL; none crashes, each says which. */
static void null_arguments(void) {
  char path[PATH_MAX];
  checkpoint* cp = NULL;
  char* err = NULL;
  checkpoint_state state;
  checkpoint_state_list list;
  checkpoint_stats stats;
  stats.size = sizeof stats;
  in_dir(path, sizeof path, "state.yml");

  CHECK_CODE(checkpoint_open(NULL, NULL, &cp, &err), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK(cp == NULL);
  CHECK_HAS(err, "checkpoint_open: uri is NULL");
  CHECK_STR(checkpoint_errmsg(NULL), err);
  checkpoint_free(err);
  CHECK_CODE(checkpoint_open(path, NULL, NULL, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "out is NULL");

  CHECK_CODE(checkpoint_persist(NULL, "a", 1, 0, 0, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "checkpoint_persist: the handle is NULL");
  CHECK_CODE(checkpoint_remove(NULL, "a"), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_get(NULL, "a", &state), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_states(NULL, &list), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_flush(NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_shutdown(NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_get_stats(NULL, &stats), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "checkpoint_get_stats: the handle is NULL");
  CHECK_CODE(checkpoint_load(NULL, &list, NULL, NULL, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_load(path, NULL, NULL, NULL, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_convert(NULL, path, 0, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_convert(path, NULL, 0, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "to_uri is NULL");
  CHECK_CODE(checkpoint_backends(NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);

  cp = open_or_die(path, NULL);
  CHECK_CODE(checkpoint_persist(cp, NULL, 1, 0, 0, NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "checkpoint_persist: name is NULL");
  /* A success leaves the last failure's message as it was. */
  CHECK_CODE(checkpoint_persist(cp, "a", 1, 0, 0, NULL), CHECKPOINT_OK, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "checkpoint_persist: name is NULL");
  CHECK_CODE(checkpoint_remove(cp, NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_CODE(checkpoint_get(cp, NULL, &state), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_CODE(checkpoint_get(cp, "a", NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "checkpoint_get: out is NULL");
  CHECK_CODE(checkpoint_states(cp, NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_CODE(checkpoint_get_stats(cp, NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);

  /* Freeing nothing is nothing. */
  CHECK_CODE(checkpoint_close(NULL), CHECKPOINT_OK, NULL);
  checkpoint_free(NULL);
  checkpoint_state_free(NULL);
  checkpoint_state_list_free(NULL);
  checkpoint_stats_free(NULL);
  checkpoint_backend_list_free(NULL);
  CHECK(stored_count(path) == 1);
}

/* Names and bookmarks that are not UTF-8 are refused, and nothing is stored. */
static void invalid_utf8(void) {
  char path[PATH_MAX];
  checkpoint* cp = open_or_die(in_dir(path, sizeof path, "state.yml"), NULL);
  checkpoint_state state;
  checkpoint_state_list list;

  CHECK_CODE(checkpoint_persist(cp, "\xff\xfe", 1, 0, 0, NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "name is not valid UTF-8");
  CHECK_CODE(checkpoint_persist(cp, "ok", 1, 0, 0, "cut \xc3"), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "bookmark of \"ok\" is not valid UTF-8");
  CHECK_CODE(checkpoint_persist(cp, "", 1, 0, 0, NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "name is empty");
  /* A surrogate, an overlong '/'. */
  CHECK_CODE(checkpoint_remove(cp, "\xed\xa0\x80"), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_CODE(checkpoint_get(cp, "\xc0\xaf", &state), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "not valid UTF-8");

  CHECK_CODE(checkpoint_states(cp, &list), CHECKPOINT_OK, cp);
  CHECK(list.count == 0 && list.states == NULL);
  checkpoint_state_list_free(&list);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
  CHECK(stored_count(path) == 0);
}

static void bad_times(void) {
  char path[PATH_MAX];
  checkpoint* cp = open_or_die(in_dir(path, sizeof path, "state.yml"), NULL);
  CHECK_CODE(checkpoint_persist(cp, "a", 1, 0, 1000000000, NULL), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_CODE(checkpoint_persist(cp, "a", 1, MIN_SECONDS - 1, 0, NULL), CHECKPOINT_INVALID_ARGUMENT,
             cp);
  CHECK_CODE(checkpoint_persist(cp, "a", 1, MAX_SECONDS + 1, 0, NULL), CHECKPOINT_INVALID_ARGUMENT,
             cp);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
  CHECK(stored_count(path) == 0);
}

/* After checkpoint_shutdown(): changes refused, reads still served. */
static void shut_down_handle(void) {
  char path[PATH_MAX];
  checkpoint_options options = CHECKPOINT_OPTIONS_INIT;
  checkpoint* cp;
  checkpoint_state state;
  checkpoint_state_list list;
  checkpoint_stats stats;
  options.max_updates = 1000;
  options.flush_interval_ms = 3600 * 1000;
  cp = open_or_die(in_dir(path, sizeof path, "state.db"), &options);

  CHECK_CODE(checkpoint_persist(cp, "a", 7, 0, 0, "mark"), CHECKPOINT_OK, cp);
  CHECK(stored_count(path) == 0); /* pending until the final commit */
  CHECK_CODE(checkpoint_shutdown(cp), CHECKPOINT_OK, cp);
  CHECK(stored_count(path) == 1);

  CHECK_CODE(checkpoint_persist(cp, "b", 1, 0, 0, NULL), CHECKPOINT_CLOSED, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "after shutdown()");
  CHECK_CODE(checkpoint_remove(cp, "a"), CHECKPOINT_CLOSED, cp);
  CHECK_CODE(checkpoint_flush(cp), CHECKPOINT_CLOSED, cp);
  CHECK_CODE(checkpoint_get(cp, "a", &state), CHECKPOINT_OK, cp);
  check_state(&state, "a", 7, 0, 0, "mark");
  checkpoint_state_free(&state);
  CHECK_CODE(checkpoint_states(cp, &list), CHECKPOINT_OK, cp);
  CHECK(list.count == 1);
  checkpoint_state_list_free(&list);
  stats.size = sizeof stats;
  CHECK_CODE(checkpoint_get_stats(cp, &stats), CHECKPOINT_OK, cp);
  CHECK(stats.states == 1 && stats.pending == 0);
  checkpoint_stats_free(&stats);
  CHECK_CODE(checkpoint_shutdown(cp), CHECKPOINT_OK, cp); /* again: nothing */
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
  CHECK(stored_count(path) == 1);
}

/* Not a handle: a value checkpoint_open() must overwrite. */
static checkpoint* shared_cp_sentinel(void) { return (checkpoint*)&failures; }

static void second_writer(void) {
  char path[PATH_MAX];
  char uri[PATH_MAX + 8];
  checkpoint* first;
  checkpoint* second = shared_cp_sentinel(); /* must be set to NULL */
  char* err = NULL;
  snprintf(uri, sizeof uri, "lmdb:%s", in_dir(path, sizeof path, "state"));
  first = open_or_die(uri, NULL);
  CHECK_CODE(checkpoint_open(uri, NULL, &second, &err), CHECKPOINT_LOCKED, NULL);
  CHECK(second == NULL);
  CHECK_HAS(err, path);
  CHECK_STR(checkpoint_errmsg(NULL), err);
  checkpoint_free(err);
  CHECK_CODE(checkpoint_close(first), CHECKPOINT_OK, NULL);
  second = open_or_die(uri, NULL); /* the lock went with the handle */
  CHECK_CODE(checkpoint_close(second), CHECKPOINT_OK, NULL);
}

static void bad_stores(void) {
  char path[PATH_MAX], uri[PATH_MAX + 32];
  checkpoint* cp = NULL;
  char* err = NULL;
  checkpoint_state_list list;

  CHECK_CODE(checkpoint_open("nosuch:/x", NULL, &cp, &err), CHECKPOINT_INVALID_CONFIG, NULL);
  CHECK_HAS(err, "nosuch");
  checkpoint_free(err);
  snprintf(uri, sizeof uri, "yaml:%s?bogus=1", in_dir(path, sizeof path, "x.yml"));
  CHECK_CODE(checkpoint_open(uri, NULL, &cp, NULL), CHECKPOINT_INVALID_CONFIG, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "bogus");

  /* Reading a store that does not exist creates nothing. */
  CHECK_CODE(checkpoint_load(in_dir(path, sizeof path, "missing.yml"), &list, NULL, NULL, &err),
             CHECKPOINT_NOT_FOUND, NULL);
  CHECK_HAS(err, "missing.yml");
  checkpoint_free(err);
  CHECK(access(path, F_OK) != 0 && errno == ENOENT);

  write_text(in_dir(path, sizeof path, "damaged.yml"), "update_time: yesterday\n");
  CHECK_CODE(checkpoint_open(path, NULL, &cp, &err), CHECKPOINT_CORRUPT, NULL);
  CHECK_HAS(err, "damaged.yml");
  checkpoint_free(err);
  CHECK_CODE(checkpoint_load(path, &list, NULL, NULL, NULL), CHECKPOINT_CORRUPT, NULL);
  CHECK(cp == NULL);
}

static void options(void) {
  char path[PATH_MAX];
  checkpoint* cp = NULL;
  checkpoint_options options = CHECKPOINT_OPTIONS_INIT;
  struct {
    checkpoint_options known;
    uint64_t later; /* a field of a later version of the header */
  } newer;
  in_dir(path, sizeof path, "state.yml");

  options.size = 0;
  CHECK_CODE(checkpoint_open(path, &options, &cp, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "options->size is 0");
  options.size = sizeof options;
  options.flush_interval_ms = -1;
  CHECK_CODE(checkpoint_open(path, &options, &cp, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "flush_interval_ms is -1");

  memset(&newer, 0, sizeof newer);
  newer.known.size = sizeof newer;
  newer.later = 1;
  CHECK_CODE(checkpoint_open(path, &newer.known, &cp, NULL), CHECKPOINT_UNSUPPORTED, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), "does not know");
  CHECK(cp == NULL);
  newer.later = 0; /* unset: as if this header */
  CHECK_CODE(checkpoint_open(path, &newer.known, &cp, NULL), CHECKPOINT_OK, NULL);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);

  /* An older header's struct: flush_interval_ms beyond `size` is not read. */
  options.size = sizeof(size_t) * 2;
  options.max_updates = 5;
  CHECK_CODE(checkpoint_open(path, &options, &cp, NULL), CHECKPOINT_OK, NULL);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
}

/* The counters (last_error is freed). */
static checkpoint_stats stats_of(checkpoint* cp) {
  checkpoint_stats stats;
  stats.size = sizeof stats;
  CHECK_CODE(checkpoint_get_stats(cp, &stats), CHECKPOINT_OK, cp);
  checkpoint_stats_free(&stats);
  return stats;
}

/* Winlogbeat's "max updates" behaviour: below max_updates a position is held
 * in memory only; the change that reaches it is committed by the worker. */
static void max_updates(void) {
  char path[PATH_MAX];
  checkpoint_options options = CHECKPOINT_OPTIONS_INIT;
  checkpoint* cp;
  checkpoint_state state;
  struct timespec start, now, pause = {0, 1000000};
  options.max_updates = 2;
  options.flush_interval_ms = 3600 * 1000;
  cp = open_or_die(in_dir(path, sizeof path, "new/dir/.winlogbeat.yml"), &options);
  CHECK(stats_of(cp).commits == 1); /* opening proves the store writable */

  CHECK_CODE(checkpoint_persist(cp, "App", 1, 1512486962, 0, NULL), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_get(cp, "App", &state), CHECKPOINT_OK, cp);
  checkpoint_state_free(&state);
  CHECK(stats_of(cp).pending == 1);
  CHECK(stored_count(path) == 0);

  CHECK_CODE(checkpoint_persist(cp, "App", 2, 1512486962, 0, NULL), CHECKPOINT_OK, cp);
  clock_gettime(CLOCK_MONOTONIC, &start);
  do { /* the worker commits; only a broken library takes 30 s */
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (stats_of(cp).commits < 2 && now.tv_sec - start.tv_sec < 30);
  CHECK(stats_of(cp).commits == 2);
  CHECK(stats_of(cp).pending == 0);
  CHECK(stored_count(path) == 1);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
}

static void stats(void) {
  char path[PATH_MAX];
  checkpoint* cp = open_or_die(in_dir(path, sizeof path, "state.yml"), NULL);
  checkpoint_stats full, part, untouched;
  CHECK_CODE(checkpoint_persist(cp, "a", 1, 0, 0, NULL), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_persist(cp, "b", 1, 0, 0, NULL), CHECKPOINT_OK, cp);
  full = stats_of(cp);
  CHECK(full.commits == 1 && full.failed_commits == 0);
  CHECK(full.states == 2 && full.pending == 2);
  CHECK(full.last_error == NULL);
  CHECK_CODE(checkpoint_flush(cp), CHECKPOINT_OK, cp);
  full = stats_of(cp);
  CHECK(full.commits == 2 && full.pending == 0 && full.last_commit_duration_ns > 0);

  /* An older header's struct: only the fields within `size` are written. */
  memset(&part, 0xab, sizeof part);
  memset(&untouched, 0xab, sizeof untouched);
  part.size = offsetof(checkpoint_stats, states);
  CHECK_CODE(checkpoint_get_stats(cp, &part), CHECKPOINT_OK, cp);
  CHECK(part.commits == 2 && part.failed_commits == 0);
  CHECK(part.states == untouched.states && part.pending == untouched.pending);
  checkpoint_stats_free(&part); /* last_error lies beyond `size`: not freed */
  part.size = 1;
  CHECK_CODE(checkpoint_get_stats(cp, &part), CHECKPOINT_INVALID_ARGUMENT, cp);
  CHECK_HAS(checkpoint_errmsg(cp), "out->size is 1");
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
}

/* A commit that fails: flush() says why, the stats keep it, the changes stay
 * pending and go with the next commit; close() reports its final commit's
 * failure through checkpoint_errmsg(NULL). The store's file is replaced by a
 * directory, which no commit can rename over. */
static void failed_commits(void) {
  char path[PATH_MAX];
  checkpoint* cp = open_or_die(in_dir(path, sizeof path, "state.yml"), NULL);
  checkpoint_stats stats;
  CHECK_CODE(checkpoint_persist(cp, "a", 1, 0, 0, NULL), CHECKPOINT_OK, cp);
  CHECK(remove(path) == 0 && mkdir(path, 0700) == 0);
  CHECK_CODE(checkpoint_flush(cp), CHECKPOINT_IO, cp);
  CHECK_HAS(checkpoint_errmsg(cp), path);
  stats.size = sizeof stats;
  CHECK_CODE(checkpoint_get_stats(cp, &stats), CHECKPOINT_OK, cp);
  CHECK(stats.failed_commits == 1 && stats.pending == 1);
  CHECK_HAS(stats.last_error, path);
  checkpoint_stats_free(&stats);
  CHECK(stats.last_error == NULL);

  CHECK(rmdir(path) == 0);
  CHECK_CODE(checkpoint_flush(cp), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_get_stats(cp, &stats), CHECKPOINT_OK, cp);
  CHECK(stats.last_error == NULL && stats.pending == 0 && stats.failed_commits == 1);
  checkpoint_stats_free(&stats);
  CHECK(stored_count(path) == 1);

  CHECK_CODE(checkpoint_persist(cp, "b", 2, 0, 0, NULL), CHECKPOINT_OK, cp);
  CHECK(remove(path) == 0 && mkdir(path, 0700) == 0);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_IO, NULL);
  CHECK_HAS(checkpoint_errmsg(NULL), path);
  CHECK(rmdir(path) == 0);
}

/* ---- Threads -------------------------------------------------------------- */

enum { kThreads = 4, kNamesEach = 500 };

static checkpoint* shared_cp;
static pthread_barrier_t barrier;

/* Each thread fails its own way, waits for the others to fail theirs, and
 * still finds its own message. */
static void* fail_own_way(void* arg) {
  long id = (long)arg;
  char name[64], expected[96];
  checkpoint_state state;
  snprintf(name, sizeof name, "missing-%ld", id);
  snprintf(expected, sizeof expected, "no state named \"%s\"", name);
  CHECK_CODE(checkpoint_get(shared_cp, name, &state), CHECKPOINT_NOT_FOUND, shared_cp);
  CHECK_CODE(checkpoint_flush(NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  pthread_barrier_wait(&barrier);
  CHECK_HAS(checkpoint_errmsg(shared_cp), expected);
  CHECK_HAS(checkpoint_errmsg(NULL), "checkpoint_flush: the handle is NULL");
  return NULL;
}

static void errors_per_thread(void) {
  char path[PATH_MAX];
  pthread_t threads[kThreads];
  long i;
  shared_cp = open_or_die(in_dir(path, sizeof path, "state.yml"), NULL);
  pthread_barrier_init(&barrier, NULL, kThreads);
  for (i = 0; i < kThreads; ++i) pthread_create(&threads[i], NULL, fail_own_way, (void*)i);
  for (i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&barrier);
  CHECK_STR(checkpoint_errmsg(shared_cp), ""); /* this thread failed nothing on it */
  CHECK_CODE(checkpoint_close(shared_cp), CHECKPOINT_OK, NULL);
}

static void* persist_many(void* arg) {
  long id = (long)arg;
  char name[64];
  int i;
  checkpoint_state_list list;
  checkpoint_stats stats;
  for (i = 0; i < kNamesEach; ++i) {
    snprintf(name, sizeof name, "thread-%ld-stream-%d", id, i);
    CHECK_CODE(checkpoint_persist(shared_cp, name, (uint64_t)i, 1512486962, 0, name), CHECKPOINT_OK,
               shared_cp);
    if (i % 100 == 0) { /* readers beside the writers */
      CHECK_CODE(checkpoint_states(shared_cp, &list), CHECKPOINT_OK, shared_cp);
      checkpoint_state_list_free(&list);
      stats.size = sizeof stats;
      CHECK_CODE(checkpoint_get_stats(shared_cp, &stats), CHECKPOINT_OK, shared_cp);
      checkpoint_stats_free(&stats);
    }
  }
  return NULL;
}

static void threads(void) {
  char path[PATH_MAX];
  pthread_t workers[kThreads];
  checkpoint_state_list list;
  long i;
  shared_cp = open_or_die(in_dir(path, sizeof path, "state.db"), NULL);
  for (i = 0; i < kThreads; ++i) pthread_create(&workers[i], NULL, persist_many, (void*)i);
  for (i = 0; i < kThreads; ++i) pthread_join(workers[i], NULL);
  CHECK_CODE(checkpoint_states(shared_cp, &list), CHECKPOINT_OK, shared_cp);
  CHECK(list.count == kThreads * kNamesEach);
  checkpoint_state_list_free(&list);
  CHECK_CODE(checkpoint_close(shared_cp), CHECKPOINT_OK, NULL);
  CHECK(stored_count(path) == kThreads * kNamesEach);
}

/* ---- Without a handle ------------------------------------------------------ */

static void convert(void) {
  char yaml[PATH_MAX], db[PATH_MAX], uri[PATH_MAX + 16];
  checkpoint* cp = open_or_die(in_dir(yaml, sizeof yaml, "state.yml"), NULL);
  checkpoint_state_list from, to;
  int64_t from_seconds, to_seconds;
  uint32_t from_nanos, to_nanos;
  char* err = NULL;
  size_t i;
  snprintf(uri, sizeof uri, "sqlite:%s", in_dir(db, sizeof db, "state.db"));
  CHECK_CODE(checkpoint_persist(cp, "a", 1, 1512486962, 5, "mark"), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_persist(cp, "b", UINT64_MAX, MIN_SECONDS, 0, NULL), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);

  CHECK_CODE(checkpoint_convert(yaml, uri, 0, &err), CHECKPOINT_OK, NULL);
  CHECK(err == NULL);
  CHECK_CODE(checkpoint_load(yaml, &from, &from_seconds, &from_nanos, NULL), CHECKPOINT_OK, NULL);
  CHECK_CODE(checkpoint_load(uri, &to, &to_seconds, &to_nanos, NULL), CHECKPOINT_OK, NULL);
  CHECK(from.count == 2 && to.count == 2);
  for (i = 0; i < from.count && i < to.count; ++i) {
    check_state(&to.states[i], from.states[i].name, from.states[i].record_number,
                from.states[i].unix_seconds, from.states[i].nanos, from.states[i].bookmark);
  }
  CHECK(from_seconds == to_seconds && from_nanos == to_nanos);
  checkpoint_state_list_free(&from);
  checkpoint_state_list_free(&to);

  /* A destination that holds states is replaced only when asked. */
  cp = open_or_die(yaml, NULL);
  CHECK_CODE(checkpoint_remove(cp, "a"), CHECKPOINT_OK, cp);
  CHECK_CODE(checkpoint_close(cp), CHECKPOINT_OK, NULL);
  CHECK_CODE(checkpoint_convert(yaml, uri, 0, &err), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_HAS(err, "already holds 2 states");
  checkpoint_free(err);
  CHECK_CODE(checkpoint_convert(yaml, uri, 2, NULL), CHECKPOINT_INVALID_ARGUMENT, NULL);
  CHECK_CODE(checkpoint_convert(yaml, uri, CHECKPOINT_CONVERT_REPLACE, NULL), CHECKPOINT_OK, NULL);
  CHECK_CODE(checkpoint_load(uri, &to, NULL, NULL, NULL), CHECKPOINT_OK, NULL);
  CHECK(to.count == 1);
  if (to.count == 1) check_state(&to.states[0], "b", UINT64_MAX, MIN_SECONDS, 0, "");
  checkpoint_state_list_free(&to);
}

static void backends(void) {
  checkpoint_backend_list list;
  size_t i;
  int yaml = 0, memory = 0;
  CHECK_CODE(checkpoint_backends(&list), CHECKPOINT_OK, NULL);
  for (i = 0; i < list.count; ++i) {
    const checkpoint_backend* b = &list.backends[i];
    CHECK(b->scheme && b->description && b->options && b->extensions);
    if (i > 0) CHECK(strcmp(list.backends[i - 1].scheme, b->scheme) < 0);
    if (strcmp(b->scheme, "yaml") == 0) {
      yaml = 1;
      CHECK_HAS(b->extensions, ".yml");
      CHECK_HAS(b->options, "sync");
    }
    if (strcmp(b->scheme, "memory") == 0) memory = 1;
  }
  CHECK(yaml && memory);
  checkpoint_backend_list_free(&list);
  CHECK(list.backends == NULL && list.count == 0);
}

static void version(void) {
  char text[64];
  snprintf(text, sizeof text, "%d.%d.%d", CHECKPOINT_VERSION_MAJOR, CHECKPOINT_VERSION_MINOR,
           CHECKPOINT_VERSION_PATCH);
  CHECK(checkpoint_version() == CHECKPOINT_VERSION);
  CHECK_STR(checkpoint_version_string(), CHECKPOINT_VERSION_STRING);
  CHECK_STR(checkpoint_version_string(), text);
}

static void strerror_names(void) {
  CHECK_STR(checkpoint_strerror(CHECKPOINT_OK), "ok");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_INVALID_ARGUMENT), "invalid_argument");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_INVALID_CONFIG), "invalid_config");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_NOT_FOUND), "not_found");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_CORRUPT), "corrupt");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_IO), "io");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_LOCKED), "locked");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_CLOSED), "closed");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_UNSUPPORTED), "unsupported");
  CHECK_STR(checkpoint_strerror(CHECKPOINT_NO_MEMORY), "no_memory");
  CHECK_STR(checkpoint_strerror(-1), "unknown");
  /* The codes the issue fixes. */
  CHECK(CHECKPOINT_OK == 0 && CHECKPOINT_INVALID_ARGUMENT == 1 && CHECKPOINT_UNSUPPORTED == 8);
}

static const struct {
  const char* name;
  void (*run)(void);
} cases[] = {
    {"round_trip", round_trip},
    {"winlogbeat_file", winlogbeat_file},
    {"remove_state", remove_state},
    {"null_arguments", null_arguments},
    {"invalid_utf8", invalid_utf8},
    {"bad_times", bad_times},
    {"shut_down_handle", shut_down_handle},
    {"second_writer", second_writer},
    {"bad_stores", bad_stores},
    {"options", options},
    {"max_updates", max_updates},
    {"stats", stats},
    {"failed_commits", failed_commits},
    {"errors_per_thread", errors_per_thread},
    {"threads", threads},
    {"convert", convert},
    {"backends", backends},
    {"version", version},
    {"strerror_names", strerror_names},
};

int main(int argc, char** argv) {
  size_t i;
  int ran = 0;
  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) continue;
    make_dir();
    cases[i].run();
    remove_dir();
    ++ran;
  }
  if (ran == 0) {
    fprintf(stderr, "no case named %s\n", argc > 1 ? argv[1] : "(none)");
    return 2;
  }
  if (failures > 0) fprintf(stderr, "%d checks failed\n", failures);
  return failures == 0 ? 0 : 1;
}
