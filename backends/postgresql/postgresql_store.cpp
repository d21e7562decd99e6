#include "backends/postgresql/postgresql_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <optional>
#include <string>

#include "backends/postgresql/pg_binary.hpp"
#include "backends/postgresql/pg_connection.hpp"
#include "backends/postgresql/pg_schema.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/options.hpp"
#include "core/checksum.hpp"
#include "core/utf8.hpp"

namespace checkpoint::backends {
namespace {

using namespace postgresql;
using std::chrono::milliseconds;

// The options of this backend itself; the rest are libpq's.
constexpr const char* kOwnOptions[] = {"store", "lock_timeout_ms", "io_timeout_ms"};

// libpq's connection parameters that a config string may set: all those of
// the libpq this program runs with, but replication (not a state store's
// business) and client_encoding (names travel as UTF-8).
std::vector<std::string> libpq_options() {
  std::vector<std::string> out;
  PQconninfoOption* defaults = PQconndefaults();
  if (defaults == nullptr) return out;
  for (const PQconninfoOption* o = defaults; o->keyword != nullptr; ++o) {
    std::string key = o->keyword;
    if (key != "replication" && key != "client_encoding") out.push_back(key);
  }
  PQconninfoFree(defaults);
  return out;
}

struct Settings {
  std::string label;  // "postgresql store NAME in HOST/DB"
  std::string store;  // empty when listing
  Keywords keywords;
  milliseconds lock_timeout{0};
  milliseconds io_timeout{10'000};
};

milliseconds millis_option(const StoreUri& uri, const std::string& key, std::uint64_t fallback,
                           std::uint64_t least) {
  std::uint64_t value = toolkit::uint_option(uri, key, fallback);
  if (value < least || value > INT_MAX) {
    throw Error(ErrorCode::invalid_config, "config string \"" + uri.text + "\": option " + key +
                                               "=\"" + uri.options.at(key) +
                                               "\" is invalid; expected " + std::to_string(least) +
                                               " to " + std::to_string(INT_MAX));
  }
  return milliseconds(value);
}

Settings read_settings(const StoreUri& uri, bool need_store) {
  Settings s;
  auto store = uri.options.find("store");
  if (store != uri.options.end()) s.store = store->second;
  if (need_store && s.store.empty()) {
    throw Error(ErrorCode::invalid_config,
                "config string \"" + uri.text + "\": the " + uri.scheme +
                    " backend needs option store=NAME, the name of the shipper's state "
                    "(many stores share one database)");
  }
  if (!detail::is_valid_utf8(s.store)) {
    throw Error(ErrorCode::invalid_config,
                "config string \"" + uri.text + "\": option store is not UTF-8");
  }
  s.lock_timeout = millis_option(uri, "lock_timeout_ms", 0, 0);
  s.io_timeout = millis_option(uri, "io_timeout_ms", 10'000, 1);
  s.label = uri.scheme + " store " + (s.store.empty() ? "" : s.store + " in ") +
            (uri.target.empty() ? "(libpq's default server)" : uri.target);

  // The target is the rest of a postgresql:// URI (hosts, ports, user,
  // database), which libpq splits and percent-decodes itself: it becomes
  // the dbname keyword, which libpq expands. Options given after it win.
  const std::string libpq_uri = "postgresql://" + uri.target;
  char* message = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(libpq_uri.c_str(), &message);
  if (parsed == nullptr) {
    std::string reason = message ? message : "out of memory";
    PQfreemem(message);
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    throw Error(ErrorCode::invalid_config, "config string \"" + uri.text + "\": " + reason);
  }
  PQconninfoFree(parsed);
  s.keywords.emplace_back("dbname", libpq_uri);
  for (const auto& [key, value] : uri.options) {
    if (std::find(std::begin(kOwnOptions), std::end(kOwnOptions), key) == std::end(kOwnOptions)) {
      s.keywords.emplace_back(key, value);
    }
  }
  s.keywords.emplace_back("client_encoding", "UTF8");
  s.keywords.emplace_back("fallback_application_name", "checkpoint");
  return s;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// A NULL or a number of the text results.
std::optional<std::int64_t> int_value(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column)) return std::nullopt;
  return std::stoll(PQgetvalue(result, row, column));
}

// Rows and bytes per statement of a commit: many rows a statement cost the
// server less than one each, and bounded, since a parameter may hold at most
// 1 GiB (and the client builds each in memory).
constexpr std::size_t kRowsPerStatement = 10'000;
constexpr std::size_t kBytesPerStatement = 16 << 20;

constexpr const char* kUpsert =
    "INSERT INTO checkpoint_states (store_id, name, record_number, timestamp_seconds, "
    "timestamp_nanos, bookmark, checksum, update_time_seconds, update_time_nanos, "
    "update_time_checksum) "
    "SELECT $1, * FROM unnest($2::bytea[], $3::bigint[], $4::bigint[], $5::integer[], "
    "$6::bytea[], $7::integer[], $8::bigint[], $9::integer[], $10::integer[]) "
    "ON CONFLICT (store_id, name) DO UPDATE SET record_number = excluded.record_number, "
    "timestamp_seconds = excluded.timestamp_seconds, timestamp_nanos = excluded.timestamp_nanos, "
    "bookmark = excluded.bookmark, checksum = excluded.checksum, "
    "update_time_seconds = excluded.update_time_seconds, "
    "update_time_nanos = excluded.update_time_nanos, "
    "update_time_checksum = excluded.update_time_checksum";

constexpr const char* kDelete =
    "DELETE FROM checkpoint_states WHERE store_id = $1 AND name = ANY($2::bytea[])";

// The proof of a commit: it changes the store's row only while the epoch
// is its writer's. The row stays locked until the transaction ends, so a
// new writer taking the store waits for this commit, or this commit finds
// the new epoch and changes nothing.
constexpr const char* kFence =
    "UPDATE checkpoint_stores SET update_time_seconds = $2, update_time_nanos = $3, "
    "update_time_checksum = $4, updated_at = now() WHERE id = $1 AND epoch = $5";

// What is wrong with a row, where.
struct RowProblem {
  std::string where;
  std::string what;
  std::string name;
};

// The columns of a state row of schema `version`, as COPY (FORMAT binary)
// sends them (kStateColumns). A row without its own update time (schema 1,
// or NULL there) takes the store's, `update_time`.
std::optional<RowProblem> decode_state(const CopyReader::Row& row, std::size_t position,
                                       int version, Timestamp update_time, EventLogState& state) {
  auto at_position = [&](std::string what) {
    return RowProblem{"table checkpoint_states, row " + std::to_string(position), std::move(what),
                      ""};
  };
  const std::size_t columns = version >= 2 ? 9 : 6;
  if (row.size() != columns) {
    return at_position("has " + std::to_string(row.size()) + " columns");
  }
  if (!row[0] || row[0]->empty()) return at_position("name is empty");
  if (!detail::is_valid_utf8(*row[0])) return at_position("name is not UTF-8");
  state.name = std::string(*row[0]);
  auto bad = [&](std::string what) {
    return RowProblem{"table checkpoint_states, row \"" + state.name + "\"", std::move(what),
                      state.name};
  };
  auto sized = [&](std::size_t column, std::size_t bytes) {
    return row[column] && row[column]->size() == bytes;
  };
  if (!sized(1, 8) || !sized(2, 8) || !sized(3, 4) || !sized(5, 4) || !row[4]) {
    return bad("a column is NULL or of another type");
  }
  state.record_number = static_cast<std::uint64_t>(get_int64(row[1]->data()));
  const std::int64_t seconds = get_int64(row[2]->data());
  const std::int32_t nanos = get_int32(row[3]->data());
  if (seconds < Timestamp::kMinSeconds || seconds > Timestamp::kMaxSeconds || nanos < 0 ||
      nanos > 999'999'999) {
    return bad("timestamp_seconds " + std::to_string(seconds) + ", timestamp_nanos " +
               std::to_string(nanos) + " are outside 0001-01-01..9999-12-31");
  }
  state.timestamp = Timestamp::from_unix(seconds, static_cast<std::uint32_t>(nanos));
  if (!detail::is_valid_utf8(*row[4])) return bad("bookmark is not UTF-8");
  state.bookmark = std::string(*row[4]);
  if (static_cast<std::uint32_t>(get_int32(row[5]->data())) != detail::state_checksum(state)) {
    return bad("the values do not match their checksum: the row was changed");
  }
  state.update_time = update_time;
  if (version >= 2 && (row[6] || row[7] || row[8])) {
    if (!sized(6, 8) || !sized(7, 4) || !sized(8, 4)) {
      return bad("the update time is partly NULL or of another type");
    }
    const std::int64_t own_seconds = get_int64(row[6]->data());
    const std::int32_t own_nanos = get_int32(row[7]->data());
    if (own_seconds < Timestamp::kMinSeconds || own_seconds > Timestamp::kMaxSeconds ||
        own_nanos < 0 || own_nanos > 999'999'999) {
      return bad("update_time_seconds " + std::to_string(own_seconds) + ", update_time_nanos " +
                 std::to_string(own_nanos) + " are outside 0001-01-01..9999-12-31");
    }
    state.update_time = Timestamp::from_unix(own_seconds, static_cast<std::uint32_t>(own_nanos));
    if (static_cast<std::uint32_t>(get_int32(row[8]->data())) !=
        detail::timestamp_checksum(state.update_time)) {
      return bad("the update time does not match its checksum: the row was changed");
    }
  }
  return std::nullopt;
}

// The columns decode_state() reads, of a schema version.
std::string state_columns(int version) {
  return std::string(
             "name, record_number, timestamp_seconds, timestamp_nanos, bookmark, checksum") +
         (version >= 2 ? ", update_time_seconds, update_time_nanos, update_time_checksum" : "");
}

class PostgresStore final : public Store {
 public:
  PostgresStore(Settings settings, const OpenOptions& options)
      : settings_(std::move(settings)), mode_(options.mode) {
    connect();
    if (mode_ == OpenMode::read) {
      // Reading only looks: no table, no row, no lock is ever made.
      version_ = read_schema(*conn_);
      if (version_ == 0 || !find_store()) throw missing();
      return;
    }
    version_ = read_schema(*conn_);
    if (version_ == 0 && !options.create_if_missing) throw missing();
    version_ = prepare_schema(*conn_);
    if (!find_store()) {
      if (!options.create_if_missing) throw missing();
      Params name;
      name.add_bytes(settings_.store, oid::kText);
      conn_->exec("INSERT INTO checkpoint_stores (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                  "cannot create the store", name);
      if (!find_store()) {
        throw toolkit::store_error(ErrorCode::io, settings_.label,
                                   "the store was removed while it was being created");
      }
    }
    // The lock first, then the new epoch: once that is committed, a writer
    // that held the store before can commit nothing more, and what this one
    // loads is what it will overwrite.
    if (!try_lock()) wait_for_lock();
    Params take;
    take.add_int4(store_id_);
    take.add_bytes(host_name(), oid::kText);
    take.add_int4(static_cast<std::int32_t>(::getpid()));
    Result epoch = conn_->exec(
        "UPDATE checkpoint_stores SET epoch = epoch + 1, holder_host = $2, holder_pid = $3, "
        "holder_since = now() WHERE id = $1 RETURNING epoch",
        "cannot take the store", take);
    if (PQntuples(epoch.get()) != 1) {
      throw toolkit::store_error(ErrorCode::io, settings_.label,
                                 "the store was removed while it was being opened");
    }
    epoch_ = *int_value(epoch.get(), 0, 0);
    remember_session();
  }

  // The lock is released before the session ends: the server ends a
  // session after its client has gone, and a writer opening the store next
  // (a test, a restarted shipper) must find it free at once.
  ~PostgresStore() override {
    if (mode_ != OpenMode::write || !conn_ || conn_->broken() || fenced_) return;
    try {
      conn_->exec("SELECT pg_advisory_unlock($1, $2)", "cannot unlock the store", lock_params());
    } catch (const Error&) {
      // The session ends with the connection, and its lock with it.
    }
  }

  Timestamp scan(const StateSink& sink) override {
    Timestamp update_time;
    read(
        [&](const CopyReader::Row& row, std::size_t position) {
          EventLogState state;
          if (auto problem = decode_state(row, position, version_, update_time, state)) {
            throw toolkit::store_error(ErrorCode::corrupt, settings_.label,
                                       problem->where + ": " + problem->what);
          }
          sink(std::move(state));
        },
        [&](std::optional<Timestamp> time, const std::string& problem) {
          if (!time) throw toolkit::store_error(ErrorCode::corrupt, settings_.label, problem);
          update_time = *time;
        });
    return update_time;
  }

  // Every row on its own: those that read back exactly, and each that does
  // not, named.
  Salvage salvage() override {
    Salvage out;
    read(
        [&](const CopyReader::Row& row, std::size_t position) {
          EventLogState state;
          if (auto problem =
                  decode_state(row, position, version_, out.readable.update_time, state)) {
            out.damage.push_back({problem->where, problem->what, problem->name});
          } else {
            out.readable.states.push_back(std::move(state));
          }
        },
        [&](std::optional<Timestamp> time, const std::string& problem) {
          if (time) {
            out.readable.update_time = *time;
          } else {
            out.damage.push_back(
                {"table checkpoint_stores, row \"" + settings_.store + "\"", problem, ""});
          }
        });
    return out;
  }

  CheckReport check() override {
    CheckReport report = Store::check();
    for (auto& problem : report.problems) problem = settings_.label + ": " + problem;
    return report;
  }

  void commit(const Changes& changes) override {
    if (mode_ != OpenMode::write) {
      throw toolkit::store_error(ErrorCode::invalid_argument, settings_.label,
                                 "opened for reading; cannot commit");
    }
    if (fenced_) throw taken_over();
    // A connection that was idle may have ended meanwhile (a server
    // restart): the commit is then tried once more on a new one. Nothing
    // of a commit whose COMMIT was not answered is known, but writing the
    // same changes again gives the same result.
    const bool was_idle = conn_ && !conn_->broken();
    for (int attempt = 0;; ++attempt) {
      ensure_connected();
      try {
        write(changes);
        return;
      } catch (const Error& e) {
        if (e.code() != ErrorCode::io || !conn_ || !conn_->broken()) throw;
        const bool timed_out = conn_->timed_out();
        conn_.reset();
        if (attempt > 0 || !was_idle || timed_out) throw;
      }
    }
  }

 private:
  void connect() {
    conn_ = std::make_unique<Connection>(settings_.keywords, settings_.label, settings_.io_timeout);
  }

  Error missing() const {
    return toolkit::store_error(ErrorCode::not_found, settings_.label, "no such store");
  }

  // The store's id and the key of its lock; false if there is no such store.
  bool find_store() {
    Params name;
    name.add_bytes(settings_.store, oid::kText);
    Result found = conn_->exec(
        "SELECT id, 'checkpoint_stores'::regclass::oid::bigint FROM checkpoint_stores "
        "WHERE name = $1",
        "cannot find the store", name);
    if (PQntuples(found.get()) != 1) return false;
    store_id_ = static_cast<std::int32_t>(*int_value(found.get(), 0, 0));
    // An OID is unsigned 32 bits; the lock takes it as signed.
    lock_key_ =
        static_cast<std::int32_t>(static_cast<std::uint32_t>(*int_value(found.get(), 0, 1)));
    return true;
  }

  Params lock_params() const {
    Params key;
    key.add_int4(lock_key_);
    key.add_int4(store_id_);
    return key;
  }

  bool try_lock() {
    Result locked =
        conn_->exec("SELECT pg_try_advisory_lock($1, $2)", "cannot lock the store", lock_params());
    return std::string_view(PQgetvalue(locked.get(), 0, 0)) == "t";
  }

  // Waits lock_timeout_ms at most for the holder to go (a rolling update:
  // the old writer is still closing); the server's lock_timeout ends the
  // wait, so no time is spent polling.
  void wait_for_lock() {
    if (settings_.lock_timeout.count() == 0) throw held_by_another();
    lock_within(settings_.lock_timeout, [&] { throw held_by_another(); });
  }

  template <typename OnTimeout>
  void lock_within(milliseconds timeout, OnTimeout on_timeout) {
    Params limit;
    limit.add_bytes(std::to_string(timeout.count()), oid::kText);
    conn_->exec("SELECT set_config('lock_timeout', $1, false)", "cannot lock the store", limit);
    Result locked = conn_->try_exec("SELECT pg_advisory_lock($1, $2)", "cannot lock the store",
                                    lock_params(), timeout);
    bool ok = PQresultStatus(locked.get()) == PGRES_TUPLES_OK;
    if (!ok && sqlstate(locked.get()) != "55P03")
      conn_->fail(locked.get(), "cannot lock the store");
    conn_->exec("RESET lock_timeout", "cannot lock the store");
    if (!ok) on_timeout();
  }

  // "host web-1, pid 7, since 2024-05-01T10:00:00Z", of the writer that took
  // the store last.
  std::string holder() {
    Params id;
    id.add_int4(store_id_);
    Result row = conn_->exec(
        "SELECT holder_host, holder_pid, "
        "to_char(holder_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "FROM checkpoint_stores WHERE id = $1",
        "cannot read who holds the store", id);
    if (PQntuples(row.get()) != 1 || PQgetisnull(row.get(), 0, 0)) return "one not yet named";
    return std::string("host ") + PQgetvalue(row.get(), 0, 0) + ", pid " +
           PQgetvalue(row.get(), 0, 1) + ", since " + PQgetvalue(row.get(), 0, 2);
  }

  Error held_by_another() {
    return toolkit::store_error(ErrorCode::locked, settings_.label,
                                "another writer holds it (" + holder() + ")");
  }

  Error taken_over() const {
    return toolkit::store_error(
        ErrorCode::locked, settings_.label,
        "another writer took the store over (" + taken_by_ + "): this writer commits nothing more");
  }

  // This session's identity: its process and start time on the server,
  // which no other session shares, for telling it apart once it is gone.
  void remember_session() {
    Result me = conn_->exec(
        "SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()",
        "cannot read the session");
    session_pid_ = conn_->backend_pid();
    session_start_ = PQntuples(me.get()) == 1 ? PQgetvalue(me.get(), 0, 1) : "";
  }

  // A writer whose connection failed connects again and takes its lock
  // again, while the epoch is still its own. Its old session may still hold
  // the lock, when the server has not yet seen it end (a partition): that
  // session is ended first. Another writer holding the lock: Error{locked};
  // another epoch: this writer is fenced, for good.
  void ensure_connected() {
    if (conn_ && !conn_->broken()) return;
    conn_.reset();
    connect();
    if (!try_lock()) {
      switch (end_old_session()) {
        case OldSession::ended:
          lock_within(settings_.io_timeout, [&] {
            throw toolkit::store_error(ErrorCode::io, settings_.label,
                                       "this writer's old session still holds the store's lock");
          });
          break;
        case OldSession::gone:  // it ended between the two looks: the lock is free
          if (try_lock()) break;
          [[fallthrough]];
        case OldSession::another:
          check_epoch();
          throw held_by_another();
      }
    }
    check_epoch();
    remember_session();
  }

  // Whether the epoch is still this writer's; if not, it is fenced for good.
  void check_epoch() {
    Params id;
    id.add_int4(store_id_);
    Result row = conn_->exec("SELECT epoch FROM checkpoint_stores WHERE id = $1",
                             "cannot read the store's epoch", id);
    if (PQntuples(row.get()) == 1 && int_value(row.get(), 0, 0) == epoch_) return;
    taken_by_ = PQntuples(row.get()) == 1 ? holder() : "the store was removed";
    fenced_ = true;
    conn_.reset();  // and the lock with its session
    throw taken_over();
  }

  // Who held the store's lock when this writer could not take it back.
  enum class OldSession {
    ended,    // this writer's previous session, now told to end
    gone,     // nobody any more
    another,  // another session
  };

  // Ends this writer's previous session if it holds the store's lock.
  OldSession end_old_session() {
    Params key;
    key.add_int8(static_cast<std::uint32_t>(lock_key_));
    key.add_int8(store_id_);
    Result holder = conn_->exec(
        "SELECT a.pid, a.backend_start::text FROM pg_locks l JOIN pg_stat_activity a "
        "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 2",
        "cannot find the store's lock", key);
    if (PQntuples(holder.get()) == 0) return OldSession::gone;
    if (PQntuples(holder.get()) != 1 || session_start_.empty() ||
        std::stoi(PQgetvalue(holder.get(), 0, 0)) != session_pid_ ||
        PQgetvalue(holder.get(), 0, 1) != session_start_) {
      return OldSession::another;
    }
    Params pid;
    pid.add_int4(session_pid_);
    conn_->exec("SELECT pg_terminate_backend($1)", "cannot end this writer's old session", pid);
    return OldSession::ended;
  }

  // One transaction: the fence, the removals and the upserts in one
  // pipeline, then COMMIT when the fence held.
  void write(const Changes& changes) {
    Params fence;
    fence.add_int4(store_id_);
    fence.add_int8(changes.update_time.unix_seconds());
    fence.add_int4(static_cast<std::int32_t>(changes.update_time.nanos()));
    fence.add_int4(static_cast<std::int32_t>(detail::timestamp_checksum(changes.update_time)));
    fence.add_int8(epoch_);

    std::size_t statements = 0;
    conn_->begin_pipeline();
    conn_->send("BEGIN", Params{});
    conn_->send(kFence, fence);
    statements += 2;
    for (std::size_t done = 0; done < changes.removed.size();) {
      ArrayBuilder names(oid::kBytea);
      for (; done < changes.removed.size() && names.size() < kRowsPerStatement &&
             names.bytes() < kBytesPerStatement;
           ++done) {
        names.add(std::string_view(changes.removed[done]));
      }
      Params erase;
      erase.add_int4(store_id_);
      erase.add_bytes(names.take(), oid::kByteaArray);
      conn_->send(kDelete, erase);
      ++statements;
    }
    for (std::size_t done = 0; done < changes.upserted.size();) {
      ArrayBuilder names(oid::kBytea), records(oid::kInt8), seconds(oid::kInt8), nanos(oid::kInt4),
          bookmarks(oid::kBytea), checksums(oid::kInt4), own_seconds(oid::kInt8),
          own_nanos(oid::kInt4), own_checksums(oid::kInt4);
      for (; done < changes.upserted.size() && names.size() < kRowsPerStatement &&
             names.bytes() + bookmarks.bytes() < kBytesPerStatement;
           ++done) {
        const EventLogState& state = changes.upserted[done];
        names.add(std::string_view(state.name));
        // The uint64 bit pattern as a signed 64-bit integer; read back the same way.
        records.add(static_cast<std::int64_t>(state.record_number));
        seconds.add(state.timestamp.unix_seconds());
        nanos.add(static_cast<std::int32_t>(state.timestamp.nanos()));
        bookmarks.add(std::string_view(state.bookmark));
        checksums.add(static_cast<std::int32_t>(detail::state_checksum(state)));
        own_seconds.add(state.update_time.unix_seconds());
        own_nanos.add(static_cast<std::int32_t>(state.update_time.nanos()));
        own_checksums.add(static_cast<std::int32_t>(detail::timestamp_checksum(state.update_time)));
      }
      Params upsert;
      upsert.add_int4(store_id_);
      upsert.add_bytes(names.take(), oid::kByteaArray);
      upsert.add_bytes(records.take(), oid::kInt8Array);
      upsert.add_bytes(seconds.take(), oid::kInt8Array);
      upsert.add_bytes(nanos.take(), oid::kInt4Array);
      upsert.add_bytes(bookmarks.take(), oid::kByteaArray);
      upsert.add_bytes(checksums.take(), oid::kInt4Array);
      upsert.add_bytes(own_seconds.take(), oid::kInt8Array);
      upsert.add_bytes(own_nanos.take(), oid::kInt4Array);
      upsert.add_bytes(own_checksums.take(), oid::kInt4Array);
      conn_->send(kUpsert, upsert);
      ++statements;
    }
    conn_->sync();

    // Every result is read before anything is decided: the connection must
    // leave pipeline mode in order.
    Result failed;
    bool fence_held = false;
    for (std::size_t i = 0; i < statements; ++i) {
      Result result = conn_->next();
      if (!result) conn_->lost("cannot commit");
      auto status = PQresultStatus(result.get());
      if (status == PGRES_FATAL_ERROR && !failed) failed = std::move(result);
      if (i == 1 && status == PGRES_COMMAND_OK) {
        fence_held = std::string_view(PQcmdTuples(result.get())) == "1";
      }
      while (Result more = conn_->next()) {
      }
    }
    Result synced = conn_->next();
    if (!synced || PQresultStatus(synced.get()) != PGRES_PIPELINE_SYNC) {
      conn_->lost("cannot commit");
    }
    conn_->end_pipeline();
    if (failed) {
      conn_->rollback();
      conn_->fail(failed.get(), "cannot commit");
    }
    if (!fence_held) {
      conn_->rollback();
      taken_by_ = holder();
      fenced_ = true;
      conn_.reset();
      throw taken_over();
    }
    conn_->exec("COMMIT", "cannot commit");
  }

  // Reads the store's update time, then streams its rows, in one snapshot.
  // `on_row` gets each row and its position; `on_time` the update time, or
  // nullopt and what is wrong with it.
  template <typename OnRow, typename OnTime>
  void read(OnRow on_row, OnTime on_time) {
    if (mode_ == OpenMode::write) {
      if (fenced_) throw taken_over();
      ensure_connected();
    } else {
      if (conn_->broken()) connect();
      // A writer may have upgraded the tables since this reader opened.
      version_ = read_schema(*conn_);
    }
    conn_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "cannot read the store");
    try {
      Params id;
      id.add_int4(store_id_);
      Result meta = conn_->exec(
          "SELECT update_time_seconds, update_time_nanos, update_time_checksum "
          "FROM checkpoint_stores WHERE id = $1",
          "cannot read the store", id);
      if (PQntuples(meta.get()) != 1) throw missing();
      read_update_time(meta.get(), on_time);
      CopyReader reader;
      CopyReader::Row row;
      std::size_t position = 0;
      std::string problem;
      conn_->copy_out("COPY (SELECT " + state_columns(version_) +
                          " FROM checkpoint_states WHERE store_id = " + std::to_string(store_id_) +
                          " ORDER BY name) TO STDOUT (FORMAT binary)",
                      [&](std::string_view chunk) {
                        reader.feed(chunk);
                        while (reader.next(row, problem)) on_row(row, ++position);
                        if (!problem.empty()) {
                          throw toolkit::store_error(ErrorCode::corrupt, settings_.label,
                                                     "table checkpoint_states: " + problem);
                        }
                      });
      if (!reader.finished()) {
        throw toolkit::store_error(ErrorCode::corrupt, settings_.label,
                                   "table checkpoint_states: the rows end without COPY's trailer");
      }
      conn_->exec("COMMIT", "cannot read the store");
    } catch (...) {
      conn_->rollback();
      throw;
    }
  }

