#include "backends/lmdb/lmdb_env.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <utility>

#include "backends/lmdb/lmdb_encoding.hpp"
#include "backends/lmdb/lmdb_file_check.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/errors.hpp"

namespace checkpoint::backends::lmdb {
namespace {

constexpr unsigned kOpenFlags = MDB_NOSUBDIR | MDB_NOTLS;

[[noreturn]] void throw_errno(ErrorCode code, std::string_view store, const std::string& what,
                              int err) {
  throw Error(code, std::string(store) + ": " + what + ": " + std::strerror(err));
}

MDB_val as_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

// Every environment open in this process, by the data file's identity.
struct Registry {
  struct Entry {
    Environment* env;
    std::weak_ptr<Environment> weak;
    pid_t pid;
  };
  std::mutex mutex;
  std::condition_variable closed;  // an environment left the table
  std::map<std::pair<dev_t, ino_t>, Entry> open;
};

Registry& registry() {
  // Never destroyed: stores may be closed during static destruction.
  static Registry* r = new Registry;
  return *r;
}

void fsync_directory(const std::filesystem::path& dir, std::string_view store) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno(ErrorCode::io, store, "cannot open directory " + dir.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw_errno(ErrorCode::io, store, "cannot fsync directory " + dir.string(), err);
}

// A file system this close to full cannot take another commit's pages.
constexpr std::uint64_t kNearlyFull = 64 << 10;

// LMDB turns a write that the file system cut short into EIO (only a write
// that fails outright keeps its errno), so a full disk reads "Input/output
// error". When the file system of `file` has (next to) no space left, that
// is the cause: ENOSPC. Any other code is returned as it is.
int with_full_disk(int rc, const std::filesystem::path& file) {
  if (rc != EIO) return rc;
  const auto dir = file.parent_path();
  struct statvfs fs;
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return rc;
  // Root may also write the blocks the file system keeps in reserve.
  const std::uint64_t blocks = ::geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
  return blocks * fs.f_frsize < kNearlyFull ? ENOSPC : rc;
}

// Closes an MDB_env when it goes out of scope.
struct EnvCloser {
  MDB_env* env = nullptr;
  ~EnvCloser() {
    if (env != nullptr) mdb_env_close(env);
  }
};

}  // namespace

void throw_mdb_error(int rc, std::string_view store, std::string_view what) {
  // LMDB's own codes are negative; the others are the system's errno.
  if (rc > 0) throw toolkit::system_error(ErrorCode::io, store, std::string(what), rc);
  ErrorCode code = ErrorCode::io;
  switch (rc) {
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_VALSIZE:
      code = ErrorCode::corrupt;
      break;
    case MDB_VERSION_MISMATCH:
      code = ErrorCode::unsupported;
      break;
    default:
      break;
  }
  throw Error(code, std::string(store) + ": " + std::string(what) + ": " + mdb_strerror(rc));
}

Environment::Environment(std::filesystem::path path, std::string store)
    : path_(std::move(path)), store_(std::move(store)) {}

Environment::~Environment() {
  // A parent's environment, inherited by fork(): LMDB must not touch it.
  if (pid_ != ::getpid()) return;
  if (!registered_) {
    if (env_ != nullptr) mdb_env_close(env_);
    return;
  }
  // Closed under the table's lock, so that no other environment on this
  // file opens before this one's locks are gone. (env_ is null if reopening
  // after an I/O error failed; the entry must go all the same.)
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  if (env_ != nullptr) mdb_env_close(env_);
  auto it = r.open.find({dev_, ino_});
  if (it != r.open.end() && it->second.env == this) r.open.erase(it);
  r.closed.notify_all();
}

std::shared_ptr<Environment> Environment::open(const std::filesystem::path& name,
                                               std::uint64_t map_size, Access access,
                                               bool create_if_missing,
                                               const toolkit::FileModes& modes) {
  std::string store = "lmdb store " + name.string();
  // Through a symlink, the file it leads to: LMDB names its lock file after
  // the path it is given, and readers and writers that come by different
  // names must share one (as they share the WriterLock beside that file).
  // A link whose target is missing is a store to create there.
  const std::filesystem::path path = toolkit::follow_symlinks(name, store);
  auto missing = [&] {
    return toolkit::store_error(ErrorCode::not_found, store,
                                "no such store (" + path.string() + " does not exist)");
  };
  auto check_kind = [&](const struct stat& st) {
    if (S_ISDIR(st.st_mode)) {
      throw Error(ErrorCode::invalid_config,
                  store +
                      ": is a directory; the target must be the data file itself "
                      "(LMDB's lock file is created beside it)");
    }
    if (!S_ISREG(st.st_mode)) {
      throw toolkit::store_error(ErrorCode::invalid_config, store,
                                 path.string() + " is not a regular file: it cannot hold a store");
    }
  };
  if (access == Access::read_unlocked) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) throw missing();
      throw_errno(ErrorCode::io, store, "cannot stat", errno);
    }
    check_kind(st);
    std::shared_ptr<Environment> env(new Environment(path, store));
    env->access_ = access;
    env->file_mode_ = modes.file;
    env->open_existing(map_size);
    return env;
  }
  if (access == Access::write && create_if_missing)
    toolkit::create_directories(path.parent_path(), store, modes.dir);
  auto& r = registry();
  std::unique_lock lock(r.mutex);
  for (;;) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) throw_errno(ErrorCode::io, store, "cannot stat", errno);
      if (access != Access::write || !create_if_missing) throw missing();
      create(path, store, map_size, modes.file);
      continue;
    }
    check_kind(st);
    auto it = r.open.find({st.st_dev, st.st_ino});
    if (it != r.open.end() && it->second.pid == ::getpid()) {
      if (auto env = it->second.weak.lock()) {
        env->ensure_map_size(map_size);
        if (access == Access::write) {
          std::unique_lock writable(env->txn_mutex_);
          if (env->access_ != Access::write) {
            env->access_ = Access::write;
            env->reopen(true);
          }
        }
        return env;
      }
      r.closed.wait(lock);  // its last user is closing it; open it anew afterwards
      continue;
    }
    std::shared_ptr<Environment> env(new Environment(path, store));
    env->access_ = access;
    env->file_mode_ = modes.file;
    env->open_existing(map_size);
    r.open.insert_or_assign({env->dev_, env->ino_}, Registry::Entry{env.get(), env, env->pid_});
    env->registered_ = true;
    return env;
  }
}

