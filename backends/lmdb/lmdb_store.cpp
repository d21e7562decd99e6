#include "backends/lmdb/lmdb_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "backends/lmdb/lmdb_encoding.hpp"
#include "backends/lmdb/lmdb_env.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/writer_lock.hpp"
#include "core/commit_states.hpp"
#include "core/store_options.hpp"

namespace checkpoint::backends {
namespace {

using namespace lmdb;

constexpr std::uint64_t kDefaultMapSize = std::uint64_t{1} << 30;  // 1 GiB
constexpr std::uint64_t kMinMapSize = std::uint64_t{64} << 10;     // 64 KiB

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

class LmdbStore final : public StateStore {
 public:
  LmdbStore(std::shared_ptr<Environment> env, bool sync) : env_(std::move(env)), sync_(sync) {}

  PersistedState load() override {
    Transaction txn(*env_, false);
    const auto bounds = env_->file_bounds();
    PersistedState out;
    out.update_time = read_update_time(txn, bounds);

    MDB_stat stat;
    if (int rc = mdb_stat(txn.get(), env_->states_db(), &stat); rc != 0) {
      throw_mdb_error(rc, store(), "cannot read");
    }
    out.states.reserve(stat.ms_entries);
    // Direct keys come in name order; hashed keys (0xFF...) sort after
    // them in hash order and are merged in afterwards.
    std::vector<EventLogState> hashed;
    Cursor cursor(txn, env_->states_db(), store());
    MDB_val key, value;
    int rc;
    for (rc = cursor.get(key, value, MDB_FIRST); rc == 0; rc = cursor.get(key, value, MDB_NEXT)) {
      std::string_view k = as_view(key);
      if (!bounds.readable(key.mv_data, key.mv_size)) {
        throw Error(ErrorCode::corrupt, store() + ": a key lies past the end of the file");
      }
      if (!bounds.readable(value.mv_data, value.mv_size)) {
        throw Error(ErrorCode::corrupt,
                    store() + ": " + describe_key(k) + ": value lies past the end of the file");
      }
      EventLogState state = decode_value(k, as_view(value), store());
      (is_hashed_key(k) ? hashed : out.states).push_back(std::move(state));
    }
    if (rc != MDB_NOTFOUND) throw_mdb_error(rc, store(), "cannot read");
    // LMDB counts the entries of a database apart from its pages: a leaf
    // page that lost entries without looking damaged shows here.
    if (out.states.size() + hashed.size() != stat.ms_entries) {
      throw Error(ErrorCode::corrupt,
                  store() + ": " + std::to_string(out.states.size() + hashed.size()) +
                      " states found, but the database counts " + std::to_string(stat.ms_entries));
    }

    if (!hashed.empty()) {
      auto by_name = [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; };
      std::sort(hashed.begin(), hashed.end(), by_name);
      auto middle = out.states.size();
      out.states.insert(out.states.end(), std::make_move_iterator(hashed.begin()),
                        std::make_move_iterator(hashed.end()));
      std::inplace_merge(out.states.begin(), out.states.begin() + static_cast<long>(middle),
                         out.states.end(), by_name);
      auto twice =
          std::adjacent_find(out.states.begin(), out.states.end(),
                             [](const auto& a, const auto& b) { return a.name == b.name; });
      if (twice != out.states.end()) {
        throw Error(ErrorCode::corrupt,
                    store() + ": state " + describe_key(twice->name) + " is stored twice");
      }
    }
    return out;
  }

  void commit(const Commit& commit) override {
    for (const auto& name : commit.upserted) {
      if (name.empty() && commit.states.contains(name)) {
        throw Error(ErrorCode::invalid_argument, store() + ": a state's name must not be empty");
      }
    }
    // The first commit takes the writer lock (PATH.lock), held until this
    // store object is destroyed: one writer at a time, in this process or
    // another. LMDB's own lock file, PATH-lock, serves its readers.
    if (!lock_.held()) lock_ = WriterLock::acquire(env_->path(), store());
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
        int rc = write(txn, commit);
        if (rc == 0) rc = txn.commit();
        if (rc == 0) return;
        if (rc != MDB_MAP_FULL) throw_mdb_error(rc, store(), "cannot commit");
      }  // aborted: no transaction may be open while the map grows
      env_->grow_map();
    }
  }

 private:
  const std::string& store() const { return env_->store(); }

  Timestamp read_update_time(const Transaction& txn, const Environment::FileBounds& bounds) {
    MDB_val key = as_val(kUpdateTimeKey), value;
    int rc = mdb_get(txn.get(), env_->meta_db(), &key, &value);
    if (rc == MDB_NOTFOUND) return Timestamp();  // nothing committed yet
    if (rc != 0) throw_mdb_error(rc, store(), "cannot read the update time");
    if (!bounds.readable(value.mv_data, value.mv_size)) {
      throw Error(ErrorCode::corrupt, store() + ": update time lies past the end of the file");
    }
    return decode_update_time(as_view(value), store());
  }

  // Writes the changes; returns 0 or MDB_MAP_FULL, throws other failures.
  int write(const Transaction& txn, const Commit& commit) {
    for (const auto* names : {&commit.removed, &commit.upserted}) {
      // Commit.states decides: a name in both lists, or upserted and then
      // removed, ends as the states say.
      const auto found = detail::find_states(commit.states, *names);
      for (std::size_t i = 0; i < names->size(); ++i) {
        int rc = found[i] == nullptr ? erase(txn, (*names)[i]) : put(txn, *found[i]);
        if (rc != 0) return rc;
      }
    }
    std::string time = encode_update_time(commit.update_time);
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

  std::shared_ptr<Environment> env_;
  bool sync_;
  WriterLock lock_;     // taken at the first commit
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
          {"map_size", "sync"},
          {".lmdb", ".mdb"}};
}

std::unique_ptr<StateStore> open_lmdb_store(const StoreUri& uri) {
  std::string path = detail::require_path(uri);
  std::uint64_t map_size = detail::size_option(uri, "map_size", kDefaultMapSize);
  if (map_size < kMinMapSize || map_size > kMaxMapSize) bad_map_size(uri);
  // LMDB wants a multiple of the OS page size.
  auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  map_size = (map_size + page - 1) / page * page;
  bool sync = detail::bool_option(uri, "sync", true);
  return std::make_unique<LmdbStore>(Environment::open(path, map_size), sync);
}

}  // namespace checkpoint::backends
