/* lines:PATH, a checkpoint backend written in plain C as a plugin
 * (checkpoint/plugin.h). It uses the C library and POSIX only, and links
 * nothing of checkpoint: the header is all it needs.
 *
 *   checkpointctl --plugin ./liblines_plugin.so convert state.yml lines:/var/lib/x/state.lines
 *
 * The store is one text file, rewritten whole by each commit: written to
 * PATH.new, synced, renamed over PATH, and the directory synced, so that a
 * crash leaves the old file or the new one. A writer holds flock() on
 * PATH.lock from opening to closing; a reader locks and creates nothing.
 *
 *   checkpoint-lines 1
 *   update SECONDS NANOS
 *   state HEX(NAME) RECORD_NUMBER SECONDS NANOS HEX(BOOKMARK)|- CHANGED_SECONDS CHANGED_NANOS
 *   ...
 *   end STATE_COUNT CRC32
 *
 * Names and bookmarks are written in hexadecimal, so that any bytes (a NUL,
 * a line break) cross exactly; the states are sorted by name; the CRC-32 of
 * every byte before the "end" line catches damage, which is reported as
 * CHECKPOINT_CORRUPT. */
#define _GNU_SOURCE /* O_CLOEXEC, O_DIRECTORY, flock() */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint/plugin.h"

#define MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

typedef struct lines_store {
  char* path;  /* the store's file */
  char* label; /* "lines store PATH", the start of every message */
  int mode;
  int lock_fd; /* a writer's PATH.lock; -1 for a reader */
} lines_store;

/* One state, its strings owned (malloc). */
typedef struct state {
  char* name;
  size_t name_size;
  uint64_t record_number;
  int64_t seconds;
  uint32_t nanos;
  char* bookmark;
  size_t bookmark_size;
  int64_t changed_seconds; /* the state's update time: when a commit last changed it */
  uint32_t changed_nanos;
} state;

typedef struct states {
  state* items;
  size_t count;
  size_t capacity;
  int64_t update_seconds;
  uint32_t update_nanos;
} states;

/* ---- Errors --------------------------------------------------------- */

static int fail(checkpoint_plugin_error* err, int code, const char* format, ...) {
  if (err != NULL && err->message != NULL && err->capacity > 0) {
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, err->capacity, format, args);
    va_end(args);
  }
  return code;
}

static int fail_errno(checkpoint_plugin_error* err, const lines_store* s, const char* what,
                      const char* path) {
  int error = errno;
  return fail(err, CHECKPOINT_IO, "%s: cannot %s %s: %s", s->label, what, path, strerror(error));
}

static char* concat(const char* a, const char* b) {
  size_t na = strlen(a), nb = strlen(b);
  char* out = malloc(na + nb + 1);
  if (out == NULL) return NULL;
  memcpy(out, a, na);
  memcpy(out + na, b, nb + 1);
  return out;
}

/* ---- States ---------------------------------------------------------- */