// Builds a complete, empty store under a temporary name and moves it to
// `path` without replacing anything there: a store file therefore always
// holds its databases and format version, and an empty or half-written
// file at `path` is damage, never a creation that was cut short.
void Environment::create(const std::filesystem::path& path, const std::string& store,
                         std::uint64_t map_size, mode_t file_mode) {
  const std::string tmp = path.string() + ".new-" + std::to_string(::getpid());
  const std::string tmp_lock = tmp + "-lock";
  auto remove_tmp = [&] {
    ::unlink(tmp.c_str());
    ::unlink(tmp_lock.c_str());
  };
  remove_tmp();  // left by a crash of an earlier process with this pid
  try {
    EnvCloser env;
    int rc = mdb_env_create(&env.env);
    if (rc != 0) throw_mdb_error(rc, store, "cannot create an environment handle");
    if ((rc = mdb_env_set_maxdbs(env.env, 2)) != 0 ||
        (rc = mdb_env_set_mapsize(env.env, map_size)) != 0 ||
        (rc = mdb_env_open(env.env, tmp.c_str(), kOpenFlags, file_mode)) != 0) {
      throw_mdb_error(rc, store, "cannot create " + tmp);
    }
    // The umask can only remove bits; this makes the mode exactly file_mode.
    mdb_filehandle_t fd;
    if (mdb_env_get_fd(env.env, &fd) == 0 && ::fchmod(fd, file_mode) != 0) {
      throw_errno(ErrorCode::io, store, "cannot chmod " + tmp, errno);
    }
    MDB_txn* txn;
    if ((rc = mdb_txn_begin(env.env, nullptr, 0, &txn)) != 0) {
      throw_mdb_error(rc, store, "cannot initialise " + tmp);
    }
    MDB_dbi states, meta;
    std::string version = encode_format_version(kFormatVersion);
    MDB_val key = as_val(kFormatVersionKey), value = as_val(version);
    if ((rc = mdb_dbi_open(txn, std::string(kStatesDb).c_str(), MDB_CREATE, &states)) != 0 ||
        (rc = mdb_dbi_open(txn, std::string(kMetaDb).c_str(), MDB_CREATE, &meta)) != 0 ||
        (rc = mdb_put(txn, meta, &key, &value, 0)) != 0) {
      mdb_txn_abort(txn);
      throw_mdb_error(rc, store, "cannot initialise " + tmp);
    }
    if ((rc = with_full_disk(mdb_txn_commit(txn), tmp)) != 0) {
      throw_mdb_error(rc, store, "cannot initialise " + tmp);
    }
  } catch (...) {
    remove_tmp();
    throw;
  }

  // Another process may have created the store meanwhile: then its file stays.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EINVAL || err == ENOSYS || err == ENOTSUP) {
      // No RENAME_NOREPLACE on this file system: link() does not replace either.
      err = ::link(tmp.c_str(), path.c_str()) == 0 ? 0 : errno;
    }
    if (err != 0 && err != EEXIST) {
      remove_tmp();
      throw_errno(ErrorCode::io, store, "cannot move " + tmp + " to " + path.string(), err);
    }
  }
  remove_tmp();
  auto dir = path.parent_path();
  fsync_directory(dir.empty() ? std::filesystem::path(".") : dir, store);
}

