// The postgresql: backend beyond the conformance suite, against the private
// test server: config strings and passwords, the schema and its version,
// what a commit sends, reading, one writer fenced, listing the stores.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "tests/postgresql/tcp_proxy.hpp"
#include "tests/postgresql/test_server.hpp"

namespace {

using checkpoint::Changes;
using checkpoint::Error;
using checkpoint::ErrorCode;
using checkpoint::EventLogState;
using checkpoint::OpenMode;
using checkpoint::Store;
using checkpoint::Timestamp;
using ::testing::HasSubstr;
using ::testing::Not;

EventLogState state(std::string name, std::uint64_t number, std::string bookmark = "") {
  return {std::move(name), number, Timestamp::from_unix(1'700'000'000, 123'456'789),
          std::move(bookmark)};
}

void commit(Store& store, std::vector<EventLogState> upserted,
            std::vector<std::string> removed = {},
            Timestamp time = Timestamp::from_unix(1'700'000'001, 1)) {
  store.commit(Changes{time, upserted, removed});
}

// Runs `fn`, which must throw Error with `code`; returns its message.
template <typename Fn>
std::string error_of(ErrorCode code, Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error{" << to_string(code) << "} was thrown";
  return "";
}

// A schema of its own for a test that changes or inspects the tables, made
// for role checkpoint: stores in it are reached with options=-csearch_path=.
std::string fresh_schema() {
  std::string schema = pgtest::unique_name("schema");
  for (char& c : schema) {
    if (c == '-') c = '_';
  }
  pgtest::admin("CREATE SCHEMA " + schema + " AUTHORIZATION checkpoint");
  return schema;
}

std::string in_schema(const std::string& schema, const std::string& store,
                      std::string_view more = "") {
  return pgtest::store_uri(
      store, "options=-csearch_path%3D" + schema + (more.empty() ? "" : "&") + std::string(more));
}

// ---- Config strings -------------------------------------------------------

TEST(PostgresqlConfig, ParsesHostsUserAndPasswordWithoutShowingIt) {
  auto uri = checkpoint::parse_store_uri(
      "postgresql://app:s%40cret@db1:5432,db2/state?store=web&target_session_attrs=read-write");
  EXPECT_EQ(uri.scheme, "postgresql");
  EXPECT_EQ(uri.target, "app@db1:5432,db2/state");
  EXPECT_EQ(uri.options.at("password"), "s@cret");
  EXPECT_EQ(uri.options.at("store"), "web");
  EXPECT_EQ(uri.text,
            "postgresql://app:***@db1:5432,db2/state?store=web&target_session_attrs=read-write");
  // A password in an option is hidden the same way.
  EXPECT_EQ(checkpoint::parse_store_uri("postgres://h/db?password=x&store=a&sslpassword=y").text,
            "postgres://h/db?password=***&store=a&sslpassword=***");
  // Backends that keep files still want an absolute path after "//".
  error_of(ErrorCode::invalid_config, [] { checkpoint::parse_store_uri("sqlite://host/x.db"); });
}

TEST(PostgresqlConfig, BadStringsNameTheProblemAndNeverThePassword) {
  const std::string base = "postgresql://u:hunter2@127.0.0.1:1/db";
  for (const std::string& text :
       {base, base + "?store=a&nonsense=1", base + "?store=a&lock_timeout_ms=-1",
        base + "?store=a&io_timeout_ms=0", base + "?store=a&password=again",
        std::string("postgresql://u:hun%zzter2@h/db?store=a")}) {
    std::string message =
        error_of(ErrorCode::invalid_config, [&] { Store::open(text, {.mode = OpenMode::read}); });
    EXPECT_THAT(message, Not(HasSubstr("hunter2"))) << text;
    EXPECT_THAT(message, Not(HasSubstr("hun%zzter2"))) << text;
  }
  EXPECT_THAT(
      error_of(ErrorCode::invalid_config, [&] { Store::open(base, {.mode = OpenMode::read}); }),
      HasSubstr("store=NAME"));
  EXPECT_THAT(
      error_of(ErrorCode::invalid_config, [&] { Store::open(base + "?store=a&nonsense=1"); }),
      HasSubstr("sslmode"));  // the known options include libpq's
}

TEST(PostgresqlConfig, APasswordInTheStringLogsInAndIsShownNowhere) {
  // Role checkpoint_password must give its password (scram-sha-256).
  const std::string port = std::to_string(pgtest::server_port());
  const std::string name = pgtest::unique_name("password");
  const std::string good =
      "postgresql://checkpoint_password:checkpoint-test-secret@127.0.0.1:" + port +
      "/checkpoint?store=" + name;
  {
    auto writer = Store::open(good);
    commit(*writer, {state("a", 1)});
    // A second writer's refusal, with the password in its string too.
    std::string message = error_of(ErrorCode::locked, [&] { Store::open(good); });
    EXPECT_THAT(message, HasSubstr(name));
    EXPECT_THAT(message, Not(HasSubstr("checkpoint-test-secret")));
  }
  EXPECT_EQ(Store::open(good, {.mode = OpenMode::read})->load().states.size(), 1u);
  // As an option, and through PGPASSWORD's way, .pgpass: here the option.
  EXPECT_EQ(Store::open("postgresql://checkpoint_password@127.0.0.1:" + port +
                            "/checkpoint?store=" + name + "&password=checkpoint-test-secret",
                        {.mode = OpenMode::read})
                ->load()
                .states.size(),
            1u);
  // A wrong password: Error{io} from the server, without the password.
  std::string wrong = error_of(ErrorCode::io, [&] {
    Store::open("postgresql://checkpoint_password:not-the-Secret@127.0.0.1:" + port +
                "/checkpoint?store=" + name);
  });
  EXPECT_THAT(wrong, HasSubstr("password authentication failed"));
  EXPECT_THAT(wrong, Not(HasSubstr("not-the-Secret")));
  // Missing store, read mode.
  std::string missing = error_of(ErrorCode::not_found, [&] {
    Store::open("postgresql://checkpoint_password:checkpoint-test-secret@127.0.0.1:" + port +
                    "/checkpoint?store=no-such-" + name,
                {.mode = OpenMode::read});
  });
  EXPECT_THAT(missing, Not(HasSubstr("checkpoint-test-secret")));
}

TEST(PostgresqlConfig, PostgresSchemeIsTheSameBackendAndLibpqOptionsPassThrough) {
  const std::string name = pgtest::unique_name("scheme");
  std::string uri = pgtest::store_uri(name, "application_name=checkpoint-test-" + name);
  uri.replace(0, std::string("postgresql").size(), "postgres");
  auto writer = Store::open(uri);
  commit(*writer, {state("a", 7)});
  EXPECT_EQ(pgtest::admin("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                          "'checkpoint-test-" +
                          name + "'"),
            "1");
  auto loaded = Store::open(pgtest::store_uri(name), {.mode = OpenMode::read})->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0].record_number, 7u);
}

// ---- Schema and values ----------------------------------------------------

TEST(PostgresqlSchema, ReadersCreateNothingAndTheFirstWriterCreatesVersion2) {
  const std::string schema = fresh_schema();
  const std::string uri = in_schema(schema, "first");
  auto tables = [&] {
    return pgtest::admin("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema + "'");
  };
  error_of(ErrorCode::not_found, [&] { Store::open(uri, {.mode = OpenMode::read}); });
  error_of(ErrorCode::not_found,
           [&] { Store::open(uri, {.mode = OpenMode::write, .create_if_missing = false}); });
  EXPECT_EQ(tables(), "0") << "opening without creating made tables";
  {
    auto writer = Store::open(uri);
    EXPECT_TRUE(writer->load().states.empty());
  }
  EXPECT_EQ(tables(), "3");
  EXPECT_EQ(pgtest::admin("SELECT version FROM " + schema + ".checkpoint_schema"), "2");
  // Another store of the same tables, missing: not_found, and no row made.
  error_of(ErrorCode::not_found,
           [&] { Store::open(in_schema(schema, "second"), {.mode = OpenMode::read}); });
  error_of(ErrorCode::not_found, [&] {
    Store::open(in_schema(schema, "second"), {.mode = OpenMode::write, .create_if_missing = false});
  });
  EXPECT_EQ(pgtest::admin("SELECT count(*) FROM " + schema + ".checkpoint_stores"), "1");
}

TEST(PostgresqlSchema, ANewerVersionIsUnsupportedAndOddTablesCorrupt) {
  const std::string schema = fresh_schema();
  const std::string uri = in_schema(schema, "s");
  Store::open(uri).reset();
  pgtest::admin("UPDATE " + schema + ".checkpoint_schema SET version = 3");
  EXPECT_THAT(error_of(ErrorCode::unsupported, [&] { Store::open(uri, {.mode = OpenMode::read}); }),
              HasSubstr("schema version 3 is newer"));
  error_of(ErrorCode::unsupported, [&] { Store::open(uri); });
  pgtest::admin("UPDATE " + schema + ".checkpoint_schema SET version = 2");
  pgtest::admin("DROP TABLE " + schema + ".checkpoint_states");
  error_of(ErrorCode::corrupt, [&] { Store::open(uri, {.mode = OpenMode::read}); });
}

// Tables of schema 1 (release 0.1: no per-state update times) are those of
// schema 2 without its three update time columns, and their rows carry the
// same checksum. A reader loads them with the store's update time; the
// first writer upgrades the tables in one transaction, every row taking
// its store's update time.
TEST(PostgresqlSchema, Version1TablesLoadExactlyAndTheFirstWriterUpgradesThem) {
  const std::string schema = fresh_schema();
  const Timestamp stored_at = Timestamp::from_unix(1'700'000'001, 1);
  {
    auto writer = Store::open(in_schema(schema, "old"));
    writer->load();
    commit(*writer, {state("a", 1), state("b", 2, "<b/>")}, {}, stored_at);
  }
  pgtest::admin("ALTER TABLE " + schema +
                ".checkpoint_states DROP COLUMN update_time_seconds, DROP COLUMN "
                "update_time_nanos, DROP COLUMN update_time_checksum");
  pgtest::admin("UPDATE " + schema + ".checkpoint_schema SET version = 1");

  auto with_store_time = [&](EventLogState s) {
    s.update_time = stored_at;
    return s;
  };
  const std::vector<EventLogState> expected = {with_store_time(state("a", 1)),
                                               with_store_time(state("b", 2, "<b/>"))};
  // A reader open across the upgrade reads each version as it finds it.
  auto reader = Store::open(in_schema(schema, "old"), {.mode = OpenMode::read});
  checkpoint::PersistedState read = reader->load();
  EXPECT_EQ(read.update_time, stored_at);
  EXPECT_EQ(read.states, expected);
  EXPECT_EQ(pgtest::admin("SELECT version FROM " + schema + ".checkpoint_schema"), "1")
      << "a reader upgraded the tables";

  auto writer = Store::open(in_schema(schema, "old"));
  EXPECT_EQ(pgtest::admin("SELECT version FROM " + schema + ".checkpoint_schema"), "2");
  EXPECT_EQ(pgtest::admin("SELECT count(*) FROM " + schema +
                          ".checkpoint_states WHERE update_time_seconds = 1700000001 AND "
                          "update_time_nanos = 1"),
            "2");
  EXPECT_EQ(writer->load().states, expected);
  EventLogState changed = state("a", 3);
  changed.update_time = Timestamp::from_unix(1'800'000'000, 5);
  commit(*writer, {changed}, {}, changed.update_time);
  read = Store::open(in_schema(schema, "old"), {.mode = OpenMode::read})->load();
  EXPECT_EQ(read.states, (std::vector<EventLogState>{changed, expected[1]}));
  EXPECT_EQ(reader->load().states, read.states) << "a reader opened before the upgrade";
}

// Options::on_corrupt on a store of a shared database: the damaged store is
// renamed NAME.corrupt-<time> (its rows kept with it), and a new store of
// the name starts from what salvage() read (salvage) or from nothing
// (reset); fail, the default, leaves everything as it was.
TEST(PostgresqlOnCorrupt, TheDamagedStoreIsRenamedAsideAndANewOneTakesItsName) {
  const std::string schema = fresh_schema();
  auto damaged = [&](const std::string& name) {
    const std::string uri = in_schema(schema, name);
    {
      auto writer = Store::open(uri);
      writer->load();
      commit(*writer, {state("a", 1), state("b", 2), state("c", 3)});
    }
    pgtest::admin("UPDATE " + schema +
                  ".checkpoint_states SET record_number = 7 WHERE name = 'b'::bytea AND "
                  "store_id = (SELECT id FROM " +
                  schema + ".checkpoint_stores WHERE name = '" + name + "')");
    return uri;
  };
  auto stores_like = [&](const std::string& pattern) {
    return pgtest::admin("SELECT count(*) FROM " + schema + ".checkpoint_stores WHERE name LIKE '" +
                         pattern + "'");
  };
  const std::string failing = damaged("failing");
  EXPECT_THROW(checkpoint::Checkpoint{failing}, Error);
  EXPECT_EQ(stores_like("failing.corrupt-%"), "0") << "fail moved the store";

  checkpoint::Options options;
  options.on_corrupt = checkpoint::CorruptPolicy::salvage;
  std::vector<std::string> reported;
  options.on_error = [&](const Error& e) { reported.push_back(e.what()); };
  {
    checkpoint::Checkpoint cp(damaged("salvaged"), options);
    checkpoint::StateMap states = cp.states();
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states.at("a").record_number, 1u);
    EXPECT_EQ(states.at("c").record_number, 3u);
    const checkpoint::Stats stats = cp.stats();
    EXPECT_EQ(stats.corrupt_salvaged, 2u);
    EXPECT_EQ(stats.corrupt_lost, 1u);
    EXPECT_THAT(stats.corrupt_recovery, HasSubstr("moved it aside as store salvaged.corrupt-"));
  }
  EXPECT_EQ(stores_like("salvaged.corrupt-%"), "1");
  EXPECT_EQ(pgtest::admin("SELECT count(*) FROM " + schema + ".checkpoint_states t JOIN " + schema +
                          ".checkpoint_stores s ON s.id = t.store_id WHERE s.name LIKE "
                          "'salvaged.corrupt-%'"),
            "3")
      << "the damaged store's rows were not kept";
  EXPECT_EQ(
      Store::open(in_schema(schema, "salvaged"), {.mode = OpenMode::read})->load().states.size(),
      2u);

  options.on_corrupt = checkpoint::CorruptPolicy::reset;
  {
    checkpoint::Checkpoint cp(damaged("reset"), options);
    EXPECT_TRUE(cp.states().empty());
  }
  EXPECT_EQ(stores_like("reset.corrupt-%"), "1");
}

TEST(PostgresqlSchema, ValuesAreStoredExactlyAsDocumented) {
  const std::string schema = fresh_schema();
  auto writer = Store::open(in_schema(schema, "values"));
  const std::string nul_name("nul\0inside", 10);
  commit(*writer, {state(nul_name, UINT64_MAX, std::string("b\0m", 3))});
  // bytea keeps the NUL; the uint64 shows as its signed bit pattern.
  EXPECT_EQ(pgtest::admin("SELECT encode(name, 'hex') || ' ' || record_number || ' ' || "
                          "encode(bookmark, 'hex') FROM " +
                          schema + ".checkpoint_states"),
            "6e756c00696e73696465 -1 62006d");
  auto loaded = writer->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0], state(nul_name, UINT64_MAX, std::string("b\0m", 3)));
}

TEST(PostgresqlSchema, ACommitSendsOnlyTheChanges) {
  // Through a proxy that counts the bytes: one changed state among 20,000
  // is a few hundred bytes, not the whole set.
  pgtest::TcpProxy proxy(pgtest::server_port());
  const std::string name = pgtest::unique_name("changes");
  auto writer = Store::open(pgtest::store_uri_via(proxy.port(), name));
  std::vector<EventLogState> all;
  for (int i = 0; i < 20'000; ++i) all.push_back(state("stream-" + std::to_string(i), 1, "<b/>"));
  std::size_t before = proxy.bytes(pgtest::Direction::to_server);
  commit(*writer, all);
  const std::size_t full = proxy.bytes(pgtest::Direction::to_server) - before;
  before = proxy.bytes(pgtest::Direction::to_server);
  commit(*writer, {state("stream-7", 2)}, {"stream-8"});
  const std::size_t small = proxy.bytes(pgtest::Direction::to_server) - before;
  EXPECT_GT(full, 20'000u * 20);
  EXPECT_LT(small, 2'000u) << "a commit of one change sent " << small << " bytes";
  auto loaded = Store::open(pgtest::store_uri(name), {.mode = OpenMode::read})->load();
  EXPECT_EQ(loaded.states.size(), 19'999u);
}

TEST(PostgresqlSchema, AChangedRowIsDamageThatSalvageAndCheckName) {
  const std::string schema = fresh_schema();
  const std::string uri = in_schema(schema, "damaged");
  commit(*Store::open(uri), {state("good-1", 1), state("changed", 2), state("good-2", 3)});
  pgtest::admin("UPDATE " + schema +
                ".checkpoint_states SET record_number = 99 WHERE name = 'changed'::bytea");
  auto reader = Store::open(uri, {.mode = OpenMode::read});
  EXPECT_THAT(error_of(ErrorCode::corrupt, [&] { reader->load(); }), HasSubstr("row \"changed\""));
  checkpoint::Salvage salvaged = reader->salvage();
  ASSERT_EQ(salvaged.readable.states.size(), 2u);
  ASSERT_EQ(salvaged.damage.size(), 1u);
  EXPECT_EQ(salvaged.damage[0].name, "changed");
  EXPECT_FALSE(salvaged.readable.update_time.is_zero());
  checkpoint::CheckReport report = reader->check();
  EXPECT_EQ(report.states, 2u);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], HasSubstr("checksum"));
  // The update time is checked too.
  pgtest::admin("UPDATE " + schema + ".checkpoint_stores SET update_time_nanos = 5");
  EXPECT_THAT(error_of(ErrorCode::corrupt, [&] { reader->load(); }), HasSubstr("update time"));
  EXPECT_EQ(reader->salvage().damage.size(), 2u);
}

// ---- One writer, fenced -----------------------------------------------------

TEST(PostgresqlWriter, ASecondWriterIsToldWhoHoldsTheStore) {
  const std::string name = pgtest::unique_name("holder");
  pgtest::ChildWriter holder;
  ASSERT_EQ(holder.ask("open " + pgtest::store_uri(name)), "ok");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string message = error_of(ErrorCode::locked, [&] { Store::open(pgtest::store_uri(name)); });
  EXPECT_THAT(message, HasSubstr(name));
  EXPECT_THAT(message, HasSubstr(std::string("host ") + host));
  EXPECT_THAT(message, HasSubstr("pid " + std::to_string(holder.pid())));
  EXPECT_THAT(message, HasSubstr("since 20"));
  // Readers load meanwhile.
  EXPECT_NO_THROW(Store::open(pgtest::store_uri(name), {.mode = OpenMode::read})->load());
}

TEST(PostgresqlWriter, LockTimeoutWaitsForTheHolderToGo) {
  const std::string name = pgtest::unique_name("rolling");
  pgtest::ChildWriter old_pod;
  ASSERT_EQ(old_pod.ask("open " + pgtest::store_uri(name)), "ok");
  ASSERT_EQ(old_pod.ask("commit a 41"), "ok");
  // A short wait ends in Error{locked}, naming the holder.
  EXPECT_THAT(error_of(ErrorCode::locked,
                       [&] { Store::open(pgtest::store_uri(name, "lock_timeout_ms=50")); }),
              HasSubstr("pid " + std::to_string(old_pod.pid())));
  // A long one gets the store once the holder goes, and loads its last commit.
  auto new_pod = std::async(std::launch::async, [&] {
    return Store::open(pgtest::store_uri(name, "lock_timeout_ms=60000"));
  });
  // Once the new writer waits on the lock (the server shows it), the old goes.
  for (int i = 0; i < 10'000 && pgtest::admin("SELECT count(*) FROM pg_locks WHERE locktype = "
                                              "'advisory' AND NOT granted") == "0";
       ++i) {
  }
  ASSERT_EQ(old_pod.ask("commit a 42"), "ok");
  old_pod.send("quit");
  auto writer = new_pod.get();
  auto loaded = writer->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0].record_number, 42u);
}

