// The postgresql: backend when the network fails: a connection cut at every
// point of a commit, in either direction; a frozen connection (a
// partition); a writer killed with SIGKILL; and a writer partitioned away
// while a new one takes its store, which must then never write again. A
// commit is all or nothing: a failed one leaves the previous commit or
// (when only its answer was lost) the new one, and no acknowledged commit
// is lost.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"
#include "tests/postgresql/tcp_proxy.hpp"
#include "tests/postgresql/test_server.hpp"

namespace {

using checkpoint::Changes;
using checkpoint::Error;
using checkpoint::ErrorCode;
using checkpoint::EventLogState;
using checkpoint::OpenMode;
using checkpoint::PersistedState;
using checkpoint::Store;
using checkpoint::Timestamp;
using pgtest::Direction;

// Commit number `n`: states "a" and "b" = n (a load that finds them
// different saw half a commit), "kept-n" added and every earlier "kept-"
// removed, update time n.
struct Version {
  std::uint64_t n;
  std::vector<EventLogState> states() const {
    return {{"a", n, Timestamp::from_unix(1'700'000'000 + static_cast<std::int64_t>(n), 1), "<x/>"},
            {"b", n, Timestamp::from_unix(1'700'000'000, static_cast<std::uint32_t>(n)), ""},
            {"kept-" + std::to_string(n), n, Timestamp(), ""}};
  }
  Timestamp time() const { return Timestamp::from_unix(static_cast<std::int64_t>(n), 7); }
  void commit(Store& store) const {
    auto upserted = states();
    std::vector<std::string> removed;
    for (std::uint64_t k = 0; k < n; ++k) removed.push_back("kept-" + std::to_string(k));
    std::sort(removed.begin(), removed.end());
    store.commit(Changes{time(), upserted, removed});
  }
};

// Which version the store holds: 0 if it matches none exactly.
std::uint64_t version_in(const PersistedState& loaded) {
  if (loaded.states.size() != 3) return 0;
  std::uint64_t n = loaded.states[0].record_number;
  Version v{n};
  auto expected = v.states();
  std::sort(expected.begin(), expected.end(),
            [](const auto& x, const auto& y) { return x.name < y.name; });
  return loaded.states == expected && loaded.update_time == v.time() ? n : 0;
}

std::uint64_t stored_version(const std::string& name) {
  return version_in(Store::open(pgtest::store_uri(name), {.mode = OpenMode::read})->load());
}

TEST(PostgresqlFault, ACutAtAnyPointOfACommitIsAllOrNothing) {
  pgtest::TcpProxy proxy(pgtest::server_port());
  const std::string name = pgtest::unique_name("cut");
  auto writer = Store::open(pgtest::store_uri_via(proxy.port(), name, "io_timeout_ms=20000"));
  Version{1}.commit(*writer);
  // How many bytes a commit sends and receives.
  std::size_t sent = proxy.bytes(Direction::to_server);
  std::size_t received = proxy.bytes(Direction::to_client);
  Version{2}.commit(*writer);
  sent = proxy.bytes(Direction::to_server) - sent;
  received = proxy.bytes(Direction::to_client) - received;
  ASSERT_GT(sent, 100u);

  std::uint64_t n = 2;
  auto cut_at = [&](Direction direction, std::size_t bytes) {
    SCOPED_TRACE("cut after " + std::to_string(bytes) + " bytes " +
                 (direction == Direction::to_server ? "sent" : "received"));
    ++n;
    proxy.cut_after(direction, bytes);
    proxy.refuse_new(true);  // no reconnecting within this commit
    bool failed = false;
    try {
      Version{n}.commit(*writer);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
      failed = true;
    }
    proxy.refuse_new(false);
    ASSERT_TRUE(proxy.cut_done());
    ASSERT_TRUE(failed) << "a commit whose connection was cut returned";
    std::uint64_t found = stored_version(name);
    if (direction == Direction::to_server) {
      // Its COMMIT never arrived whole.
      EXPECT_EQ(found, n - 1) << "a commit cut short changed the store";
    } else {
      EXPECT_TRUE(found == n - 1 || found == n) << "the store holds version " << found;
    }
    // The next commit reconnects (ending the old session if the server
    // still has it) and carries the failed one's changes.
    ++n;
    Version{n}.commit(*writer);
    EXPECT_EQ(stored_version(name), n);
  };
  for (std::size_t bytes = 0; bytes < sent; bytes += std::max<std::size_t>(1, sent / 12)) {
    cut_at(Direction::to_server, bytes);
  }
  cut_at(Direction::to_server, sent - 1);
  for (std::size_t bytes = 0; bytes < received; bytes += std::max<std::size_t>(1, received / 6)) {
    cut_at(Direction::to_client, bytes);
  }
  cut_at(Direction::to_client, received - 1);
}

TEST(PostgresqlFault, AFrozenConnectionIsAnIoErrorAfterTheTimeoutThenTheWriterGoesOn) {
  pgtest::TcpProxy proxy(pgtest::server_port());
  const std::string name = pgtest::unique_name("frozen");
  auto writer = Store::open(pgtest::store_uri_via(proxy.port(), name, "io_timeout_ms=300"));
  Version{1}.commit(*writer);
  proxy.freeze();
  try {
    Version{2}.commit(*writer);
    FAIL() << "a commit on a frozen connection returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
    EXPECT_NE(std::string(e.what()).find("io_timeout_ms"), std::string::npos) << e.what();
  }
  EXPECT_EQ(stored_version(name), 1u);
  // The frozen session still holds the store's lock on the server: the
  // writer's next commit ends it and goes on, with the same epoch.
  Version{3}.commit(*writer);
  EXPECT_EQ(stored_version(name), 3u);
  proxy.thaw();
}

TEST(PostgresqlFault, AKilledWriterLosesNoAcknowledgedCommitAndLeavesNoHalfCommit) {
  const std::string name = pgtest::unique_name("killed");
  std::mt19937 random(20240501);
  std::uint64_t acknowledged = 0;
  for (int round = 0; round < 4; ++round) {
    pgtest::ChildWriter writer;
    // The next writer waits for the server to see the killed one's session end.
    writer.send("run " + pgtest::store_uri(name, "lock_timeout_ms=30000"));
    const int acks = 1 + static_cast<int>(random() % 20);
    for (int i = 0; i < acks; ++i) {
      std::string line = writer.line();
      ASSERT_EQ(line.rfind("acked ", 0), 0u) << line;
      acknowledged = std::stoull(line.substr(6));
    }
    writer.kill9();  // most likely in the middle of the next commit
    auto reopened = Store::open(pgtest::store_uri(name, "lock_timeout_ms=30000"));
    PersistedState loaded = reopened->load();
    ASSERT_EQ(loaded.states.size(), 2u);
    EXPECT_EQ(loaded.states[0].record_number, loaded.states[1].record_number)
        << "half a commit was loaded";
    EXPECT_GE(loaded.states[0].record_number, acknowledged) << "an acknowledged commit was lost";
    // The run starts again from 1: start the store afresh for the next round.
    reopened->commit(Changes{Timestamp(), {}, std::vector<std::string>{"a", "b"}});
    acknowledged = 0;
  }
}

TEST(PostgresqlFault, AWriterPartitionedAwayWhileANewOneTookTheStoreNeverWritesAgain) {
  pgtest::TcpProxy proxy(pgtest::server_port());
  const std::string name = pgtest::unique_name("partition");
  const std::string app = "partitioned-" + name;
  pgtest::ChildWriter old_writer;
  ASSERT_EQ(
      old_writer.ask("open " + pgtest::store_uri_via(proxy.port(), name,
                                                     "io_timeout_ms=500&application_name=" + app)),
      "ok");
  ASSERT_EQ(old_writer.ask("commit a 1"), "ok");
  // The partition: the old writer's next commit hangs; the server ends its
  // session (as its keepalives would), and a new writer takes the store.
  proxy.freeze();
  old_writer.send("commit a 2");
  pgtest::admin(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + app +
      "'");
  auto new_writer = Store::open(pgtest::store_uri(name, "lock_timeout_ms=30000"));
  const EventLogState newer[] = {{"a", 100, Timestamp(), "new"}};
  new_writer->commit(Changes{Timestamp::from_unix(100, 0), newer, {}});
  // The old writer's commit fails; so does every later one, whether the
  // new writer still holds the store or has gone.
  EXPECT_EQ(old_writer.line().rfind("error io ", 0), 0u);
  proxy.thaw();
  std::string refused = old_writer.ask("commit a 3");
  EXPECT_EQ(refused.rfind("error locked ", 0), 0u) << refused;
  EXPECT_NE(refused.find("took the store over"), std::string::npos) << refused;
  new_writer.reset();
  refused = old_writer.ask("commit a 4");
  EXPECT_EQ(refused.rfind("error locked ", 0), 0u) << refused;
  PersistedState loaded = Store::open(pgtest::store_uri(name), {.mode = OpenMode::read})->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0].record_number, 100u);
  EXPECT_EQ(loaded.states[0].bookmark, "new");
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(100, 0));
}

}  // namespace