void Environment::copy_packed(const std::filesystem::path& to) {
  Transaction from(*this, false);
  MDB_envinfo info;
  if (int rc = mdb_env_info(env_, &info); rc != 0)
    throw_mdb_error(rc, store_, "cannot read the map size");
  EnvCloser env;
  int rc = mdb_env_create(&env.env);
  if (rc != 0) throw_mdb_error(rc, store_, "cannot create an environment handle");
  if ((rc = mdb_env_set_maxdbs(env.env, 2)) != 0 ||
      (rc = mdb_env_set_mapsize(env.env, info.me_mapsize)) != 0 ||
      (rc = mdb_env_open(env.env, to.c_str(), kOpenFlags | MDB_NOLOCK, file_mode_)) != 0) {
    throw_mdb_error(rc, store_, "cannot create " + to.string());
  }
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(env.env, &fd) == 0 && ::fchmod(fd, file_mode_) != 0) {
    throw_errno(ErrorCode::io, store_, "cannot chmod " + to.string(), errno);
  }
  MDB_txn* txn;
  if ((rc = mdb_txn_begin(env.env, nullptr, 0, &txn)) != 0) {
    throw_mdb_error(rc, store_, "cannot write " + to.string());
  }
  auto copy = [&](MDB_dbi source, const std::string& name) {
    MDB_dbi target;
    if (int rc2 = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &target); rc2 != 0) return rc2;
    MDB_cursor* cursor;
    if (int rc2 = mdb_cursor_open(from.get(), source, &cursor); rc2 != 0) return rc2;
    MDB_val key, value;
    int rc2 = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    while (rc2 == 0) {
      rc2 = mdb_put(txn, target, &key, &value, MDB_APPEND);
      if (rc2 == 0) rc2 = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    return rc2 == MDB_NOTFOUND ? 0 : rc2;
  };
  if ((rc = copy(states_, std::string(kStatesDb))) != 0 ||
      (rc = copy(meta_, std::string(kMetaDb))) != 0) {
    mdb_txn_abort(txn);
    throw_mdb_error(rc, store_, "cannot copy the environment to " + to.string());
  }
  if ((rc = with_full_disk(mdb_txn_commit(txn), to)) != 0) {
    throw_mdb_error(rc, store_, "cannot write " + to.string());
  }
}

