// The conformance cases on round trips, exact values, sequences of commits
// and one writer at a time; reading_cases.cpp, damage_cases.cpp,
// power_cut_cases.cpp and file_mode_cases.cpp hold the rest. link_cases(), which the suite macro
// calls, reaches every one of these files, so that each stays in the
// program: the cases register themselves from static initialisers, which a
// static library's unreferenced object files would never run.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/conformance.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "conformance/values.hpp"

namespace checkpoint::conformance {

// The cases in the other files of the library, linked in the same way.
int link_reading_cases();
int link_damage_cases();
int link_power_cut_cases();
int link_file_mode_cases();

int link_cases() {
  return link_reading_cases() + link_damage_cases() + link_power_cut_cases() +
         link_file_mode_cases();
}

namespace {

// A typical stream: Winlogbeat's own example.
const char* const kSysmon = "Microsoft-Windows-Sysmon/Operational";
const char* const kXmlBookmark =
    "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
    "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>";

// Names that break naive YAML, JSON, SQL or file-name handling.
std::vector<std::string> tricky_names() {
  std::vector<std::string> names = {
      "Application",
      kSysmon,
      "with space",
      " leading space",
      "trailing space ",
      "  ",
      "double \"quotes\"",
      "single 'quotes'",
      "'",
      "\"",
      "back\\slash",
      "C:\\Windows\\System32\\winevt\\Logs\\Security.evtx",
      "colon: value",
      "key:value",
      ":",
      "#",
      "# comment",
      "value # comment",
      "line\nbreak",
      "carriage\r\nreturn",
      "\ttab",
      "tab\tinside",
      "- dash",
      "-",
      "? question",
      "[bracket]",
      "{brace}",
      "a, b",
      "&anchor",
      "*alias",
      "!tag",
      "|",
      ">",
      "%percent%41",
      "@at",
      "`backtick`",
      "<xml attr='1'/>",
      "'; DROP TABLE states; --",
      "yes",
      "no",
      "Yes",
      "NO",
      "on",
      "off",
      "y",
      "n",
      "null",
      "Null",
      "~",
      "true",
      "false",
      "True",
      "123",
      "-1",
      "0",
      "007",
      "1e3",
      "0x1F",
      "0o17",
      "1_000",
      "3.14",
      ".inf",
      ".nan",
      "2017-12-05",
      "2017-12-05T15:16:02Z",
      "---",
      "...",
      "Ünïcødé",
      "日本語/ログ",
      "emoji 🙂",
      "\u00a0no-break space",
      "line\u2028separator",
      "zero\u200bwidth",
      "a/b/../c",
      ".",
      "..",
      "?",
      "*",
      "a=b&c=d",
      std::string(4096, 'n'),
  };
  // A 4 KiB name that is not one repeated byte either.
  std::string long_name;
  while (long_name.size() < 4096) long_name += "Ünï/ \"q\": #" + std::to_string(long_name.size());
  names.push_back(long_name);
  return names;
}

std::vector<std::uint64_t> tricky_record_numbers() {
  return {
      0,
      1,
      std::uint64_t{1} << 32,
      std::uint64_t{1} << 53,
      (std::uint64_t{1} << 53) + 1,  // the first integer a double cannot hold
      (std::uint64_t{1} << 63) - 1,
      std::uint64_t{1} << 63,  // does not fit int64
      std::numeric_limits<std::uint64_t>::max() - 1,
      std::numeric_limits<std::uint64_t>::max(),
  };
}

std::vector<Timestamp> tricky_timestamps() {
  return {
      Timestamp(),  // 0001-01-01T00:00:00Z
      Timestamp::from_unix(Timestamp::kMinSeconds, 1),
      ts("1969-12-31T23:59:59.999999999Z"),
      Timestamp::from_unix(0),
      Timestamp::from_unix(0, 1),  // 1 ns after the epoch
      ts("2017-12-05T15:16:02.6721303Z"),
      ts("2038-01-19T03:14:08Z"),  // past int32 seconds
      Timestamp::from_unix(Timestamp::kMaxSeconds),
      ts("9999-12-31T23:59:59.999999999Z"),
  };
}

std::vector<std::string> tricky_bookmarks() {
  std::string big;  // 64 KiB of XML-ish text, not one repeated byte
  while (big.size() < 64 * 1024) {
    big += "<Bookmark Channel='Ch" + std::to_string(big.size()) + "' RecordId='1'/>\r\n";
  }
  big.resize(64 * 1024);
  return {
      kXmlBookmark,
      big,
      "yes",
      "null",
      "~",
      "123",
      "1e3",
      " leading and trailing ",
      "\"double\" 'single' \\back\\slash",
      "line\nbreak\n",
      "\r\n",
      "\ttab",
      "# not a comment",
      ": colon",
      "日本語 🙂",
      "{\"json\": [1, 2]}",
      "- [a, b]\n- {c: d}",
  };
}

// ---------------------------------------------------------------------------
// Empty stores

TEST_P(StoreConformance, FreshStoreLoadsEmpty) {
  for (int i = 0; i < 2; ++i) {  // loading must not create anything either
    PersistedState loaded = store().load();
    EXPECT_TRUE(loaded.update_time.is_zero())
        << where() << ": a fresh store loaded update_time " << loaded.update_time.to_string();
    EXPECT_TRUE(loaded.states.empty())
        << where() << ": a fresh store loaded " << loaded.states.size() << " states";
  }
}

TEST_P(StoreConformance, CommitWithoutStatesRoundTripsUpdateTime) {
  // The front end's first commit, made to prove the store writable.
  commit(ts("2017-12-05T15:16:07.841893Z"));
  ASSERT_TRUE(stored());
}

// ---------------------------------------------------------------------------
// Round trips

TEST_P(StoreConformance, OneStateRoundTrips) {
  put(state(kSysmon, 204, ts("2017-11-28T00:27:30.1588877Z"), kXmlBookmark));
  commit();
  ASSERT_TRUE(stored());
  ASSERT_TRUE(stored());  // loading twice gives the same
}

TEST_P(StoreConformance, TenThousandStatesRoundTrip) {
  for (std::uint64_t i = 0; i < 10'000; ++i) {
    std::string name = "Stream-" + std::to_string(i) + (i % 7 == 0 ? "/Ünï" : "");
    std::string bookmark;
    if (i % 3 == 0) bookmark = "<Bookmark RecordId='" + std::to_string(i) + "'/>";
    put(state(std::move(name), i * 1'844'674'407'370'955ull + i,
              Timestamp::from_unix(1'500'000'000 + static_cast<std::int64_t>(i),
                                   static_cast<std::uint32_t>(i * 99'991 % 1'000'000'000)),
              std::move(bookmark)));
  }
  commit();
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, OverwriteReplacesEveryField) {
  put(state("Application", 100, ts("2017-12-05T15:16:02.1Z"), kXmlBookmark));
  put(state("System", 7));
  commit();
  ASSERT_TRUE(stored());
  // New values, including an empty bookmark replacing a non-empty one.
  put(state("Application", 250'502, ts("2018-01-01T00:00:00.000000001Z")));
  commit();
  ASSERT_TRUE(stored());
  // And back: a lower record number and an earlier time are stored as given.
  put(state("Application", 3, ts("2001-02-03T04:05:06Z"), "<b/>"));
  commit();
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, RemoveForgetsState) {
  put(state("a", 1));
  put(state("b", 2));
  put(state("c", 3));
  commit();
  ASSERT_TRUE(stored());
  erase("b");
  commit();
  ASSERT_TRUE(stored());
  erase("a");
  erase("c");
  commit();
  ASSERT_TRUE(stored());  // empty again, but with the last update_time
}

TEST_P(StoreConformance, UpsertedSubsetLeavesOthersUnchanged) {
  // Commit.states holds every state, Commit.upserted only the changed ones:
  // a store may write just those, but must keep the others as they were.
  for (int i = 0; i < 50; ++i) {
    put(state("stream-" + std::to_string(i), static_cast<std::uint64_t>(i),
              Timestamp::from_unix(1'600'000'000 + i, 1), i % 2 ? kXmlBookmark : ""));
  }
  commit();
  ASSERT_TRUE(stored());
  for (int round = 1; round <= 3; ++round) {
    put(state("stream-" + std::to_string(round * 7), 1000u + static_cast<unsigned>(round)));
    put(state("new-" + std::to_string(round), static_cast<std::uint64_t>(round)));
    commit();
    ASSERT_TRUE(stored());
  }
}

TEST_P(StoreConformance, UpdateTimeRoundTripsExactly) {
  put(state("Application", 1));
  for (Timestamp t :
       {ts("2017-12-05T15:16:07.841893123Z"), Timestamp::from_unix(0, 1),
        ts("9999-12-31T23:59:59.999999999Z"), Timestamp::from_unix(Timestamp::kMinSeconds, 1),
        ts("2024-02-29T12:00:00Z"), Timestamp(), ts("1969-12-31T23:59:59.999999999Z")}) {
    commit(t);
    ASSERT_TRUE(stored());
  }
}

// ---------------------------------------------------------------------------
// Exact values

TEST_P(StoreConformance, ExactNames) {
  std::uint64_t n = 0;
  for (const auto& name : tricky_names()) put(state(name, ++n));
  commit();
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, ExactRecordNumbers) {
  int i = 0;
  for (std::uint64_t number : tricky_record_numbers()) {
    put(state("record-" + std::to_string(i++), number));
  }
  commit();
  ASSERT_TRUE(stored());
  // The same numbers again as an overwrite of one state.
  for (std::uint64_t number : tricky_record_numbers()) {
    put(state("overwritten", number));
    commit();
    ASSERT_TRUE(stored());
  }
}

TEST_P(StoreConformance, ExactTimestamps) {
  int i = 0;
  for (Timestamp t : tricky_timestamps()) put(state("time-" + std::to_string(i++), 1, t));
  commit();
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, ExactStateUpdateTimes) {
  // Each state's own update time, apart from the store's and the record's.
  int i = 0;
  for (Timestamp t : tricky_timestamps()) {
    EventLogState s = state("changed-" + std::to_string(i++), 1, ts("2017-12-05T15:16:02Z"));
    s.update_time = t;
    put(s);
  }
  commit(ts("2020-01-01T00:00:00Z"));
  ASSERT_TRUE(stored());
  // An overwrite changes it too.
  EventLogState again = state("changed-0", 2, ts("2017-12-05T15:16:02Z"));
  again.update_time = ts("2021-06-01T00:00:00.5Z");
  put(again);
  commit(ts("2021-06-01T00:00:00.5Z"));
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, ExactBookmarks) {
  int i = 0;
  for (const auto& bookmark : tricky_bookmarks()) {
    put(state("bookmark-" + std::to_string(i++), 1, Timestamp::from_unix(0, 1), bookmark));
  }
  put(state("no-bookmark", 2));
  commit();
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, ExactValuesTogether) {
  // Every tricky value in one state at a time, so that fields interact.
  auto names = tricky_names();
  auto numbers = tricky_record_numbers();
  auto times = tricky_timestamps();
  auto bookmarks = tricky_bookmarks();
  for (std::size_t i = 0; i < names.size(); ++i) {
    EventLogState s = state(names[i], numbers[i % numbers.size()], times[i % times.size()],
                            i % 4 == 3 ? "" : bookmarks[i % bookmarks.size()]);
    s.update_time = times[(i + 3) % times.size()];
    put(s);
  }
  commit();
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, ValueItCannotHoldIsAnErrorNotAChange) {
  // Control characters (and NUL) are valid UTF-8. A store either keeps them
  // exactly or refuses the commit with an Error and keeps the previous one.
  put(state("before", 1));
  commit();
  ASSERT_TRUE(stored());
  for (std::string text : {std::string("bell\x07"), std::string("esc\x1b[0m"),
                           std::string("del\x7f"), std::string("nul\0inside", 10)}) {
    SCOPED_TRACE("value " + testing::PrintToString(text));
    const StateMap before = model();
    const Timestamp before_time = update_time();
    put(state(text, 2, Timestamp::from_unix(0, 1), text));
    try {
      commit();
    } catch (const Error&) {
      // Refused: the store must still hold the previous commit.
      PersistedState loaded = store().load();
      EXPECT_TRUE(same(loaded, before, before_time));
      return;
    }
    ASSERT_TRUE(stored());
  }
}

// ---------------------------------------------------------------------------
// Sequences of commits

TEST_P(StoreConformance, RemoveThenAddAgain) {
  put(state("Application", 1, ts("2017-01-01T00:00:00Z"), "<old/>"));
  put(state("System", 1));
  commit();
  erase("Application");
  commit();
  ASSERT_TRUE(stored());
  put(state("Application", 2, ts("2018-01-01T00:00:00Z")));  // back, without a bookmark
  commit();
  ASSERT_TRUE(stored());
  // Removed and added again within one commit: an upsert.
  erase("System");
  put(state("System", 3, ts("2019-01-01T00:00:00Z"), "<new/>"));
  commit();
  ASSERT_TRUE(stored());
  // Added and removed again within one commit: a removal of a name the
  // store never held, which is not an error.
  put(state("Transient", 9));
  erase("Transient");
  commit();
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, ManySmallCommits) {
  for (int i = 0; i < 60; ++i) {
    std::string name = "stream-" + std::to_string(i % 6);
    if (i % 9 == 8) {
      erase(name);
    } else {
      put(state(name, static_cast<std::uint64_t>(i) * 1'000'003,
                Timestamp::from_unix(1'700'000'000 + i, static_cast<std::uint32_t>(i))));
    }
    commit();
    if (i % 5 == 4) {
      ASSERT_TRUE(stored());
    }
  }
  ASSERT_TRUE(stored());
}

TEST_P(StoreConformance, EmptyCommitKeepsStates) {
  put(state("Application", 250'502, ts("2017-12-05T15:16:02.6721303Z")));
  put(state(kSysmon, 204, ts("2017-11-28T00:27:30.1588877Z"), kXmlBookmark));
  commit();
  commit();  // nothing upserted or removed: only update_time changes
  ASSERT_TRUE(stored());
  commit();
  commit();
  ASSERT_TRUE(stored());
}

// ---------------------------------------------------------------------------
// Stores side by side, and the front end over the store

TEST_P(StoreConformance, TwoStoresInOneDirectoryStayIndependent) {
  // Two stores made by the same function for two sibling directories.
  const std::filesystem::path one = dir() / "one", two = dir() / "two";
  std::filesystem::create_directory(one);
  std::filesystem::create_directory(two);
  const std::string uri_one = GetParam().uri_for_dir(one), uri_two = GetParam().uri_for_dir(two);
  ASSERT_NE(uri_one, uri_two) << where() << ": the same config string for two directories";

  std::unique_ptr<Store> a = Store::open(uri_one), b = Store::open(uri_two);
  auto reopen = [&] {
    if (!GetParam().reopen) return;
    a.reset();
    b.reset();
    a = Store::open(uri_one);
    b = Store::open(uri_two);
  };
  StateMap in_a = {{"only-a", state("only-a", 10)},
                   {"shared", state("shared", 1, ts("2017-01-01T00:00:00Z"), "<a/>")}};
  StateMap in_b = {{"only-b", state("only-b", 20)},
                   {"shared", state("shared", 2, ts("2018-01-01T00:00:00Z"))}};
  auto values = [](const StateMap& states) {
    std::vector<EventLogState> out;
    for (const auto& [name, s] : states) out.push_back(s);
    return out;
  };
  const Timestamp time_a = ts("2020-01-01T00:00:00.1Z"), time_b = ts("2020-01-01T00:00:00.2Z");
  a->commit(Changes{time_a, values(in_a), {}});
  reopen();
  b->commit(Changes{time_b, values(in_b), {}});
  reopen();
  EXPECT_TRUE(same(a->load(), in_a, time_a)) << "(the store in " << one << ")";
  EXPECT_TRUE(same(b->load(), in_b, time_b)) << "(the store in " << two << ")";

  // A removal in one leaves the other alone.
  in_a.erase("shared");
  const std::string removed[] = {"shared"};
  const Timestamp time_a2 = ts("2021-01-01T00:00:00Z");
  a->commit(Changes{time_a2, {}, removed});
  reopen();
  EXPECT_TRUE(same(a->load(), in_a, time_a2)) << "(the store in " << one << ")";
  EXPECT_TRUE(same(b->load(), in_b, time_b)) << "(the store in " << two << ")";
}

TEST_P(StoreConformance, CheckpointPersistsShutsDownAndReopens) {
  Options options;
  options.max_updates = 1'000'000;                  // commits come from flush()/shutdown()
  options.flush_interval = std::chrono::hours(24);  // never from the timer
  options.on_error = [this](const Error& e) { ADD_FAILURE() << where() << ": " << e.what(); };

  auto checkpoint = std::make_unique<Checkpoint>(uri(), options);
  StateMap expected;
  // Between steps the front end either flushes (KeepOpen) or is shut down
  // and constructed again over a newly opened store (Reopen).
  auto step = [&] {
    expected = checkpoint->states();
    if (GetParam().reopen) {
      checkpoint->shutdown();
      checkpoint.reset();
      checkpoint = std::make_unique<Checkpoint>(uri(), options);
      PersistedState seen{Timestamp(), {}};
      for (const auto& [name, s] : checkpoint->states()) seen.states.push_back(s);
      EXPECT_TRUE(same(seen, expected, Timestamp())) << "(Checkpoint::states() after reopening)";
    } else {
      checkpoint->flush();
    }
  };

  checkpoint->persist("Application", 250'502, ts("2017-12-05T15:16:02.6721303Z"));
  checkpoint->persist(kSysmon, 204, ts("2017-11-28T00:27:30.1588877Z"), kXmlBookmark);
  checkpoint->persist("Security", std::numeric_limits<std::uint64_t>::max(),
                      ts("9999-12-31T23:59:59.999999999Z"));
  step();
  checkpoint->persist("Application", 250'600, ts("2017-12-05T15:17:00Z"));
  checkpoint->remove("Security");
  step();
  checkpoint->persist("Security", 1, Timestamp());
  checkpoint->remove(kSysmon);
  checkpoint->persist(kSysmon, 205, ts("2017-11-28T00:27:31Z"), "<BookmarkList/>");
  expected = checkpoint->states();
  ASSERT_EQ(expected.size(), 3u);
  checkpoint->shutdown();
  checkpoint.reset();

  // A new front end sees what the old one had...
  checkpoint = std::make_unique<Checkpoint>(uri(), options);
  PersistedState seen{Timestamp(), {}};
  for (const auto& [name, s] : checkpoint->states()) seen.states.push_back(s);
  EXPECT_TRUE(same(seen, expected, Timestamp())) << "(Checkpoint::states() after shutdown)";
  checkpoint.reset();
  // ...and so does the store itself.
  PersistedState loaded = store().load();
  EXPECT_FALSE(loaded.update_time.is_zero())
      << where() << ": the front end's commits set no update_time";
  EXPECT_TRUE(same(loaded, expected, loaded.update_time)) << "(Store::load() after shutdown)";
}

// Every state a commit adds or changes carries that commit's update time,
// whatever the caller gave; the others keep theirs, across a restart too.
TEST_P(StoreConformance, CheckpointStampsChangedStatesWithTheCommitsUpdateTime) {
  auto clock = std::make_shared<ManualClock>(Clock::time_point{}, ts("2030-01-01T00:00:00Z"));
  Options options;
  options.max_updates = 1'000'000;
  options.flush_interval = std::chrono::hours(24);
  options.clock = clock;
  options.on_error = [this](const Error& e) { ADD_FAILURE() << where() << ": " << e.what(); };
  auto open = [&] { return std::make_unique<Checkpoint>(uri(), options); };

  auto checkpoint = open();
  EventLogState given = state("Application", 1);
  given.update_time = ts("1999-01-01T00:00:00Z");  // ignored
  checkpoint->persist_state(given);
  checkpoint->persist(kSysmon, 2, ts("2017-11-28T00:27:30Z"));
  EXPECT_EQ(checkpoint->state("Application")->update_time, Timestamp())
      << where() << ": not committed yet";
  checkpoint->flush();
  const Timestamp first = ts("2030-01-01T00:00:00Z");
  EXPECT_EQ(checkpoint->state("Application")->update_time, first) << where();
  EXPECT_EQ(checkpoint->state(kSysmon)->update_time, first) << where();

  clock->advance(std::chrono::minutes(90));
  checkpoint->persist("Application", 3, ts("2017-12-05T15:16:02Z"));
  checkpoint->flush();
  const Timestamp second = ts("2030-01-01T01:30:00Z");
  EXPECT_EQ(checkpoint->state("Application")->update_time, second) << where();
  EXPECT_EQ(checkpoint->state(kSysmon)->update_time, first) << where() << ": unchanged";
  const StateMap expected = checkpoint->states();
  if (GetParam().reopen) {
    checkpoint.reset();
    checkpoint = open();
    EXPECT_EQ(checkpoint->states(), expected) << where() << ": after reopening";
  }
  checkpoint.reset();
  PersistedState loaded = store().load();
  EXPECT_EQ(loaded.update_time, second) << where();
  EXPECT_TRUE(same(loaded, expected, second)) << "(Store::load())";
}

// Options::expire_after through the front end: the time each state last
// changed survives restarts, so a stream that went quiet while nothing ran
// expires at the next open; only states without a pending change expire.
TEST_P(StoreConformance, CheckpointExpiresStatesThatWentQuietAcrossRestarts) {
  auto clock = std::make_shared<ManualClock>(Clock::time_point{}, ts("2030-01-01T00:00:00Z"));
  std::vector<std::string> told;
  Options options;
  options.max_updates = 1'000'000;
  options.flush_interval = std::chrono::hours(1);
  options.expire_after = std::chrono::hours(24);
  options.clock = clock;
  options.on_error = [this](const Error& e) { ADD_FAILURE() << where() << ": " << e.what(); };
  options.on_expire = [&](const std::string& name) { told.push_back(name); };
  auto open = [&] { return std::make_unique<Checkpoint>(uri(), options); };

  auto checkpoint = open();
  checkpoint->persist("quiet", 1, ts("2017-12-05T15:16:02Z"));
  checkpoint->persist("busy", 1, ts("2017-12-05T15:16:02Z"));
  checkpoint->persist("pending", 1, ts("2017-12-05T15:16:02Z"));
  checkpoint->flush();
  clock->advance(std::chrono::hours(23));
  checkpoint->persist("busy", 2, ts("2017-12-05T15:16:03Z"));
  checkpoint->flush();
  EXPECT_EQ(checkpoint->stats().expired, 0u) << where() << ": nothing is a day old yet";

  clock->advance(std::chrono::hours(2));  // "quiet" and "pending" are 25 hours old
  checkpoint->persist("pending", 2, ts("2017-12-05T15:16:04Z"));  // changed: stays
  checkpoint->flush();
  EXPECT_EQ(told, std::vector<std::string>{"quiet"}) << where();
  EXPECT_EQ(checkpoint->stats().expired, 1u) << where();
  EXPECT_FALSE(checkpoint->state("quiet")) << where();
  ASSERT_TRUE(checkpoint->state("busy")) << where();
  ASSERT_TRUE(checkpoint->state("pending")) << where();
  PersistedState loaded = Store::open(uri(), {OpenMode::read})->load();
  ASSERT_EQ(loaded.states.size(), 2u) << where() << ": the expiry was committed";
  EXPECT_EQ(loaded.states[0].name, "busy");
  EXPECT_EQ(loaded.states[1].name, "pending");

  // Nothing runs for two days: both go quiet, and expire when it opens again.
  checkpoint.reset();
  told.clear();
  clock->advance(std::chrono::hours(48));
  checkpoint = open();
  EXPECT_EQ(told, (std::vector<std::string>{"busy", "pending"})) << where();
  EXPECT_TRUE(checkpoint->states().empty()) << where();
  EXPECT_EQ(checkpoint->stats().expired, 2u) << where();
  checkpoint.reset();
  EXPECT_TRUE(store().load().states.empty()) << where() << ": the removal was committed";
}

// ---------------------------------------------------------------------------
// One writer at a time

// Runs `attempt`, which must throw Error{locked} naming the store; returns
// a failure saying otherwise.
template <typename Attempt>
::testing::AssertionResult refused_as_locked(const std::string& where, const std::string& target,
                                             Attempt attempt) {
  try {
    attempt();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::locked) {
      return ::testing::AssertionFailure() << where << ": expected Error{locked}, got Error{"
                                           << to_string(e.code()) << "}: " << e.what();
    }
    if (std::string(e.what()).find(target) == std::string::npos) {
      return ::testing::AssertionFailure()
             << where << ": the Error{locked} message does not name the store (" << target
             << "): " << e.what();
    }
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << where << ": a second writer was not refused";
}

TEST_P(StoreConformance, SecondWriterIsRefusedReadersStillLoad) {
  // The store objects are this case's own: the first writer is kept while
  // the others are opened, whatever the Reopen setting.
  const std::string target = parse_store_uri(uri()).target;
  auto one_state = [](std::uint64_t n) { return std::vector{state("Application", n)}; };
  auto states = [](std::uint64_t n) { return StateMap{{"Application", state("Application", n)}}; };
  auto time = [](std::int64_t n) { return Timestamp::from_unix(1'700'000'000 + n, 1); };

  auto first = Store::open(uri());
  first->commit(Changes{time(1), one_state(1), {}});

  // A second writer is refused when it opens, before it reads anything; a
  // reader loads meanwhile.
  EXPECT_TRUE(refused_as_locked(where(), target, [&] { Store::open(uri()); }));
  EXPECT_TRUE(same(reader()->load(), states(1), time(1))) << "(a reader while a writer holds it)";

  // The holder goes on writing; readers see it, writers are still refused.
  first->commit(Changes{time(3), one_state(3), {}});
  EXPECT_TRUE(same(reader()->load(), states(3), time(3))) << "(a reader after the writer's commit)";
  EXPECT_TRUE(refused_as_locked(where(), target, [&] { Store::open(uri()); }));

  // Once the first is destroyed, the next may write, and then holds it.
  first.reset();
  auto second = Store::open(uri());
  second->commit(Changes{time(5), one_state(2), {}});
  EXPECT_TRUE(same(reader()->load(), states(2), time(5))) << "(written by the second writer)";
  EXPECT_TRUE(refused_as_locked(where(), target, [&] { Store::open(uri()); }));
}

// `uri` with the option `option` ("key=value") added.
std::string with_option(const std::string& uri, const std::string& option) {
  return uri + (parse_store_uri(uri).options.empty() ? "?" : "&") + option;
}

// Whether the backend of `uri` lists option `key`.
bool takes_option(const std::string& uri, const std::string& key) {
  const std::string scheme = parse_store_uri(uri).scheme;
  for (const BackendInfo& info : registered_backends()) {
    if (info.scheme == scheme)
      return std::find(info.options.begin(), info.options.end(), key) != info.options.end();
  }
  return false;
}

TEST_P(StoreConformance, AWriterWaitsLockTimeoutForTheHolderToGo) {
  // A rolling update: the new writer starts while the old one is still
  // closing. With option lock_timeout_ms it waits that long for the holder
  // to go, then is refused as without it.
  if (!takes_option(uri(), "lock_timeout_ms")) GTEST_SKIP() << "no option lock_timeout_ms";
  const std::string target = parse_store_uri(uri()).target;
  const auto time = Timestamp::from_unix(1'700'000'001, 1);
  auto holder = Store::open(uri());
  holder->commit(Changes{time, std::vector{state("Application", 1)}, {}});

  // A holder that stays: refused once the wait is over, naming the store.
  EXPECT_TRUE(refused_as_locked(where(), target, [&] {
    Store::open(with_option(uri(), "lock_timeout_ms=50"));
  })) << "(with lock_timeout_ms=50)";

  // A holder that goes while the next writer waits: that writer gets it.
  std::atomic<bool> started{false};
  std::unique_ptr<Store> next;
  std::string failure;
  std::thread waiting([&] {
    started = true;
    try {
      next = Store::open(with_option(uri(), "lock_timeout_ms=60000"));
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  while (!started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the holder is closing
  holder.reset();
  waiting.join();
  ASSERT_TRUE(next) << where() << ": the waiting writer was refused: " << failure;
  EXPECT_TRUE(same(next->load(), StateMap{{"Application", state("Application", 1)}}, time));
  EXPECT_TRUE(refused_as_locked(where(), target, [&] { Store::open(uri()); }))
      << "(the writer that waited holds the store)";
}

// The bytes of the store's files (BackendInfo::files); nullopt if its
// backend lists none.
std::optional<std::uintmax_t> size_of_store(const std::string& uri) {
  const auto files = store_files(uri);
  if (files.empty()) return std::nullopt;
  std::uintmax_t total = 0;
  for (const auto& file : files) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) total += std::filesystem::file_size(file, ec);
  }
  return total;
}

TEST_P(StoreConformance, CompactKeepsEveryStateAndComesCloseToAFreshStore) {
  // 10,000 states, then 90% of them removed: what a store that only grows
  // looks like. compact() keeps exactly the rest, the writer keeps its lock
  // and goes on committing, and the store's files (closed) come within
  // 1.3 times those of a fresh store holding the same states.
  constexpr int kStates = 10'000;
  auto name_of = [](int i) { return "stream-" + std::to_string(100'000 + i); };
  for (int i = 0; i < kStates; ++i) put(state(name_of(i), static_cast<std::uint64_t>(i)));
  commit();
  for (int i = 0; i < kStates; ++i) {
    if (i % 10 != 0) erase(name_of(i));
  }
  commit();

  store().compact();
  ASSERT_TRUE(stored()) << "(after compact())";
  EXPECT_TRUE(refused_as_locked(where(), parse_store_uri(uri()).target, [&] {
    Store::open(uri());
  })) << "(the writer that compacted still holds the store)";
  close();
  const auto compacted = size_of_store(uri());

  // A fresh store in a directory of its own with the same states.
  const std::string fresh_uri = GetParam().uri_for_dir(dir() / "fresh");
  {
    auto fresh = Store::open(fresh_uri);
    std::vector<EventLogState> states;
    for (const auto& [name, s] : model()) states.push_back(s);
    fresh->commit(Changes{update_time(), states, {}});
  }
  const auto fresh = size_of_store(fresh_uri);
  if (compacted && fresh) {
    EXPECT_LE(static_cast<double>(*compacted), 1.3 * static_cast<double>(*fresh))
        << where() << ": compacted to " << *compacted << " bytes, a fresh store takes " << *fresh;
  }

  // Still a store like any other.
  put(state("after-compaction", 1));
  commit();
  ASSERT_TRUE(stored()) << "(a commit after compact())";
}

TEST_P(StoreConformance, AWriterLocksBeforeItLoads) {
  // What a writer loads is what it overwrites: a commit made between its
  // opening and its own commit is never rolled back. (The defect: a store
  // that loads, then takes its lock at the first commit and writes from
  // its stale copy.)
  put(state("Application", 1));
  put(state("System", 1));
  commit();
  close();

  auto late = Store::open(uri());  // opens and loads first...
  PersistedState seen = late->load();
  bool refused = false;
  try {
    // ...while another writer comes, commits and goes.
    auto early = Store::open(uri());
    early->commit(Changes{
        Timestamp::from_unix(1'800'000'000, 1), std::vector{state("Application", 100)}, {}});
  } catch (const Error& e) {
    ASSERT_EQ(e.code(), ErrorCode::locked) << where() << ": " << e.what();
    refused = true;
  }
  late->commit(
      Changes{Timestamp::from_unix(1'800'000'001, 2), std::vector{state("System", 2)}, {}});
  late.reset();
  PersistedState after = reader()->load();
  std::uint64_t application = 0;
  for (const auto& s : after.states) {
    if (s.name == "Application") application = s.record_number;
  }
  EXPECT_EQ(application, refused ? 1u : 100u)
      << where() << ": a commit made between another writer's opening and its first commit was "
      << (application == 1 ? "rolled back (the writer took its lock after loading, and wrote what "
                             "it had loaded)"
                           : "lost");
}

TEST_P(StoreConformance, CheckpointHoldsTheStoreForItsLifetime) {
  const std::string target = parse_store_uri(uri()).target;
  Options options;
  options.max_updates = 1'000'000;
  options.flush_interval = std::chrono::hours(24);
  options.on_error = [this](const Error& e) { ADD_FAILURE() << where() << ": " << e.what(); };

  auto checkpoint = std::make_unique<Checkpoint>(uri(), options);
  checkpoint->persist("Application", 7, ts("2017-12-05T15:16:02Z"));
  checkpoint->flush();
  EXPECT_TRUE(refused_as_locked(where() + " (a second Checkpoint)", target,
                                [&] { Checkpoint second(uri(), options); }));
  // A reader, as checkpointctl dump is, loads meanwhile.
  PersistedState loaded = reader()->load();
  ASSERT_EQ(loaded.states.size(), 1u) << where();
  EXPECT_EQ(loaded.states[0].record_number, 7u) << where();

  checkpoint.reset();
  Checkpoint after(uri(), options);  // free again once the first is gone
  EXPECT_EQ(after.state("Application").value_or(EventLogState{}).record_number, 7u) << where();
}

// ---------------------------------------------------------------------------
// Files

// Sets the process's umask for a scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

// Every file under `top` that is not 0600 and every directory that is not
// 0750, one per line.
std::string loose_modes(const std::filesystem::path& top) {
  std::string out;
  auto check = [&](const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;  // gone meanwhile (a journal SQLite removed)
    mode_t mode = st.st_mode & 07777;
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    if (S_ISREG(st.st_mode) && mode != 0600) {
      out += "\n  file " + path.string() + " has mode " + text + ", expected 0600";
    } else if (S_ISDIR(st.st_mode) && mode != 0750) {
      out += "\n  directory " + path.string() + " has mode " + text + ", expected 0750";
    }
  };
  std::error_code ec;
  check(top);
  for (auto it = std::filesystem::recursive_directory_iterator(top, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    check(it->path());
  }
  return out;
}

TEST_P(StoreConformance, FilesAre0600AndDirectories0750WhateverTheUmask) {
  // The store is given a directory that does not exist yet, so that the
  // directories it creates are checked too.
  for (mode_t mask : {mode_t{0}, mode_t{077}}) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%03o", static_cast<unsigned>(mask));
    const std::filesystem::path top = dir() / (std::string("umask-") + octal);
    const std::string uri = GetParam().uri_for_dir(top / "missing");
    SCOPED_TRACE(std::string("umask ") + octal + ", store " + uri);
    std::string loose;
    {
      ScopedUmask umask(mask);
      auto writer = Store::open(uri);
      const StateMap states = {{"Application", state("Application", 1)}};
      const std::vector upserted = {state("Application", 1)};
      writer->commit(Changes{Timestamp::from_unix(1, 1), upserted, {}});
      writer->commit(Changes{Timestamp::from_unix(2, 1), upserted, {}});
      EXPECT_TRUE(same(writer->load(), states, Timestamp::from_unix(2, 1)));
      loose = loose_modes(top);  // with the store open: its temporary files too
    }
    loose += loose_modes(top);  // and what stays once it is closed
    EXPECT_TRUE(loose.empty()) << where() << ": under umask " << octal << ":" << loose;
  }
}

}  // namespace
}  // namespace checkpoint::conformance