/* Bytewise order, as std::string compares. */
static int compare(const char* a, size_t na, const char* b, size_t nb) {
  size_t n = na < nb ? na : nb;
  int c = n == 0 ? 0 : memcmp(a, b, n);
  if (c != 0) return c;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

static void free_states(states* list) {
  for (size_t i = 0; i < list->count; ++i) {
    free(list->items[i].name);
    free(list->items[i].bookmark);
  }
  free(list->items);
  list->items = NULL;
  list->count = list->capacity = 0;
}

static char* copy_bytes(const char* data, size_t size) {
  char* out = malloc(size + 1);
  if (out == NULL) return NULL;
  if (size > 0) memcpy(out, data, size);
  out[size] = '\0';
  return out;
}

/* Appends a copy of `s`; 0 or -1 (out of memory). */
static int push_state(states* list, const state* s) {
  if (list->count == list->capacity) {
    size_t capacity = list->capacity == 0 ? 16 : 2 * list->capacity;
    state* items = realloc(list->items, capacity * sizeof *items);
    if (items == NULL) return -1;
    list->items = items;
    list->capacity = capacity;
  }
  state copy = *s;
  copy.name = copy_bytes(s->name, s->name_size);
  copy.bookmark = copy_bytes(s->bookmark, s->bookmark_size);
  if (copy.name == NULL || copy.bookmark == NULL) {
    free(copy.name);
    free(copy.bookmark);
    return -1;
  }
  list->items[list->count++] = copy;
  return 0;
}

static int valid_time(int64_t seconds, uint32_t nanos) {
  return seconds >= MIN_SECONDS && seconds <= MAX_SECONDS && nanos < 1000000000u;
}

/* ---- The file format ------------------------------------------------- */

static uint32_t crc32(const char* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= (unsigned char)data[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1u) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

typedef struct text {
  char* data;
  size_t size;
  size_t capacity;
} text;

static int append(text* t, const char* data, size_t size) {
  if (t->size + size + 1 > t->capacity) {
    size_t capacity = t->capacity == 0 ? 4096 : t->capacity;
    while (capacity < t->size + size + 1) capacity *= 2;
    char* grown = realloc(t->data, capacity);
    if (grown == NULL) return -1;
    t->data = grown;
    t->capacity = capacity;
  }
  if (size > 0) memcpy(t->data + t->size, data, size);
  t->size += size;
  t->data[t->size] = '\0';
  return 0;
}

static int append_hex(text* t, const char* data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < size; ++i) {
    char pair[2] = {digits[(unsigned char)data[i] >> 4], digits[(unsigned char)data[i] & 15]};
    if (append(t, pair, 2) != 0) return -1;
  }
  return 0;
}

static int append_format(text* t, const char* format, ...) {
  char buffer[128];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return n < 0 ? -1 : append(t, buffer, (size_t)n);
}

/* The file's text for `list`; 0 or -1 (out of memory). */
static int format_file(const states* list, text* out) {
  if (append_format(out, "checkpoint-lines 1\nupdate %lld %u\n", (long long)list->update_seconds,
                    (unsigned)list->update_nanos) != 0) {
    return -1;
  }
  for (size_t i = 0; i < list->count; ++i) {
    const state* s = &list->items[i];
    if (append(out, "state ", 6) != 0 || append_hex(out, s->name, s->name_size) != 0 ||
        append_format(out, " %llu %lld %u ", (unsigned long long)s->record_number,
                      (long long)s->seconds, (unsigned)s->nanos) != 0 ||
        (s->bookmark_size == 0 ? append(out, "-", 1)
                               : append_hex(out, s->bookmark, s->bookmark_size)) != 0 ||
        append_format(out, " %lld %u\n", (long long)s->changed_seconds,
                      (unsigned)s->changed_nanos) != 0) {
      return -1;
    }
  }
  return append_format(out, "end %zu %08x\n", list->count, crc32(out->data, out->size));
}

/* A field of a line: the bytes up to the next space or the line's end. */
typedef struct cursor {
  const char* at;
  const char* end; /* of the line */
} cursor;

static int next_field(cursor* c, const char** field, size_t* size) {
  if (c->at >= c->end) return -1;
  const char* space = memchr(c->at, ' ', (size_t)(c->end - c->at));
  const char* stop = space != NULL ? space : c->end;
  if (stop == c->at) return -1; /* an empty field */
  *field = c->at;
  *size = (size_t)(stop - c->at);
  c->at = space != NULL ? space + 1 : c->end;
  return 0;
}

static int parse_u64(const char* s, size_t n, uint64_t* out) {
  uint64_t value = 0;
  if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) return -1;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    uint64_t digit = (uint64_t)(s[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return -1;
    value = value * 10 + digit;
  }
  *out = value;
  return 0;
}

static int parse_time(cursor* c, int64_t* seconds, uint32_t* nanos) {
  const char* f;
  size_t n;
  uint64_t magnitude, ns;
  if (next_field(c, &f, &n) != 0) return -1;
  int negative = f[0] == '-';
  if (parse_u64(f + negative, n - (size_t)negative, &magnitude) != 0) return -1;
  if (magnitude > (uint64_t)MAX_SECONDS - (uint64_t)MIN_SECONDS) return -1;
  *seconds = negative ? -(int64_t)magnitude : (int64_t)magnitude;
  if (next_field(c, &f, &n) != 0 || parse_u64(f, n, &ns) != 0 || ns >= 1000000000u) return -1;
  *nanos = (uint32_t)ns;
  return valid_time(*seconds, *nanos) ? 0 : -1;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes hex into a new allocation; -1 if malformed, -2 out of memory. */
static int parse_hex(const char* s, size_t n, char** out, size_t* size) {
  if (n % 2 != 0) return -1;
  char* bytes = malloc(n / 2 + 1);
  if (bytes == NULL) return -2;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) {
      free(bytes);
      return -1;
    }
    bytes[i / 2] = (char)(hi * 16 + lo);
  }
  bytes[n / 2] = '\0';
  *out = bytes;
  *size = n / 2;
  return 0;
}