unsigned Environment::open_flags() const {
  switch (access_) {
    case Access::write:
      return kOpenFlags;
    case Access::read:
      return kOpenFlags | MDB_RDONLY;
    case Access::read_unlocked:
      return kOpenFlags | MDB_RDONLY | MDB_NOLOCK;
  }
  return kOpenFlags;
}

// LMDB's lock file, which LMDB opens, truncates and writes itself: a
// FIFO, a symlink or a hard link there is refused before it does.
static void check_lock_file(const std::filesystem::path& path, Access access,
                            const std::string& store) {
  if (access != Access::read_unlocked)
    toolkit::check_companion_file(path.string() + "-lock", store);
}

void Environment::open_existing(std::uint64_t map_size) {
  check_lmdb_file(path_, store_);
  check_lock_file(path_, access_, store_);
  int rc = mdb_env_create(&env_);
  if (rc != 0) throw_mdb_error(rc, store_, "cannot create an environment handle");
  pid_ = ::getpid();
  if ((rc = mdb_env_set_maxdbs(env_, 2)) != 0 ||
      (rc = mdb_env_open(env_, path_.c_str(), open_flags(), file_mode_)) != 0) {
    mdb_env_close(env_);  // required after a failed mdb_env_open()
    env_ = nullptr;
    throw_mdb_error(rc, store_, "cannot open");
  }
  mdb_filehandle_t fd;
  struct stat st;
  if (mdb_env_get_fd(env_, &fd) != 0 || ::fstat(fd, &st) != 0) {
    throw_errno(ErrorCode::io, store_, "cannot stat", errno);
  }
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  if (static_cast<std::size_t>(mdb_env_get_maxkeysize(env_)) < kMaxDirectKeySize) {
    throw Error(ErrorCode::unsupported, store_ + ": this LMDB library allows keys of only " +
                                            std::to_string(mdb_env_get_maxkeysize(env_)) +
                                            " bytes; the format needs " +
                                            std::to_string(kMaxDirectKeySize));
  }
  // Reader slots of crashed processes would pin old pages forever.
  if (access_ == Access::write) {
    int dead = 0;
    mdb_reader_check(env_, &dead);
  }
  ensure_map_size(map_size);
  locate_map();
  check_format();
}

// Opens the two named databases (their handles serve every later
// transaction) and checks the format version.
void Environment::check_format() {
  Transaction txn(*this, false);
  int rc = mdb_dbi_open(txn.get(), std::string(kStatesDb).c_str(), 0, &states_);
  if (rc == 0) rc = mdb_dbi_open(txn.get(), std::string(kMetaDb).c_str(), 0, &meta_);
  if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
    throw Error(ErrorCode::corrupt, store_ +
                                        ": an LMDB environment, but not a checkpoint store (no "
                                        "\"states\" and \"meta\" databases)");
  }
  if (rc != 0) throw_mdb_error(rc, store_, "cannot open its databases");
  MDB_val key = as_val(kFormatVersionKey), value;
  rc = mdb_get(txn.get(), meta_, &key, &value);
  if (rc == MDB_NOTFOUND) {
    throw Error(ErrorCode::corrupt, store_ + ": no format version in its \"meta\" database");
  }
  if (rc != 0) throw_mdb_error(rc, store_, "cannot read its format version");
  if (!file_bounds().readable(value.mv_data, value.mv_size)) {
    throw Error(ErrorCode::corrupt, store_ + ": format version lies past the end of the file");
  }
  std::uint32_t version = decode_format_version(
      std::string_view(static_cast<const char*>(value.mv_data), value.mv_size), store_);
  if (version > kFormatVersion) {
    throw Error(ErrorCode::unsupported, store_ + ": format version " + std::to_string(version) +
                                            " is newer than this library's " +
                                            std::to_string(kFormatVersion));
  }
  if (version < 1) {
    throw Error(ErrorCode::corrupt, store_ + ": invalid format version " + std::to_string(version));
  }
  format_version_ = version;
  // Committing a read-only transaction keeps the database handles open.
  if ((rc = txn.commit()) != 0) throw_mdb_error(rc, store_, "cannot open its databases");
}

