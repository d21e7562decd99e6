#include "backends/lmdb/lmdb_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <vector>

#include "backends/lmdb/lmdb_encoding.hpp"
#include "backends/lmdb/lmdb_env.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/options.hpp"
#include "checkpoint/toolkit/system_calls.hpp"
#include "checkpoint/writer_lock.hpp"

namespace checkpoint::backends {
namespace {

using namespace lmdb;

constexpr std::uint64_t kDefaultMapSize = std::uint64_t{1} << 30;  // 1 GiB
constexpr std::uint64_t kMinMapSize = std::uint64_t{64} << 10;     // 64 KiB
constexpr std::size_t kStatesPerRelease = std::size_t{1} << 14;    // see scan_with()

MDB_val as_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Closes a cursor when it goes out of scope.
class Cursor {
 public:
  Cursor(const Transaction& txn, MDB_dbi dbi, std::string_view store) {
    if (int rc = mdb_cursor_open(txn.get(), dbi, &cursor_); rc != 0) {
      throw_mdb_error(rc, store, "cannot open a cursor");
    }
  }
  ~Cursor() { mdb_cursor_close(cursor_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // LMDB's code: 0, MDB_NOTFOUND at the end, or an error.
  int get(MDB_val& key, MDB_val& value, MDB_cursor_op op) {
    return mdb_cursor_get(cursor_, &key, &value, op);
  }

 private:
  MDB_cursor* cursor_ = nullptr;
};

class LmdbStore final : public Store {
 public:
  LmdbStore(std::filesystem::path path, std::uint64_t map_size, bool sync, toolkit::FileModes modes,
            std::chrono::milliseconds lock_timeout, const OpenOptions& options)
      : path_(std::move(path)),
        label_("lmdb store " + path_.string()),
        map_size_(map_size),
        sync_(sync),
        mode_(options.mode) {
    if (mode_ == OpenMode::read) {
      if (!toolkit::exists(path_, label_)) {
        throw toolkit::store_error(ErrorCode::not_found, label_,
                                   "no such store (" + path_.string() + " does not exist)");
      }
      return;  // opened by the first read, which reports damage its own way
    }
    if (!options.create_if_missing && !toolkit::exists(path_, label_)) {
      throw toolkit::store_error(ErrorCode::not_found, label_,
                                 "no such store (" + path_.string() + " does not exist)");
    }
    // The store's WriterLock (PATH.lock) first, before anything is read:
    // what this writer loads is what it overwrites. LMDB's own lock file,
    // PATH-lock, serves its readers.
    // With the store's modes: its directories, PATH.lock and the data file
    // (now or once made) get them, and LMDB's lock file right after LMDB
    // opened (or created) it.
    lock_ = WriterLock::acquire(path_, label_, modes, lock_timeout);
    env_ = Environment::open(path_, map_size_, Access::write, options.create_if_missing, modes);
    lock_.lock_data_file();  // made just now, if it was missing
    toolkit::apply_file_mode(env_->path().string() + "-lock", modes.file, label_);
    if (env_->format_version() < kFormatVersion) upgrade();
  }

  Timestamp scan(const StateSink& sink) override {
    if (mode_ == OpenMode::write) require_environment();
    if (env_) return scan_with(*env_, sink);
    // A reader. Without a writer, LMDB's lock file is not needed (nor
    // touched): read unlocked, and check afterwards that no writer came and
    // committed twice meanwhile (its pages could have been reused under
    // the read). Otherwise, or then, read as a registered LMDB reader.
    if (!WriterLock::is_held(path_)) {
      auto env = Environment::open(path_, map_size_, Access::read_unlocked, false);
      std::uint64_t before = env->last_txnid();
      std::vector<EventLogState> states;
      Timestamp update_time =
          scan_with(*env, [&](EventLogState&& state) { states.push_back(std::move(state)); });
      if (env->last_txnid() <= before + 1) {
        for (auto& state : states) sink(std::move(state));
        return update_time;
      }
    }
    env_ = Environment::open(path_, map_size_, Access::read, false);
    return scan_with(*env_, sink);
  }

  // Every value that decodes and matches its checksum; each one that does
  // not is named (check() reports the same) (by its key, which is the state's name unless the name
  // is too long for a key). A damaged page that LMDB cannot read stops the walk there; one that the
  // file check finds before LMDB maps the file makes the whole file unreadable here.
  Salvage salvage() override {
    Salvage out;
    std::shared_ptr<Environment> env;
    try {
      env = env_ ? env_ : open_for_inspection();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      out.damage.push_back({"the file", reason(e), ""});
      return out;
    }
    Transaction txn(*env, false);
    const auto bounds = env->file_bounds();
    try {
      out.readable.update_time = read_update_time(*env, txn, bounds);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      out.damage.push_back({"the update time", reason(e), ""});
    }
    Cursor cursor(txn, env->states_db(), store());
    MDB_val key, value;
    int rc;
    std::size_t entries = 0;
    for (rc = cursor.get(key, value, MDB_FIRST); rc == 0; rc = cursor.get(key, value, MDB_NEXT)) {
      ++entries;
      std::string where = "a key past the end of the file";
      std::string name;
      try {
        if (!bounds.readable(key.mv_data, key.mv_size)) {
          throw Error(ErrorCode::corrupt, store() + ": the key lies past the end of the file");
        }
        std::string_view k = as_view(key);
        where = describe_key(k);
        if (!is_hashed_key(k)) name = std::string(k);
        if (!bounds.readable(value.mv_data, value.mv_size)) {
          throw Error(ErrorCode::corrupt, store() + ": its value lies past the end of the file");
        }
        out.readable.states.push_back(
            decode_value(k, as_view(value), store(), out.readable.update_time));
      } catch (const Error& e) {
        if (e.code() != ErrorCode::corrupt) throw;
        std::string what = reason(e);
        if (what.starts_with(where + ": ")) what.erase(0, where.size() + 2);
        out.damage.push_back({where, what, name});
      }
    }
    if (rc != MDB_NOTFOUND) {
      out.damage.push_back({"the states",
                            std::string("a damaged page stopped the walk after ") +
                                std::to_string(entries) + " entries: " + mdb_strerror(rc),
                            ""});
    }
    auto by_name = [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; };
    std::sort(out.readable.states.begin(), out.readable.states.end(), by_name);
    // A name held twice (under a damaged hashed key): keep the first.
    auto twice = std::unique(out.readable.states.begin(), out.readable.states.end(),
                             [](const auto& a, const auto& b) { return a.name == b.name; });
    for (auto it = twice; it != out.readable.states.end(); ++it) {
      out.damage.push_back({describe_key(it->name), "stored twice; kept one", it->name});
    }
    out.readable.states.erase(twice, out.readable.states.end());
    return out;
  }

  CheckReport check() override {
    CheckReport report = Store::check();
    for (auto& problem : report.problems) problem = store() + ": " + problem;
    return report;
  }

  void commit(const Changes& changes) override {
    if (mode_ != OpenMode::write) {
      throw toolkit::store_error(ErrorCode::invalid_argument, label_,
                                 "opened for reading; cannot commit");
    }
    for (const auto& state : changes.upserted) {
      if (state.name.empty()) {
        throw Error(ErrorCode::invalid_argument, label_ + ": a state's name must not be empty");
      }
    }
    require_environment();
    std::lock_guard writing(env_->write_mutex());
    for (;;) {
      {
        Transaction txn(*env_, true);
        // Set here, with the transaction open: LMDB reads the flag when
        // the transaction commits, and may have reopened the handle when
        // it began (see Environment::reopen()).
        if (int rc = mdb_env_set_flags(env_->get(), MDB_NOSYNC, sync_ ? 0 : 1); rc != 0) {
          throw_mdb_error(rc, store(), "cannot set the sync mode");
        }
        int rc = write(txn, changes);
        if (rc == 0) rc = txn.commit();
        if (rc == 0) return;
        if (rc != MDB_MAP_FULL) throw_mdb_error(rc, store(), "cannot commit");
      }  // aborted: no transaction may be open while the map grows
      env_->grow_map();
    }
  }

  // A packed copy into FILE.compact (every key in order, appended, so that
  // the pages are full: LMDB's own compacting copy, MDB_CP_COMPACT, keeps
  // the half-empty pages that removals leave), synced by its commit,
  // renamed over FILE, LMDB's lock file removed at once (its reader
  // table and last transaction id describe the old file, and the copy
  // starts again at transaction 1), the directory synced; then the
  // environment and the WriterLock's hold on the data file move to the
  // new file. A crash before the rename
  // leaves the old file (and a FILE.compact that the next compaction
  // removes); after it, the new file, whole and synced.
  void compact() override {
    if (mode_ != OpenMode::write) {
      throw toolkit::store_error(ErrorCode::invalid_argument, label_,
                                 "opened for reading; cannot compact");
    }
    require_environment();
    if (env_.use_count() > 1) {
      throw toolkit::store_error(ErrorCode::locked, label_,
                                 "another store object in this process has it open; close it "
                                 "before compacting");
    }
    const std::filesystem::path file = env_->path();
    const std::string copy = file.string() + ".compact";
    const auto& sys = toolkit::sys();
    if (sys.unlink(copy.c_str()) != 0 && errno != ENOENT) {
      throw toolkit::system_error(ErrorCode::io, label_, "cannot remove " + copy, errno);
    }
    try {
      std::lock_guard writing(env_->write_mutex());
      env_->copy_packed(copy);
    } catch (...) {
      sys.unlink(copy.c_str());
      throw;
    }
    env_.reset();  // the last user: closes the environment
    std::exception_ptr failure;
    try {
      if (sys.rename(copy.c_str(), file.c_str()) != 0) {
        int err = errno;
        sys.unlink(copy.c_str());
        throw toolkit::system_error(ErrorCode::io, label_,
                                    "cannot rename " + copy + " to " + file.string(), err);
      }
      // At once: a reader opening in between would pair the new file with
      // the old lock file's transaction id.
      const std::string lmdb_lock = file.string() + "-lock";
      if (sys.unlink(lmdb_lock.c_str()) != 0 && errno != ENOENT) {
        throw toolkit::system_error(ErrorCode::io, label_, "cannot remove " + lmdb_lock, errno);
      }
      toolkit::sync_directory(file.parent_path().empty() ? "." : file.parent_path(), label_);
      lock_.data_file_replaced();
    } catch (...) {
      failure = std::current_exception();
    }
    // Whatever failed, the environment is opened again on the file now in
    // place (the old or the new, each whole): the store stays usable.
    try {
      env_ = Environment::open(file, map_size_, Access::write, false);
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
    if (failure) std::rethrow_exception(failure);
  }

 private:
  const std::string& store() const { return label_; }

  // A writer's environment is missing only when compact() could not open
  // it again.
  void require_environment() const {
    if (!env_) {
      throw toolkit::store_error(ErrorCode::io, label_,
                                 "its environment could not be opened again after compacting; "
                                 "open the store again");
    }
  }

  // A reader's environment for check() and salvage(): unlocked when no
  // writer runs (touching nothing), a registered LMDB reader otherwise.
  std::shared_ptr<Environment> open_for_inspection() {
    if (!WriterLock::is_held(path_)) {
      return Environment::open(path_, map_size_, Access::read_unlocked, false);
    }
    env_ = Environment::open(path_, map_size_, Access::read, false);
    return env_;
  }

  // The error's reason, without the store's label.
  std::string reason(const Error& e) const {
    std::string what = e.what();
    if (what.starts_with(label_ + ": ")) what.erase(0, label_.size() + 2);
    return what;
  }

  // One read transaction: the update time and every state of one commit,
  // in name order. Direct keys come in name order; hashed keys (0xFF...)
  // sort after them in hash order, so they are read first, sorted, and
  // merged in.
  Timestamp scan_with(Environment& env, const StateSink& sink) {
    Transaction txn(env, false);
    const auto bounds = env.file_bounds();
    Timestamp update_time = read_update_time(env, txn, bounds);

    MDB_stat stat;
    if (int rc = mdb_stat(txn.get(), env.states_db(), &stat); rc != 0) {
      throw_mdb_error(rc, store(), "cannot read");
    }
    std::size_t found = 0;
    auto read = [&](const MDB_val& key, const MDB_val& value) {
      std::string_view k = as_view(key);
      if (!bounds.readable(key.mv_data, key.mv_size)) {
        throw Error(ErrorCode::corrupt, store() + ": a key lies past the end of the file");
      }
      if (!bounds.readable(value.mv_data, value.mv_size)) {
        throw Error(ErrorCode::corrupt,
                    store() + ": " + describe_key(k) + ": value lies past the end of the file");
      }
      // A million states span a file of a hundred megabytes or more; its
      // pages, once read, would stay in the resident set beside the states
      // made of them.
      if (++found % kStatesPerRelease == 0) bounds.release_pages();
      return decode_value(k, as_view(value), store(), update_time);
    };

    std::vector<EventLogState> hashed;
    Cursor cursor(txn, env.states_db(), store());
    MDB_val key, value;
    const std::string mark(1, static_cast<char>(kHashedKeyMark));
    key = as_val(mark);
    int rc;
    for (rc = cursor.get(key, value, MDB_SET_RANGE); rc == 0;
         rc = cursor.get(key, value, MDB_NEXT)) {
      hashed.push_back(read(key, value));
    }
    if (rc != MDB_NOTFOUND) throw_mdb_error(rc, store(), "cannot read");
    auto by_name = [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; };
    std::sort(hashed.begin(), hashed.end(), by_name);
    auto next_hashed = hashed.begin();
    // Direct keys are unique in LMDB; a hashed key holding the name of
    // another state is damage. Names are compared only when there are
    // hashed keys at all (names longer than 511 bytes are rare).
    std::string previous;
    auto emit = [&](EventLogState&& state) {
      if (!hashed.empty()) {
        if (!(previous < state.name)) {
          throw Error(ErrorCode::corrupt,
                      store() + ": state " + describe_key(state.name) + " is stored twice");
        }
        previous = state.name;
      }
      sink(std::move(state));
    };
    for (rc = cursor.get(key, value, MDB_FIRST); rc == 0; rc = cursor.get(key, value, MDB_NEXT)) {
      if (is_hashed_key(as_view(key))) break;
      EventLogState state = read(key, value);
      while (next_hashed != hashed.end() && next_hashed->name < state.name) {
        emit(std::move(*next_hashed++));
      }
      emit(std::move(state));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) throw_mdb_error(rc, store(), "cannot read");
    while (next_hashed != hashed.end()) emit(std::move(*next_hashed++));
    // LMDB counts the entries of a database apart from its pages: a leaf
    // page that lost entries without looking damaged shows here.
    if (found != stat.ms_entries) {
      throw Error(ErrorCode::corrupt, store() + ": " + std::to_string(found) +
                                          " states found, but the database counts " +
                                          std::to_string(stat.ms_entries));
    }
    return update_time;
  }

  Timestamp read_update_time(Environment& env, const Transaction& txn,
                             const Environment::FileBounds& bounds) {
    MDB_val key = as_val(kUpdateTimeKey), value;
    int rc = mdb_get(txn.get(), env.meta_db(), &key, &value);
    if (rc == MDB_NOTFOUND) return Timestamp();  // nothing committed yet
    if (rc != 0) throw_mdb_error(rc, store(), "cannot read the update time");
    if (!bounds.readable(value.mv_data, value.mv_size)) {
      throw Error(ErrorCode::corrupt, store() + ": update time lies past the end of the file");
    }
    return decode_update_time(as_view(value), store());
  }

  // Format 1 to 2, in one write transaction (a crash leaves format 1 whole
  // or format 2): every value rewritten as version 2, with the store's
  // update time (what a reader of format 1 gives each state), then the
  // format version. A value that does not read back exactly stops it
  // (Error{corrupt}), and nothing changes.
  void upgrade() {
    std::lock_guard writing(env_->write_mutex());
    for (;;) {
      {
        Transaction txn(*env_, true);
        if (int rc = mdb_env_set_flags(env_->get(), MDB_NOSYNC, sync_ ? 0 : 1); rc != 0) {
          throw_mdb_error(rc, store(), "cannot set the sync mode");
        }
        int rc = upgrade_values(txn);
        if (rc == 0) rc = txn.commit();
        if (rc == 0) break;
        if (rc != MDB_MAP_FULL) throw_mdb_error(rc, store(), "cannot upgrade to format version 2");
      }  // aborted: no transaction may be open while the map grows
      env_->grow_map();
    }
    env_->set_format_version(kFormatVersion);
  }

  // Returns 0 or MDB_MAP_FULL, throws other failures. The values are read a
  // few thousand at a time, then written back with plain puts: no write
  // moves a cursor that is still reading.
  int upgrade_values(const Transaction& txn) {
    const auto bounds = env_->file_bounds();
    const Timestamp update_time = read_update_time(*env_, txn, bounds);
    constexpr std::size_t kChunk = 4096;
    std::string after;  // the last key of the previous chunk; empty: start
    std::vector<std::pair<std::string, std::string>> chunk;  // key, new value
    for (bool done = false; !done;) {
      chunk.clear();
      {
        Cursor cursor(txn, env_->states_db(), store());
        MDB_val key = as_val(after), value;
        int rc = after.empty() ? cursor.get(key, value, MDB_FIRST)
                               : cursor.get(key, value, MDB_SET_RANGE);
        if (rc == 0 && !after.empty() && as_view(key) == after)
          rc = cursor.get(key, value, MDB_NEXT);
        for (; rc == 0 && chunk.size() < kChunk; rc = cursor.get(key, value, MDB_NEXT)) {
          const std::string_view k = as_view(key);
          if (!bounds.readable(key.mv_data, key.mv_size) ||
              !bounds.readable(value.mv_data, value.mv_size)) {
            throw Error(ErrorCode::corrupt,
                        store() + ": cannot upgrade to format version 2: " + describe_key(k) +
                            ": lies past the end of the file");
          }
          after.assign(k);
          if (!is_old_value(as_view(value))) continue;
          const EventLogState state = decode_value(k, as_view(value), store(), update_time);
          std::string encoded;
          encode_value(state, is_hashed_key(k), encoded);
          chunk.emplace_back(after, std::move(encoded));
        }
        if (rc != 0 && rc != MDB_NOTFOUND) {
          throw_mdb_error(rc, store(), "cannot upgrade to format version 2");
        }
        done = rc == MDB_NOTFOUND;
      }
      for (auto& [key_bytes, value_bytes] : chunk) {
        MDB_val key = as_val(key_bytes), value = as_val(value_bytes);
        if (int rc = checked(mdb_put(txn.get(), env_->states_db(), &key, &value, 0),
                             "cannot upgrade to format version 2");
            rc != 0) {
          return rc;
        }
      }
    }
    std::string version = encode_format_version(kFormatVersion);
    MDB_val version_key = as_val(kFormatVersionKey), version_value = as_val(version);
    return checked(mdb_put(txn.get(), env_->meta_db(), &version_key, &version_value, 0),
                   "cannot upgrade to format version 2");
  }

  // Writes the changes; returns 0 or MDB_MAP_FULL, throws other failures.
  int write(const Transaction& txn, const Changes& changes) {
    for (const auto& name : changes.removed) {
      if (int rc = erase(txn, name); rc != 0) return rc;
    }
    for (const auto& state : changes.upserted) {
      if (int rc = put(txn, state); rc != 0) return rc;
    }
    std::string time = encode_update_time(changes.update_time);
    MDB_val key = as_val(kUpdateTimeKey), value = as_val(time);
    return checked(mdb_put(txn.get(), env_->meta_db(), &key, &value, 0), "cannot write");
  }

  int put(const Transaction& txn, const EventLogState& state) {
    buffer_.clear();
    bool direct = is_direct_name(state.name);
    encode_value(state, !direct, buffer_);
    MDB_val value = as_val(buffer_);
    if (direct) {
      MDB_val key = as_val(state.name);
      return checked(mdb_put(txn.get(), env_->states_db(), &key, &value, 0), "cannot write");
    }
    Hashed found = find_hashed(txn, state.name);
    std::string key_bytes = found.key ? *found.key : hashed_key(state.name, found.next_probe);
    MDB_val key = as_val(key_bytes);
    return checked(mdb_put(txn.get(), env_->states_db(), &key, &value, 0), "cannot write");
  }

  int erase(const Transaction& txn, const std::string& name) {
    std::string key_bytes;
    if (is_direct_name(name)) {
      key_bytes = name;
    } else if (name.empty()) {
      return 0;  // never stored
    } else {
      Hashed found = find_hashed(txn, name);
      if (!found.key) return 0;
      key_bytes = *found.key;
    }
    MDB_val key = as_val(key_bytes);
    int rc = mdb_del(txn.get(), env_->states_db(), &key, nullptr);
    return rc == MDB_NOTFOUND ? 0 : checked(rc, "cannot remove");
  }

  // The hashed key that holds `name`, if any, and otherwise the probe
  // number a new entry takes: one past the highest in use for its hash.
  struct Hashed {
    std::optional<std::string> key;
    std::uint32_t next_probe = 0;
  };

  Hashed find_hashed(const Transaction& txn, const std::string& name) {
    const std::string prefix = hashed_key_prefix(name);
    const auto bounds = env_->file_bounds();
    Hashed out;
    Cursor cursor(txn, env_->states_db(), store());
    MDB_val key = as_val(prefix), value;
    int rc;
    for (rc = cursor.get(key, value, MDB_SET_RANGE); rc == 0;
         rc = cursor.get(key, value, MDB_NEXT)) {
      std::string_view k = as_view(key);
      if (!k.starts_with(prefix)) break;
      if (!bounds.readable(value.mv_data, value.mv_size)) {
        throw Error(ErrorCode::corrupt,
                    store() + ": " + describe_key(k) + ": value lies past the end of the file");
      }
      if (decode_name(k, as_view(value), store()) == name) {
        out.key = std::string(k);
        return out;
      }
      std::uint32_t probe = hashed_key_probe(k);
      if (probe == UINT32_MAX) {
        throw Error(ErrorCode::corrupt, store() + ": " + describe_key(k) + ": too many collisions");
      }
      out.next_probe = std::max(out.next_probe, probe + 1);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) throw_mdb_error(rc, store(), "cannot read");
    return out;
  }

  // Passes 0 and MDB_MAP_FULL back; throws the rest.
  int checked(int rc, std::string_view what) {
    if (rc != 0 && rc != MDB_MAP_FULL) throw_mdb_error(rc, store(), what);
    return rc;
  }

  std::filesystem::path path_;
  std::string label_;
  std::uint64_t map_size_;
  bool sync_;
  OpenMode mode_;
  WriterLock lock_;  // writers only, taken before the environment is opened
  // The writer's environment, or a reader's once a writer was seen.
  std::shared_ptr<Environment> env_;
  std::string buffer_;  // the value being written
};

[[noreturn]] void bad_map_size(const StoreUri& uri) {
  throw Error(ErrorCode::invalid_config, "config string \"" + uri.text + "\": option map_size=\"" +
                                             uri.options.at("map_size") +
                                             "\" is invalid; expected 64KiB to 16TiB");
}

}  // namespace

BackendInfo lmdb_backend_info() {
  return {"lmdb",
          "LMDB environment in one file (and FILE-lock): commits write only what changed; "
          "map_size=1GiB (grows when full), sync=on|off (off is unsafe)",
          {"map_size", "sync", "file_mode", "dir_mode", "lock_timeout_ms"},
          {".lmdb", ".mdb"},
          false,
          [](const StoreUri& uri) {
            const std::string path = toolkit::require_path(uri);
            return std::vector<std::filesystem::path>{
                toolkit::follow_symlinks(path, "lmdb store " + path)};
          }};
}

std::unique_ptr<Store> open_lmdb_store(const StoreUri& uri, const OpenOptions& options) {
  std::string path = toolkit::require_path(uri);
  std::uint64_t map_size = toolkit::size_option(uri, "map_size", kDefaultMapSize);
  if (map_size < kMinMapSize || map_size > kMaxMapSize) bad_map_size(uri);
  // LMDB wants a multiple of the OS page size.
  auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  map_size = (map_size + page - 1) / page * page;
  bool sync = toolkit::bool_option(uri, "sync", true);
  toolkit::FileModes modes = toolkit::file_modes_option(uri);
  return std::make_unique<LmdbStore>(path, map_size, sync, modes, toolkit::lock_timeout_option(uri),
                                     options);
}

}  // namespace checkpoint::backends