/* Parses a whole file into `list`. */
static int parse_file(const lines_store* s, const char* data, size_t size, states* list,
                      checkpoint_plugin_error* err) {
  const char* at = data;
  const char* end = data + size;
  size_t line = 0;
  int seen_end = 0;
  while (at < end) {
    const char* newline = memchr(at, '\n', (size_t)(end - at));
    ++line;
    if (newline == NULL) {
      return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: cut short (no line break)", s->label,
                  line);
    }
    if (seen_end) {
      return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: text after the end line", s->label, line);
    }
    cursor c = {at, newline};
    const char* f;
    size_t n;
    if (next_field(&c, &f, &n) != 0) {
      return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: empty", s->label, line);
    }
    if (line == 1) {
      uint64_t version;
      if (n != 16 || memcmp(f, "checkpoint-lines", 16) != 0 || next_field(&c, &f, &n) != 0 ||
          parse_u64(f, n, &version) != 0 || c.at != c.end) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: line 1: not a checkpoint-lines file", s->label);
      }
      if (version != 1) {
        return fail(err, CHECKPOINT_UNSUPPORTED,
                    "%s: format version %llu is newer than this plugin's (1)", s->label,
                    (unsigned long long)version);
      }
    } else if (line == 2) {
      if (n != 6 || memcmp(f, "update", 6) != 0 ||
          parse_time(&c, &list->update_seconds, &list->update_nanos) != 0 || c.at != c.end) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: line 2: bad update time", s->label);
      }
    } else if (n == 5 && memcmp(f, "state", 5) == 0) {
      state st = {0};
      const char *name, *bookmark;
      size_t name_n, bookmark_n;
      uint64_t number;
      if (next_field(&c, &name, &name_n) != 0 || next_field(&c, &f, &n) != 0 ||
          parse_u64(f, n, &number) != 0 || parse_time(&c, &st.seconds, &st.nanos) != 0 ||
          next_field(&c, &bookmark, &bookmark_n) != 0 ||
          parse_time(&c, &st.changed_seconds, &st.changed_nanos) != 0 || c.at != c.end) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: malformed state", s->label, line);
      }
      st.record_number = number;
      int r = parse_hex(name, name_n, &st.name, &st.name_size);
      if (r == 0 && !(bookmark_n == 1 && bookmark[0] == '-')) {
        r = parse_hex(bookmark, bookmark_n, &st.bookmark, &st.bookmark_size);
        if (r != 0) free(st.name);
      }
      if (r == -2) return fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
      if (r != 0 || st.name_size == 0) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: bad name or bookmark", s->label, line);
      }
      int ordered = list->count == 0 ||
                    compare(list->items[list->count - 1].name,
                            list->items[list->count - 1].name_size, st.name, st.name_size) < 0;
      r = ordered ? push_state(list, &st) : 0;
      free(st.name);
      free(st.bookmark);
      if (!ordered) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: names out of order or repeated",
                    s->label, line);
      }
      if (r != 0) return fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
    } else if (n == 3 && memcmp(f, "end", 3) == 0) {
      uint64_t count, crc;
      const char* crc_text;
      size_t crc_n;
      if (next_field(&c, &f, &n) != 0 || parse_u64(f, n, &count) != 0 ||
          next_field(&c, &crc_text, &crc_n) != 0 || crc_n != 8 || c.at != c.end) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: malformed end line", s->label, line);
      }
      crc = 0;
      for (size_t i = 0; i < 8; ++i) {
        int v = hex_value(crc_text[i]);
        if (v < 0) {
          return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: malformed checksum", s->label, line);
        }
        crc = crc * 16 + (uint64_t)v;
      }
      if (crc != crc32(data, (size_t)(at - data))) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: checksum mismatch (the file is damaged)",
                    s->label);
      }
      if (count != list->count) {
        return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: %llu states announced, %zu read",
                    s->label, line, (unsigned long long)count, list->count);
      }
      seen_end = 1;
    } else {
      return fail(err, CHECKPOINT_CORRUPT, "%s: line %zu: unknown record", s->label, line);
    }
    at = newline + 1;
  }
  if (!seen_end) {
    return fail(err, CHECKPOINT_CORRUPT, "%s: cut short (no end line)", s->label);
  }
  return CHECKPOINT_OK;
}