void Environment::ensure_map_size(std::uint64_t map_size) {
  std::unique_lock lock(txn_mutex_);
  map_size_ = std::max(map_size_, map_size);
  if (env_ == nullptr) return;  // reopen() maps map_size_
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  if (info.me_mapsize >= map_size) return;
  if (int rc = mdb_env_set_mapsize(env_, map_size); rc != 0) {
    broken_ = true;
    throw_mdb_error(rc, store_, "cannot map " + std::to_string(map_size) + " bytes");
  }
  locate_map();
}

void Environment::grow_map() {
  std::unique_lock lock(txn_mutex_);
  if (env_ == nullptr) return;  // the next transaction reopens it first
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  if (info.me_mapsize >= kMaxMapSize) {
    throw Error(ErrorCode::io, store_ + ": the map is full at " + std::to_string(info.me_mapsize) +
                                   " bytes and may grow no further");
  }
  std::uint64_t next = std::min<std::uint64_t>(std::uint64_t{info.me_mapsize} * 2, kMaxMapSize);
  if (int rc = mdb_env_set_mapsize(env_, next); rc != 0) {
    // LMDB has unmapped the old map and failed to map the new one.
    broken_ = true;
    throw_mdb_error(rc, store_, "cannot grow the map to " + std::to_string(next) + " bytes");
  }
  locate_map();
}

std::uint64_t Environment::last_txnid() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_last_txnid;
}

Environment::FileBounds Environment::file_bounds() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  mdb_filehandle_t fd;
  struct stat st;
  if (mdb_env_get_fd(env_, &fd) != 0 || ::fstat(fd, &st) != 0) {
    throw_errno(ErrorCode::io, store_, "cannot stat", errno);
  }
  return {map_, map_ == 0 ? 0 : info.me_mapsize, static_cast<std::uint64_t>(st.st_size)};
}

void Environment::locate_map() {
  map_ = 0;
  // A record of the main database (which names the two others) lies in a
  // page of the map; the mapping of this process that holds it is the map.
  MDB_txn* txn = nullptr;
  if (env_ == nullptr || mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != 0) return;
  MDB_dbi main = 0;
  MDB_cursor* cursor = nullptr;
  MDB_val key, value;
  std::uintptr_t at = 0;
  if (mdb_dbi_open(txn, nullptr, 0, &main) == 0 && mdb_cursor_open(txn, main, &cursor) == 0) {
    if (mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0) {
      at = reinterpret_cast<std::uintptr_t>(key.mv_data);
    }
    mdb_cursor_close(cursor);
  }
  mdb_txn_abort(txn);
  if (at == 0) return;
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return;
  unsigned long start, end, offset, inode;
  unsigned major, minor;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    if (std::sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &start, &end, &offset, &major, &minor,
                    &inode) == 6 &&
        start <= at && at < end && inode == ino_ && start >= offset) {
      map_ = start - offset;
      break;
    }
  }
  std::fclose(maps);
}

void Environment::FileBounds::release_pages() const {
  // The map is read-only and shared (no MDB_WRITEMAP): nothing is lost, and
  // pointers into it stay valid. Failure only leaves the pages mapped.
  if (map != 0)
    ::madvise(reinterpret_cast<void*>(map), std::min(map_size, file_size), MADV_DONTNEED);
}

