// The postgresql: backend across server restarts, on a test server of its
// own (these tests stop it): pg_ctl restart -m immediate (a crash and
// recovery), and a server that is down while a commit is made.
#include <gtest/gtest.h>

#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"
#include "tests/postgresql/test_server.hpp"

namespace {

using checkpoint::Changes;
using checkpoint::Error;
using checkpoint::ErrorCode;
using checkpoint::EventLogState;
using checkpoint::OpenMode;
using checkpoint::Store;
using checkpoint::Timestamp;

void commit(Store& store, std::uint64_t n) {
  const EventLogState states[] = {{"a", n, Timestamp::from_unix(1, 0), ""},
                                  {"b", n, Timestamp::from_unix(2, 0), "<b/>"}};
  store.commit(Changes{Timestamp::from_unix(static_cast<std::int64_t>(n), 0), states, {}});
}

std::uint64_t stored(const std::string& name) {
  auto loaded = Store::open(pgtest::store_uri(name), {.mode = OpenMode::read})->load();
  EXPECT_EQ(loaded.states.size(), 2u);
  EXPECT_EQ(loaded.states.at(0).record_number, loaded.states.at(1).record_number);
  return loaded.states.at(0).record_number;
}

TEST(PostgresqlRestart, AWriterGoesOnAfterTheServerCrashedAndRecovered) {
  const std::string name = pgtest::unique_name("restart");
  auto writer = Store::open(pgtest::store_uri(name));
  commit(*writer, 1);
  pgtest::server_command("restart");  // -m immediate: no shutdown checkpoint
  EXPECT_EQ(stored(name), 1u) << "an acknowledged commit was lost";
  // Its session is gone; the next commit connects again, takes the lock
  // again (the epoch is still its own) and commits.
  commit(*writer, 2);
  EXPECT_EQ(stored(name), 2u);
  try {
    Store::open(pgtest::store_uri(name));
    ADD_FAILURE() << "the writer does not hold its store again";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::locked) << e.what();
  }
}

TEST(PostgresqlRestart, ACommitWhileTheServerIsDownIsAnIoErrorAndTheNextOneCarriesIt) {
  const std::string name = pgtest::unique_name("down");
  checkpoint::Options options;
  options.max_updates = 1'000'000;
  options.flush_interval = std::chrono::hours(24);
  std::vector<ErrorCode> errors;
  options.on_error = [&](const Error& e) { errors.push_back(e.code()); };
  checkpoint::Checkpoint front(pgtest::store_uri(name, "connect_timeout=5"), options);
  front.persist("a", 1, Timestamp::from_unix(1, 0));
  front.persist("b", 1, Timestamp::from_unix(2, 0), "<b/>");
  front.flush();
  pgtest::server_command("halt");
  front.persist("a", 2, Timestamp::from_unix(1, 0));
  EXPECT_THROW(front.flush(), Error);
  pgtest::server_command("resume");
  front.persist("b", 2, Timestamp::from_unix(2, 0), "<b/>");
  front.flush();  // the failed commit's change comes with this one
  EXPECT_EQ(front.stats().pending, 0u);
  EXPECT_EQ(front.stats().last_error, "");
  front.shutdown();
  EXPECT_EQ(stored(name), 2u);
}

}  // namespace
