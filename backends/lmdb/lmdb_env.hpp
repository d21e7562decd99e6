// One open LMDB environment per data file and process, shared by every
// lmdb: store object on that file.
//
// LMDB forbids opening the same environment twice in one process: its locks
// are POSIX record locks, which belong to the process, so closing a second
// handle would silently drop the locks of the first. Environment::open()
// therefore returns the environment already open on the same file (same
// device and inode) when there is one, and a new one is opened only after
// the last user of the old one has closed it. After fork(), the child never
// uses its parent's environments (LMDB does not allow it); it opens its own.
//
// Within the process, transactions run under a shared lock and map resizes
// under an exclusive one, since LMDB requires that no transaction be active
// while the map is resized.
#pragma once

#include <lmdb.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "checkpoint/toolkit/file_modes.hpp"

namespace checkpoint::backends::lmdb {

// The map never grows beyond this: a commit that needs more is refused
// rather than asking for ever larger address ranges.
inline constexpr std::uint64_t kMaxMapSize = std::uint64_t{16} << 40;  // 16 TiB

// Throws the Error that an LMDB return code stands for: Error{corrupt} for
// damaged data, Error{unsupported} for another LMDB version's files,
// Error{io} for the rest. The message names `store`, `what` and LMDB's text
// (for a system error, its errno in ErrorDetails, and "no space left on
// device" for ENOSPC).
[[noreturn]] void throw_mdb_error(int rc, std::string_view store, std::string_view what);

// How a store uses an environment.
enum class Access {
  write,  // read-write, shared by every store object on the file in this process
  read,   // read-only with LMDB's lock file, shared likewise (while a writer may be active)
  // Read-only without LMDB's lock file (MDB_NOLOCK), private to one store
  // object: touches nothing on disk. A writer in another process may reuse
  // the pages of a snapshot read this way once it has committed twice since
  // the snapshot began, so a reader checks last_txnid() afterwards.
  read_unlocked,
};

class Environment {
 public:
  // The environment of the data file `path` (MDB_NOSUBDIR; LMDB's lock file
  // is `path`-lock), a symlink at `path` followed to the file it leads to. For Access::write with
  // `create_if_missing`, a missing file is created atomically with both named databases and the
  // format version, so an existing file that lacks them is not a store; otherwise a missing file is
  // Error{not_found}. The map is at least `map_size` bytes. A read-only environment of this process
  // is made writable when a writer opens the same file. A new data file gets modes.file and missing
  // directories modes.dir, whatever the umask; LMDB creates its lock file with modes.file less the
  // umask (the store chmods it).
  static std::shared_ptr<Environment> open(const std::filesystem::path& path,
                                           std::uint64_t map_size, Access access,
                                           bool create_if_missing,
                                           const toolkit::FileModes& modes = {});
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // "lmdb store PATH", for messages.
  const std::string& store() const { return store_; }
  const std::filesystem::path& path() const { return path_; }
  MDB_env* get() const { return env_; }
  MDB_dbi states_db() const { return states_; }
  MDB_dbi meta_db() const { return meta_; }

  // Serialises write transactions of this process: LMDB would too, but the
  // sync flag is set per commit and belongs to the environment.
  std::mutex& write_mutex() { return write_mutex_; }

  // The format version of the file when it was opened (1 or kFormatVersion),
  // or as a writer's upgrade set it.
  std::uint32_t format_version() const { return format_version_; }
  void set_format_version(std::uint32_t version) { format_version_ = version; }

  // Doubles the map; call with no transaction open through this object.
  void grow_map();

  // Writes every key and value of both databases, as a read of this
  // environment sees them, into a new environment file `to` (mode 0600, no
  // lock file: MDB_NOLOCK), in key order with MDB_APPEND, so that its pages
  // are full: a store from which most states were removed takes what a
  // fresh one would. One synced commit. `to` must not exist.
  void copy_packed(const std::filesystem::path& to);

  // The id of the newest committed transaction, read from the file's meta
  // pages now.
  std::uint64_t last_txnid() const;

  // The part of the map that the data file backs now. Committed pages lie
  // inside it; reading past it through the map would kill the process with
  // SIGBUS, so values are checked against it before they are read. Valid
  // while a transaction is open (a resize moves the map).
  struct FileBounds {
    std::uintptr_t map = 0;
    std::uint64_t map_size = 0, file_size = 0;
    // False if `p`..`p + n` lies in the map but not all inside the file.
    // Pages a write transaction has changed are outside the map (LMDB keeps
    // them in memory until the commit); they are always readable.
    bool readable(const void* p, std::size_t n) const {
      auto at = reinterpret_cast<std::uintptr_t>(p);
      if (at < map || at - map >= map_size) return true;
      return at - map <= file_size && n <= file_size - (at - map);
    }
    // Drops this process's mapping of the file's pages (they stay in the
    // page cache, and the next read maps them again), so that a long read
    // does not keep the whole file in the resident set.
    void release_pages() const;
  };
  FileBounds file_bounds() const;

 private:
  friend class Transaction;
  Environment(std::filesystem::path path, std::string store);
  static void create(const std::filesystem::path& path, const std::string& store,
                     std::uint64_t map_size, mode_t file_mode);
  void open_existing(std::uint64_t map_size);
  void check_format();
  void ensure_map_size(std::uint64_t map_size);
  // Closes the handle and opens it again in place (see lmdb_env.cpp); with
  // `force`, even when it is not broken (to make it writable).
  void reopen(bool force = false);
  unsigned open_flags() const;
  // Finds where LMDB mapped the file (it does not say: mdb_env_info() gives
  // the address only for MDB_FIXEDMAP) after every (re)mapping, with no
  // transaction open.
  void locate_map();

  std::filesystem::path path_;
  std::string store_;
  MDB_env* env_ = nullptr;      // null only while reopening after an I/O error failed
  std::uint64_t map_size_ = 0;  // the largest asked for; guarded by txn_mutex_
  MDB_dbi states_ = 0, meta_ = 0;
  std::atomic<std::uint32_t> format_version_{0};
  std::uintptr_t map_ = 0;  // the map's address, 0 if unknown; guarded by txn_mutex_
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  pid_t pid_ = 0;
  mode_t file_mode_ = 0600;        // of a lock file LMDB creates (less the umask)
  bool registered_ = false;        // in the process-wide table of open environments
  Access access_ = Access::write;  // guarded by txn_mutex_ once registered
  std::shared_mutex txn_mutex_;
  std::mutex write_mutex_;
  bool broken_ = false;  // a failed resize left the map unusable; guarded by txn_mutex_
};

// A read or write transaction, aborted unless committed.
class Transaction {
 public:
  Transaction(Environment& env, bool write);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  MDB_txn* get() const { return txn_; }
  // Commits; returns LMDB's code (MDB_MAP_FULL is the caller's to handle),
  // ENOSPC for the EIO that LMDB makes of a write cut short by a full file
  // system. The transaction is over either way.
  int commit();

 private:
  const Environment& env_;
  std::shared_lock<std::shared_mutex> lock_;
  MDB_txn* txn_ = nullptr;
};

}  // namespace checkpoint::backends::lmdb