/* Reads the store's file into `list`; a missing file is no states for a
 * writer (which has not committed yet) and CHECKPOINT_NOT_FOUND for a
 * reader. */
static int read_states(const lines_store* s, states* list, checkpoint_plugin_error* err) {
  list->update_seconds = MIN_SECONDS;
  list->update_nanos = 0;
  int fd = open(s->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && s->mode == CHECKPOINT_PLUGIN_WRITE) return CHECKPOINT_OK;
    if (errno == ENOENT) {
      return fail(err, CHECKPOINT_NOT_FOUND, "%s: no such store (%s does not exist)", s->label,
                  s->path);
    }
    return fail_errno(err, s, "open", s->path);
  }
  text data = {0};
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int r = fail_errno(err, s, "read", s->path);
      close(fd);
      free(data.data);
      return r;
    }
    if (n == 0) break;
    if (append(&data, buffer, (size_t)n) != 0) {
      close(fd);
      free(data.data);
      return fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
    }
  }
  close(fd);
  int r = data.size == 0 ? fail(err, CHECKPOINT_CORRUPT, "%s: the file is empty", s->label)
                         : parse_file(s, data.data, data.size, list, err);
  free(data.data);
  if (r != CHECKPOINT_OK) free_states(list);
  return r;
}

/* ---- Durable writes -------------------------------------------------- */

static int sync_directory(const lines_store* s, const char* dir, checkpoint_plugin_error* err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno(err, s, "open directory", dir);
  int r = fsync(fd) == 0 ? CHECKPOINT_OK : fail_errno(err, s, "sync directory", dir);
  close(fd);
  return r;
}

/* The directory part of `path` ("." if none), a new allocation. */
static char* directory_of(const char* path) {
  const char* slash = strrchr(path, '/');
  if (slash == NULL) return copy_bytes(".", 1);
  if (slash == path) return copy_bytes("/", 1);
  return copy_bytes(path, (size_t)(slash - path));
}

/* Makes `dir` and its missing parents, mode 0750 whatever the umask, each
 * new entry synced in its parent. */
static int make_directories(const lines_store* s, const char* dir, checkpoint_plugin_error* err) {
  struct stat st;
  if (stat(dir, &st) == 0) {
    return S_ISDIR(st.st_mode)
               ? CHECKPOINT_OK
               : fail(err, CHECKPOINT_IO, "%s: %s is not a directory", s->label, dir);
  }
  if (errno != ENOENT) return fail_errno(err, s, "look at", dir);
  char* parent = directory_of(dir);
  if (parent == NULL) return fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
  int r = strcmp(parent, dir) == 0 ? CHECKPOINT_OK : make_directories(s, parent, err);
  if (r == CHECKPOINT_OK) {
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
      r = fail_errno(err, s, "create directory", dir);
    } else if (chmod(dir, 0750) != 0) {
      r = fail_errno(err, s, "set the mode of", dir);
    } else {
      r = sync_directory(s, parent, err);
    }
  }
  free(parent);
  return r;
}

static int write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