  template <typename OnTime>
  void read_update_time(const PGresult* meta, OnTime on_time) {
    auto seconds = int_value(meta, 0, 0), nanos = int_value(meta, 0, 1),
         checksum = int_value(meta, 0, 2);
    if (!seconds && !nanos && !checksum) return on_time(Timestamp(), "");  // no commit yet
    if (!seconds || !nanos || !checksum || *seconds < Timestamp::kMinSeconds ||
        *seconds > Timestamp::kMaxSeconds || *nanos < 0 || *nanos > 999'999'999) {
      return on_time(std::nullopt, "the update time is missing or out of range");
    }
    Timestamp time = Timestamp::from_unix(*seconds, static_cast<std::uint32_t>(*nanos));
    if (static_cast<std::uint32_t>(*checksum) != detail::timestamp_checksum(time)) {
      return on_time(std::nullopt, "the update time does not match its checksum: it was changed");
    }
    on_time(time, "");
  }

  Settings settings_;
  OpenMode mode_;
  std::unique_ptr<Connection> conn_;
  std::int32_t store_id_ = 0;
  std::int32_t lock_key_ = 0;
  int version_ = 0;         // of the tables (schema); a writer upgrades them to kSchemaVersion
  std::int64_t epoch_ = 0;  // writers: the epoch this writer took
  bool fenced_ = false;     // another writer took the store over
  std::string taken_by_;    // that writer, for messages
  int session_pid_ = 0;     // the session that holds the lock
  std::string session_start_;
};

// Options::on_corrupt's move aside (BackendInfo::move_aside): the store's
// row renamed to NAME + suffix (-1, -2, ... if taken), its states with it,
// in one transaction that holds the store's lock, as a writer's; a writer
// holding it: Error{locked}.
std::string move_store_aside(const StoreUri& uri, const std::string& suffix) {
  const Settings settings = read_settings(uri, true);
  Connection conn(settings.keywords, settings.label, settings.io_timeout);
  auto fail = [&](ErrorCode code, const std::string& what) -> Error {
    return toolkit::store_error(code, settings.label, what);
  };
  if (read_schema(conn) == 0) throw fail(ErrorCode::not_found, "no such store");
  std::string aside;
  conn.exec("BEGIN", "cannot move the store aside");
  try {
    Params name;
    name.add_bytes(settings.store, oid::kText);
    Result found = conn.exec(
        "SELECT id, 'checkpoint_stores'::regclass::oid::bigint FROM checkpoint_stores "
        "WHERE name = $1 FOR UPDATE",
        "cannot find the store", name);
    if (PQntuples(found.get()) != 1) throw fail(ErrorCode::not_found, "no such store");
    const auto id = static_cast<std::int32_t>(*int_value(found.get(), 0, 0));
    Params key;
    key.add_int4(
        static_cast<std::int32_t>(static_cast<std::uint32_t>(*int_value(found.get(), 0, 1))));
    key.add_int4(id);
    Result locked =
        conn.exec("SELECT pg_try_advisory_xact_lock($1, $2)", "cannot lock the store", key);
    if (std::string_view(PQgetvalue(locked.get(), 0, 0)) != "t") {
      throw fail(ErrorCode::locked, "another writer holds it; not moved aside");
    }
    for (int n = 0;; ++n) {
      aside = settings.store + suffix + (n == 0 ? "" : "-" + std::to_string(n));
      Params candidate;
      candidate.add_bytes(aside, oid::kText);
      Result taken = conn.exec("SELECT 1 FROM checkpoint_stores WHERE name = $1",
                               "cannot move the store aside", candidate);
      if (PQntuples(taken.get()) == 0) break;
    }
    Params rename;
    rename.add_int4(id);
    rename.add_bytes(aside, oid::kText);
    conn.exec("UPDATE checkpoint_stores SET name = $2 WHERE id = $1", "cannot move the store aside",
              rename);
    conn.exec("COMMIT", "cannot move the store aside");
  } catch (...) {
    conn.rollback();
    throw;
  }
  return "store " + aside + " of the same database";
}

BackendInfo backend_info(const char* scheme, const char* description) {
  BackendInfo info{scheme, description, {}, {}, true};
  info.move_aside = move_store_aside;
  info.options.assign(std::begin(kOwnOptions), std::end(kOwnOptions));
  for (auto& key : libpq_options()) info.options.push_back(std::move(key));
  return info;
}

}  // namespace

BackendInfo postgresql_backend_info() {
  return backend_info("postgresql",
                      "PostgreSQL database shared by many stores (store=NAME), one row per "
                      "state; fenced writers; a commit writes only what changed");
}

BackendInfo postgres_backend_info() { return backend_info("postgres", "the same as postgresql:"); }

std::unique_ptr<Store> open_postgresql_store(const StoreUri& uri, const OpenOptions& options) {
  return std::make_unique<PostgresStore>(read_settings(uri, true), options);
}

std::vector<StoreSummary> list_postgresql_stores(const StoreUri& uri) {
  Settings settings = read_settings(uri, false);
  Connection conn(settings.keywords, settings.label, settings.io_timeout);
  std::vector<StoreSummary> out;
  if (read_schema(conn) == 0) return out;
  // Held: some session holds the store's lock now. The count reads every
  // row of the store, which a person asking can wait for.
  Result rows = conn.exec(
      "SELECT s.name, (SELECT count(*) FROM checkpoint_states t WHERE t.store_id = s.id), "
      "s.update_time_seconds, s.update_time_nanos, s.holder_host, s.holder_pid, "
      "to_char(s.holder_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
      "AND l.classid = 'checkpoint_stores'::regclass::oid AND l.objid::bigint = s.id "
      "AND l.objsubid = 2) "
      "FROM checkpoint_stores s ORDER BY s.name",
      "cannot list the stores");
  for (int i = 0; i < PQntuples(rows.get()); ++i) {
    StoreSummary summary;
    summary.name = PQgetvalue(rows.get(), i, 0);
    summary.states = static_cast<std::size_t>(*int_value(rows.get(), i, 1));
    auto seconds = int_value(rows.get(), i, 2), nanos = int_value(rows.get(), i, 3);
    if (seconds && nanos && *seconds >= Timestamp::kMinSeconds &&
        *seconds <= Timestamp::kMaxSeconds && *nanos >= 0 && *nanos <= 999'999'999) {
      summary.update_time = Timestamp::from_unix(*seconds, static_cast<std::uint32_t>(*nanos));
    }
    if (std::string_view(PQgetvalue(rows.get(), i, 7)) == "t") {
      summary.holder = std::string("host ") + PQgetvalue(rows.get(), i, 4) + ", pid " +
                       PQgetvalue(rows.get(), i, 5) + ", since " + PQgetvalue(rows.get(), i, 6);
    }
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace checkpoint::backends