TEST(PostgresqlWriter, AWriterWhoseEpochWasTakenCommitsNothingEver) {
  const std::string schema = fresh_schema();
  const std::string uri = in_schema(schema, "fenced");
  auto writer = Store::open(uri);
  commit(*writer, {state("a", 1)});
  // What a new writer's takeover does: a new epoch (an operator may do it).
  pgtest::admin("UPDATE " + schema +
                ".checkpoint_stores SET epoch = epoch + 1, holder_host = 'new-pod', "
                "holder_pid = 4242, holder_since = now()");
  std::string message = error_of(ErrorCode::locked, [&] { commit(*writer, {state("a", 2)}); });
  EXPECT_THAT(message, HasSubstr("new-pod"));
  EXPECT_THAT(message, HasSubstr("commits nothing more"));
  error_of(ErrorCode::locked, [&] { commit(*writer, {state("a", 3)}); });
  error_of(ErrorCode::locked, [&] { writer->load(); });
  auto loaded = Store::open(uri, {.mode = OpenMode::read})->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0].record_number, 1u);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(1'700'000'001, 1));
}

TEST(PostgresqlWriter, AWriterWhoseConnectionDroppedReconnectsAndGoesOn) {
  pgtest::TcpProxy proxy(pgtest::server_port());
  const std::string name = pgtest::unique_name("reconnect");
  auto writer = Store::open(pgtest::store_uri_via(proxy.port(), name));
  commit(*writer, {state("a", 1)});
  const std::string epoch_sql = "SELECT epoch FROM checkpoint_stores WHERE name = '" + name + "'";
  const std::string epoch = pgtest::admin(epoch_sql);
  for (int round = 2; round <= 4; ++round) {
    proxy.cut_all();  // between commits: the next one finds its connection gone
    commit(*writer, {state("a", static_cast<std::uint64_t>(round))});
  }
  EXPECT_EQ(pgtest::admin(epoch_sql), epoch) << "reconnecting took a new epoch";
  // It holds the store again: a second writer is still refused.
  error_of(ErrorCode::locked, [&] { Store::open(pgtest::store_uri(name)); });
  EXPECT_EQ(writer->load().states.at(0).record_number, 4u);
}