/* PATH.new written and synced, renamed over PATH, the directory synced. */
static int write_file(const lines_store* s, const text* data, checkpoint_plugin_error* err) {
  char* temporary = concat(s->path, ".new");
  char* dir = directory_of(s->path);
  int r = CHECKPOINT_OK;
  if (temporary == NULL || dir == NULL) {
    r = fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
    goto done;
  }
  int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    r = fail_errno(err, s, "create", temporary);
    goto done;
  }
  if (fchmod(fd, 0600) != 0) {
    r = fail_errno(err, s, "set the mode of", temporary);
  } else if (write_all(fd, data->data, data->size) != 0) {
    r = fail_errno(err, s, "write", temporary);
  } else if (fsync(fd) != 0) {
    r = fail_errno(err, s, "sync", temporary);
  }
  if (close(fd) != 0 && r == CHECKPOINT_OK) r = fail_errno(err, s, "close", temporary);
  if (r == CHECKPOINT_OK && rename(temporary, s->path) != 0) {
    r = fail_errno(err, s, "rename to the store", temporary);
  }
  if (r != CHECKPOINT_OK) {
    unlink(temporary);
  } else {
    r = sync_directory(s, dir, err);
  }
done:
  free(temporary);
  free(dir);
  return r;
}

/* ---- The backend's operations ---------------------------------------- */

static void lines_close(void* handle) {
  lines_store* s = handle;
  if (s == NULL) return;
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock() */
  free(s->path);
  free(s->label);
  free(s);
}

static int lines_open(void* backend_data, const checkpoint_plugin_uri* uri, int mode,
                      int create_if_missing, void** store, checkpoint_plugin_error* err) {
  (void)backend_data;
  if (uri->target[0] == '\0') {
    return fail(err, CHECKPOINT_INVALID_CONFIG, "config string \"%s\": no path", uri->text);
  }
  lines_store* s = calloc(1, sizeof *s);
  if (s == NULL) return fail(err, CHECKPOINT_NO_MEMORY, "out of memory");
  s->lock_fd = -1;
  s->mode = mode;
  s->path = copy_bytes(uri->target, strlen(uri->target));
  s->label = concat("lines store ", uri->target);
  if (s->path == NULL || s->label == NULL) {
    lines_close(s);
    return fail(err, CHECKPOINT_NO_MEMORY, "out of memory");
  }
  struct stat st;
  int exists = stat(s->path, &st) == 0;
  if (!exists && errno != ENOENT) {
    int r = fail_errno(err, s, "look at", s->path);
    lines_close(s);
    return r;
  }
  if (!exists && (mode != CHECKPOINT_PLUGIN_WRITE || !create_if_missing)) {
    int r =
        fail(err, CHECKPOINT_NOT_FOUND, "%s: no such store (%s does not exist)", s->label, s->path);
    lines_close(s);
    return r;
  }
  if (mode == CHECKPOINT_PLUGIN_WRITE) {
    /* The writer lock first: what a writer reads is what it overwrites. */
    char* dir = directory_of(s->path);
    char* lock = concat(s->path, ".lock");
    int r = dir == NULL || lock == NULL
                ? fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label)
                : make_directories(s, dir, err);
    if (r == CHECKPOINT_OK) {
      s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (s->lock_fd < 0) {
        r = fail_errno(err, s, "open the lock file", lock);
      } else if (fchmod(s->lock_fd, 0600) != 0) {
        r = fail_errno(err, s, "set the mode of", lock);
      } else if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        r = errno == EWOULDBLOCK
                ? fail(err, CHECKPOINT_LOCKED, "%s: locked by another writer (%s)", s->label, lock)
                : fail_errno(err, s, "lock", lock);
      }
    }
    free(dir);
    free(lock);
    if (r != CHECKPOINT_OK) {
      lines_close(s);
      return r;
    }
  }
  *store = s;
  return CHECKPOINT_OK;
}

static int lines_scan(void* handle, checkpoint_plugin_sink sink, void* sink_data,
                      checkpoint_plugin_time* update_time, checkpoint_plugin_error* err) {
  const lines_store* s = handle;
  states list = {0};
  int r = read_states(s, &list, err);
  if (r != CHECKPOINT_OK) return r;
  for (size_t i = 0; i < list.count && r == CHECKPOINT_OK; ++i) {
    const state* st = &list.items[i];
    checkpoint_plugin_state out = {{st->name, st->name_size},
                                   st->record_number,
                                   {st->seconds, st->nanos},
                                   {st->bookmark, st->bookmark_size},
                                   {st->changed_seconds, st->changed_nanos}};
    r = sink(sink_data, &out);
  }
  update_time->seconds = list.update_seconds;
  update_time->nanos = list.update_nanos;
  free_states(&list);
  return r;
}