// LMDB makes its handle unusable (every call then fails with MDB_PANIC)
// when writing a meta page fails, after putting the previous meta page back:
// what is on disk is the previous commit. Closing the handle and opening it
// again in place, with no transaction open, makes every store object that
// shares this Environment work again once the fault has cleared, instead of
// failing until the process restarts. If opening fails too, env_ stays null
// and the next transaction tries again.
void Environment::reopen(bool force) {
  // With txn_mutex_ held exclusively.
  if (env_ != nullptr) {
    if (!force) {
      MDB_txn* probe = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &probe);
      if (rc == 0) mdb_txn_abort(probe);
      if (rc != MDB_PANIC) return;  // reopened by another thread meanwhile
    }
    MDB_envinfo info;
    if (mdb_env_info(env_, &info) == 0)
      map_size_ = std::max<std::uint64_t>(map_size_, info.me_mapsize);
    mdb_env_close(env_);
    env_ = nullptr;
  }
  check_lock_file(path_, access_, store_);
  EnvCloser env;
  int rc = mdb_env_create(&env.env);
  if (rc == 0) rc = mdb_env_set_maxdbs(env.env, 2);
  if (rc == 0) rc = mdb_env_set_mapsize(env.env, map_size_);
  if (rc == 0) rc = mdb_env_open(env.env, path_.c_str(), open_flags(), file_mode_);
  if (rc != 0) throw_mdb_error(rc, store_, "cannot reopen");
  // The named databases, opened in the same order as the first time, get
  // the same handles, which store objects keep using.
  MDB_txn* txn = nullptr;
  MDB_dbi states = 0, meta = 0;
  rc = mdb_txn_begin(env.env, nullptr, MDB_RDONLY, &txn);
  if (rc == 0) {
    rc = mdb_dbi_open(txn, std::string(kStatesDb).c_str(), 0, &states);
    if (rc == 0) rc = mdb_dbi_open(txn, std::string(kMetaDb).c_str(), 0, &meta);
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
  }
  if (rc != 0) throw_mdb_error(rc, store_, "cannot reopen its databases");
  if (states != states_ || meta != meta_) {
    broken_ = true;
    throw Error(ErrorCode::io, store_ + ": its databases changed handles when reopened");
  }
  env_ = std::exchange(env.env, nullptr);
  locate_map();
}

Transaction::Transaction(Environment& env, bool write) : env_(env), lock_(env.txn_mutex_) {
  for (;;) {
    if (env.broken_) {
      throw Error(ErrorCode::io, env.store() + ": unusable after a failed map resize; reopen it");
    }
    int rc = env.get() == nullptr
                 ? MDB_PANIC
                 : mdb_txn_begin(env.get(), nullptr, write ? 0 : MDB_RDONLY, &txn_);
    if (rc == 0) return;
    if (rc == MDB_PANIC) {
      lock_.unlock();
      {
        std::unique_lock reopening(env.txn_mutex_);
        env.reopen();
      }
      lock_.lock();
      continue;
    }
    if (rc != MDB_MAP_RESIZED) {
      throw_mdb_error(rc, env.store(), write ? "cannot begin a write" : "cannot begin a read");
    }
    // Another process grew the map past ours: adopt its size.
    lock_.unlock();
    {
      std::unique_lock resize(env.txn_mutex_);
      if (int rc2 = mdb_env_set_mapsize(env.get(), 0); rc2 != 0) {
        env.broken_ = true;
        throw_mdb_error(rc2, env.store(), "cannot follow the map size another process set");
      }
      env.locate_map();
    }
    lock_.lock();
  }
}

Transaction::~Transaction() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

int Transaction::commit() {
  int rc = mdb_txn_commit(txn_);  // frees the transaction, even on failure
  txn_ = nullptr;
  return with_full_disk(rc, env_.path_);
}

}  // namespace checkpoint::backends::lmdb