// ---- Listing ----------------------------------------------------------------

TEST(PostgresqlList, ListsEveryStoreWithCountsHolderAndUpdateTime) {
  const std::string schema = fresh_schema();
  auto held = Store::open(in_schema(schema, "held"));
  commit(*held, {state("a", 1), state("b", 2)}, {}, Timestamp::from_unix(1'700'000'100, 5));
  commit(*Store::open(in_schema(schema, "idle")), {state("c", 3)}, {},
         Timestamp::from_unix(1'700'000'200, 0));
  auto stores =
      checkpoint::list_stores(pgtest::server_uri() + "?options=-csearch_path%3D" + schema);
  ASSERT_EQ(stores.size(), 2u);
  EXPECT_EQ(stores[0].name, "held");
  EXPECT_EQ(stores[0].states, 2u);
  EXPECT_EQ(stores[0].update_time, Timestamp::from_unix(1'700'000'100, 5));
  EXPECT_THAT(stores[0].holder, HasSubstr("pid " + std::to_string(::getpid())));
  EXPECT_EQ(stores[1].name, "idle");
  EXPECT_EQ(stores[1].states, 1u);
  EXPECT_EQ(stores[1].holder, "");
  // A database without the tables holds no stores; a file backend lists none.
  EXPECT_TRUE(
      checkpoint::list_stores(pgtest::server_uri() + "?options=-csearch_path%3D" + fresh_schema())
          .empty());
  EXPECT_THAT(error_of(ErrorCode::unsupported, [] { checkpoint::list_stores("sqlite:/tmp/x.db"); }),
              HasSubstr("sqlite"));
}

}  // namespace