/* Whether `name` is one of the sorted `removed`. */
static int is_removed(const checkpoint_plugin_changes* changes, const char* name, size_t size) {
  size_t lo = 0, hi = changes->removed_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const checkpoint_plugin_bytes* r = &changes->removed[mid];
    int c = compare(r->data, r->size, name, size);
    if (c == 0) return 1;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

static int lines_commit(void* handle, const checkpoint_plugin_changes* changes,
                        checkpoint_plugin_error* err) {
  const lines_store* s = handle;
  if (s->mode != CHECKPOINT_PLUGIN_WRITE) {
    return fail(err, CHECKPOINT_INVALID_ARGUMENT, "%s: opened for reading; cannot commit",
                s->label);
  }
  if (!valid_time(changes->update_time.seconds, changes->update_time.nanos)) {
    return fail(err, CHECKPOINT_INVALID_ARGUMENT, "%s: update time out of range", s->label);
  }
  states old = {0}, merged = {0};
  int r = read_states(s, &old, err);
  if (r != CHECKPOINT_OK) return r;
  /* Merge the old states (less the removed) with the upserted: both sorted. */
  size_t i = 0, j = 0;
  while (r == CHECKPOINT_OK && (i < old.count || j < changes->upserted_count)) {
    const state* o = i < old.count ? &old.items[i] : NULL;
    const checkpoint_plugin_state* u = j < changes->upserted_count ? &changes->upserted[j] : NULL;
    int c = o == NULL   ? 1
            : u == NULL ? -1
                        : compare(o->name, o->name_size, u->name.data, u->name.size);
    if (c < 0) {
      if (!is_removed(changes, o->name, o->name_size) && push_state(&merged, o) != 0) {
        r = fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
      }
      ++i;
      continue;
    }
    if (c == 0) ++i; /* replaced */
    if (u->name.size == 0 || !valid_time(u->timestamp.seconds, u->timestamp.nanos) ||
        !valid_time(u->update_time.seconds, u->update_time.nanos)) {
      r = fail(err, CHECKPOINT_INVALID_ARGUMENT,
               "%s: a state with an empty name or a time out "
               "of range",
               s->label);
      break;
    }
    state st = {(char*)u->name.data,  u->name.size,           u->record_number,
                u->timestamp.seconds, u->timestamp.nanos,     (char*)u->bookmark.data,
                u->bookmark.size,     u->update_time.seconds, u->update_time.nanos};
    if (push_state(&merged, &st) != 0) {
      r = fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
    }
    ++j;
  }
  merged.update_seconds = changes->update_time.seconds;
  merged.update_nanos = changes->update_time.nanos;
  text data = {0};
  if (r == CHECKPOINT_OK && format_file(&merged, &data) != 0) {
    r = fail(err, CHECKPOINT_NO_MEMORY, "%s: out of memory", s->label);
  }
  if (r == CHECKPOINT_OK) r = write_file(s, &data, err);
  free(data.data);
  free_states(&old);
  free_states(&merged);
  return r;
}

static const char* const extensions[] = {".lines"};

static const checkpoint_plugin_backend lines_backend = {
    sizeof(checkpoint_plugin_backend),
    CHECKPOINT_PLUGIN_ABI_VERSION,
    "lines",
    "a text file, one line per state (an example plugin written in C)",
    NULL,
    0,
    extensions,
    1,
    NULL,
    lines_open,
    lines_close,
    lines_scan,
    lines_commit,
    NULL, /* check: the contract's default */
    NULL, /* salvage: the contract's default */
};

static const checkpoint_plugin_backend* const backends[] = {&lines_backend};

static const checkpoint_plugin plugin = {sizeof(checkpoint_plugin), CHECKPOINT_PLUGIN_ABI_VERSION,
                                         backends, 1};

CHECKPOINT_PLUGIN_ENTRY { return &plugin; }
