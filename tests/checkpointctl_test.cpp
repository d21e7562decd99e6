// Runs the built checkpointctl binary and checks its output and exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/timestamp.hpp"

namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Ctl : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("checkpointctl_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs checkpointctl with `args` (no shell: each argument passed as is).
  // One that hangs is killed by SIGALRM (code 128 + 14), so that the test
  // fails instead of blocking; nothing here takes a fraction of the time.
  Result run(std::vector<std::string> args) {
    args.insert(args.begin(), CHECKPOINTCTL);
    fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    pid_t pid = ::fork();
    if (pid == 0) {
      ::alarm(120);  // kept across execv()
      std::freopen(out.c_str(), "w", stdout);
      std::freopen(err.c_str(), "w", stderr);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(Ctl, BackendsListsEveryRegisteredScheme) {
  auto r = run({"backends"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& info : checkpoint::registered_backends()) {
    EXPECT_NE(r.out.find(info.scheme + "\n"), std::string::npos) << info.scheme;
    for (const auto& ext : info.extensions) EXPECT_NE(r.out.find(ext), std::string::npos);
  }
}

TEST_F(Ctl, SetGetRmDumpRoundTrip) {
  std::string store = "yaml:" + path("s.yml");
  auto r = run({"set", store, "Application", "--record-number", "18446744073709551615",
                "--timestamp", "2017-12-05T07:16:38.25-08:00", "--bookmark", "<a/>\r\n"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"get", store, "Application"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("record_number: 18446744073709551615"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2017-12-05T15:16:38.25Z"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<a/>\\r\\n"), std::string::npos) << r.out;

  // set keeps the timestamp and bookmark it is not given.
  r = run({"set", store, "Application", "--record-number", "7"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"get", store, "Application"});
  EXPECT_NE(r.out.find("record_number: 7\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2017-12-05T15:16:38.25Z"), std::string::npos) << r.out;

  r = run({"set", store, "Security", "-r", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"dump", store});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("NAME"), 0u) << r.out;
  EXPECT_NE(r.out.find("Application"), std::string::npos);
  EXPECT_NE(r.out.find("Security"), std::string::npos);
  EXPECT_NE(r.out.find("2 states"), std::string::npos);

  r = run({"rm", store, "Application"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"get", store, "Application"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Application"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  r = run({"rm", store, "Application"});
  EXPECT_EQ(r.code, 1);
}

// prune removes, in one commit, the states whose update time is older than
// --older-than, listing each; --dry-run only lists; a writer's lock refuses
// it; a bad duration is a usage error naming the option.
TEST_F(Ctl, PruneRemovesTheStatesNotChangedForTheGivenTime) {
  const std::string store = "sqlite:" + path("s.db");
  const checkpoint::Timestamp now = checkpoint::Timestamp::now();
  const checkpoint::Timestamp days_ago = now.plus(-std::chrono::hours(24 * 40));
  {
    auto writer = checkpoint::Store::open(store);
    writer->load();
    std::vector<checkpoint::EventLogState> states = {
        {"fresh", 1, checkpoint::Timestamp::from_unix(1), "", now},
        {"old", 2, checkpoint::Timestamp::from_unix(1), "", days_ago},
        {"older", 3, checkpoint::Timestamp::from_unix(1), "", checkpoint::Timestamp()}};
    writer->commit(checkpoint::Changes{now, states, {}});
  }
  auto r = run({"prune", store, "--older-than", "30d", "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("would remove \"old\" (last changed " + days_ago.to_string() + ")"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("would remove \"older\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would remove 2 of 3 states"), std::string::npos) << r.out;
  EXPECT_EQ(
      checkpoint::Store::open(store, {.mode = checkpoint::OpenMode::read})->load().states.size(),
      3u)
      << "a dry run changed the store";

  {
    auto holder = checkpoint::Store::open(store);  // a running shipper
    r = run({"prune", store, "--older-than", "30d"});
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.err.find("locked"), std::string::npos) << r.err;
  }
  r = run({"prune", store, "--older-than", "30d"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("removed 2 of 3 states"), std::string::npos) << r.out;
  const auto left = checkpoint::Store::open(store, {.mode = checkpoint::OpenMode::read})->load();
  ASSERT_EQ(left.states.size(), 1u);
  EXPECT_EQ(left.states[0].name, "fresh");
  EXPECT_EQ(left.states[0].update_time, now) << "a state pruning kept is unchanged";

  for (const char* bad : {"30", "d", "0d", "-1d", "1.5h", "30x", "99999999999d"}) {
    r = run({"prune", store, "--older-than", bad});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find("--older-than \"" + std::string(bad) + "\""), std::string::npos) << r.err;
  }
}

TEST_F(Ctl, TableColumnsAreAligned) {
  std::string store = "yaml:" + path("s.yml");
  ASSERT_EQ(run({"set", store, "a", "-r", "1", "-t", "2020-01-01T00:00:00Z", "-b", "x"}).code, 0);
  ASSERT_EQ(run({"set", store, "much-longer-name", "-r", "123456", "-t", "2020-01-01T00:00:00Z",
                 "-b", "y"})
                .code,
            0);
  auto r = run({"dump", store, "--format", "table"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::size_t> ts_columns;
  while (std::getline(lines, line)) {
    auto pos = line.find("2020-01-01T00:00:00Z");
    if (pos == std::string::npos) pos = line.find("TIMESTAMP");
    if (pos != std::string::npos) ts_columns.push_back(pos);
  }
  ASSERT_EQ(ts_columns.size(), 3u) << r.out;
  EXPECT_EQ(ts_columns[0], ts_columns[1]) << r.out;
  EXPECT_EQ(ts_columns[1], ts_columns[2]) << r.out;
}

TEST_F(Ctl, DumpJsonIsAValidJsonStore) {
  std::string store = "yaml:" + path("s.yml");
  ASSERT_EQ(run({"set", store, "yes", "-r", "9007199254740993", "-t", "now"}).code, 0);
  auto r = run({"dump", store, "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  { std::ofstream(path("copy.json")) << r.out; }
  auto a = run({"dump", store, "--format", "yaml"});
  auto b = run({"dump", "json:" + path("copy.json"), "--format", "yaml"});
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out, slurp(path("s.yml"))) << "dump --format yaml prints the yaml document";
}

TEST_F(Ctl, VerifyReportsCountAndDamage) {
  std::string store = "yaml:" + path("s.yml");
  ASSERT_EQ(run({"set", store, "a", "-r", "1"}).code, 0);
  auto r = run({"verify", store});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 states"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("update_time"), std::string::npos) << r.out;

  std::ofstream(path("bad.yml"), std::ios::binary) << std::string(64, '\0');
  r = run({"verify", "yaml:" + path("bad.yml")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.yml"), std::string::npos) << r.err;
}

// compact: as a writer (refused beside one), the states kept, the size of
// the store's files before and after.
TEST_F(Ctl, CompactShrinksAStoreMostlyRemovedAndKeepsTheRest) {
  for (std::string scheme : {"sqlite", "lmdb"}) {
    const std::string store = scheme + ":" + path("big." + scheme);
    {
      auto writer = checkpoint::Store::open(store);
      std::vector<checkpoint::EventLogState> states;
      std::vector<std::string> removed;
      for (int i = 0; i < 5000; ++i) {
        states.push_back({"s" + std::to_string(10000 + i), static_cast<std::uint64_t>(i),
                          checkpoint::Timestamp::from_unix(1), ""});
        if (i % 10 != 0) removed.push_back(states.back().name);
      }
      writer->commit({checkpoint::Timestamp::from_unix(2), states, {}});
      writer->commit({checkpoint::Timestamp::from_unix(3), {}, removed});
      EXPECT_EQ(run({"compact", store}).code, 1) << "compacted beside a writer";
    }
    auto r = run({"compact", store});
    ASSERT_EQ(r.code, 0) << r.err;
    std::uint64_t before = 0, after = 0;
    const std::string prefix = store + ": compacted from ";
    ASSERT_EQ(r.out.rfind(prefix, 0), 0u) << r.out;
    ASSERT_EQ(std::sscanf(r.out.c_str() + prefix.size(), "%lu to %lu bytes", &before, &after), 2)
        << r.out;
    EXPECT_LT(after * 3, before) << r.out;
    auto dump = run({"dump", store, "--format", "json"});
    ASSERT_EQ(dump.code, 0) << dump.err;
    EXPECT_EQ(nlohmann::json::parse(dump.out)["event_logs"].size(), 500u);

    auto j = run({"compact", store, "--format", "json"});
    ASSERT_EQ(j.code, 0) << j.err;
    auto json = nlohmann::json::parse(j.out);
    EXPECT_EQ(json["store"], store);
    EXPECT_LE(json["bytes_after"].get<std::uint64_t>(), json["bytes_before"].get<std::uint64_t>())
        << "compacted twice";
  }
  auto r = run({"compact", "lmdb:" + path("missing.lmdb")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.lmdb"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("missing.lmdb"))) << "compact made a store";
}

TEST_F(Ctl, ConvertRoundTripsTrickyValuesThroughEveryBackend) {
  std::string start = "yaml:" + path("start.yml");
  struct S {
    std::string name, record, ts, bookmark;
  };
  std::vector<S> tricky = {
      {"yes", "0", "0001-01-01T00:00:00Z", ""},
      {"null", "18446744073709551615", "9999-12-31T23:59:59.999999999Z", "<B>\r\n  x='1'</B>"},
      {"key: value #x", "9007199254740993", "1970-01-01T00:00:00.000000001Z", "\"q\" \\ \t"},
      {" leading and\nnewline ", "9223372036854775808", "2017-12-05T15:16:38.2530588Z", "ü"},
  };
  for (const auto& s : tricky) {
    auto r = run({"set", start, s.name, "-r", s.record, "-t", s.ts, "-b", s.bookmark});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  std::vector<std::string> chain = {start, "sqlite:" + path("a.db"), "lmdb:" + path("b.lmdb"),
                                    "json:" + path("c.json"), "yaml:" + path("end.yml")};
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    auto r = run({"convert", chain[i], chain[i + 1]});
    ASSERT_EQ(r.code, 0) << chain[i] << " -> " << chain[i + 1] << ": " << r.err;
    EXPECT_NE(r.out.find("converted 4 states"), std::string::npos) << r.out;
  }
  EXPECT_EQ(slurp(path("start.yml")), slurp(path("end.yml")));
}

TEST_F(Ctl, ConvertRefusesNonEmptyDestinationWithoutForce) {
  std::string src = "yaml:" + path("src.yml"), dst = "json:" + path("dst.json");
  ASSERT_EQ(run({"set", src, "a", "-r", "1"}).code, 0);
  ASSERT_EQ(run({"set", dst, "b", "-r", "2"}).code, 0);
  std::string before = slurp(path("dst.json"));
  auto r = run({"convert", src, dst});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(path("dst.json")), before) << "refused: destination untouched";

  std::string src_before = slurp(path("src.yml"));
  r = run({"convert", src, dst, "--force"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(path("src.yml")), src_before) << "the source is never modified";
  r = run({"get", dst, "b"});
  EXPECT_EQ(r.code, 1) << "--force replaces what the destination held";
  EXPECT_EQ(run({"get", dst, "a"}).code, 0);
}

TEST_F(Ctl, ConvertFromDamagedSourceFailsAndWritesNothing) {
  std::ofstream(path("bad.yml")) << "update_time: [unterminated\n";
  auto r = run({"convert", "yaml:" + path("bad.yml"), "json:" + path("out.json")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.yml"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("out.json")));
}

TEST_F(Ctl, SalvageCopiesWhatADamagedFileStillHolds) {
  for (std::string scheme : {"yaml", "json"}) {
    std::string src = scheme + ":" + path("src." + scheme);
    for (std::string name : {"alpha", "bravo", "charlie"}) {
      ASSERT_EQ(run({"set", src, name, "-r", "7", "-t", "2020-01-01T00:00:00Z", "-b", name}).code,
                0);
    }
    std::string text = slurp(path("src." + scheme));
    text.replace(text.find("bravo"), 5, std::string(5, '\0'));  // power-loss damage
    std::ofstream(path("src." + scheme), std::ios::binary) << text;
    ASSERT_EQ(run({"verify", src}).code, 1);

    std::string dst = "sqlite:" + path(scheme + "-salvaged.db");
    auto r = run({"salvage", src, dst});
    ASSERT_EQ(r.code, 3) << "states were lost\n" << r.err;
    EXPECT_NE(r.out.find("salvaged 2 states"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("could not read 1"), std::string::npos) << r.out;
    EXPECT_EQ(slurp(path("src." + scheme)), text) << "the source is never modified";
    r = run({"get", dst, "charlie"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("bookmark:      charlie"), std::string::npos) << r.out;
    EXPECT_EQ(run({"get", dst, "alpha"}).code, 0);
    EXPECT_EQ(run({"get", dst, "bravo"}).code, 1);
    EXPECT_EQ(run({"salvage", src, dst}).code, 1) << "a non-empty destination needs --force";
  }
  // Every backend salvages; an intact store loses nothing.
  auto r = run({"salvage", "sqlite:" + path("yaml-salvaged.db"), "json:" + path("x.json")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("salvaged 2 states"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nothing was damaged"), std::string::npos) << r.out;
}

// Everything under `dir`, names only, to see that nothing was created.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& item : fs::recursive_directory_iterator(dir)) {
    out.push_back(fs::relative(item.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(Ctl, ReadingAStoreThatDoesNotExistCreatesNothing) {
  for (std::string target :
       {"yaml:" + path("typo.yml"), "json:" + path("typo.json"), "sqlite:" + path("typo.db"),
        "lmdb:" + path("typo.lmdb"), "sqlite:" + path("no-such-dir/x.db"),
        "lmdb:" + path("no-such-dir/x.lmdb"), "yaml:" + path("no-such-dir/x.yml")}) {
    for (std::vector<std::string> args : {std::vector<std::string>{"verify", target},
                                          {"dump", target},
                                          {"get", target, "a"},
                                          {"rm", target, "a"}}) {
      auto r = run(args);
      EXPECT_EQ(r.code, 1) << args[0] << " " << target << ": " << r.err;
      EXPECT_NE(r.err.find("does not exist"), std::string::npos) << args[0] << ": " << r.err;
    }
    EXPECT_FALSE(fs::exists(path("no-such-dir"))) << target;
    EXPECT_FALSE(fs::exists(path("typo.yml")) || fs::exists(path("typo.json")) ||
                 fs::exists(path("typo.db")) || fs::exists(path("typo.lmdb")) ||
                 fs::exists(path("typo.lmdb-lock")) || fs::exists(path("typo.lmdb.lock")) ||
                 fs::exists(path("typo.db.lock")) || fs::exists(path("typo.yml.lock")))
        << target << ": " << ::testing::PrintToString(listing(dir_));
  }
}

// SQLite's header says which journal a database uses (bytes 18 and 19: 1
// rollback, 2 WAL); a reader must not change it.
TEST_F(Ctl, DumpLeavesASqliteStoreInItsJournalMode) {
  std::string store = "sqlite:" + path("s.db") + "?journal_mode=delete";
  ASSERT_EQ(run({"set", store, "a", "-r", "1"}).code, 0);
  auto header = [&] { return slurp(path("s.db")).substr(18, 2); };
  ASSERT_EQ(header(), std::string("\x01\x01", 2));
  for (std::string command : {"dump", "verify"}) {
    auto r = run({command, "sqlite:" + path("s.db")});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(header(), std::string("\x01\x01", 2)) << command << " changed the journal mode";
    EXPECT_FALSE(fs::exists(path("s.db-wal"))) << command << " created a -wal file";
  }
}

// A writer holds its lock from its opening: set and rm are refused while a
// shipper runs, instead of writing their stale copy over its commits.
TEST_F(Ctl, SetNeverRollsBackAWriterThatCommittedMeanwhile) {
  for (std::string scheme : {"yaml", "json", "sqlite", "lmdb"}) {
    const std::string store = scheme + ":" + path("live." + scheme);
    ASSERT_EQ(run({"set", store, "app", "-r", "1"}).code, 0);
    {
      auto writer = checkpoint::Store::open(store);  // the shipper
      auto r = run({"set", store, "other", "-r", "5"});
      EXPECT_EQ(r.code, 1) << scheme;
      EXPECT_NE(r.err.find("locked"), std::string::npos) << r.err;
      r = run({"rm", store, "app"});
      EXPECT_EQ(r.code, 1) << scheme;
      const checkpoint::EventLogState app{"app", 100, checkpoint::Timestamp::from_unix(1), ""};
      writer->commit(checkpoint::Changes{checkpoint::Timestamp::from_unix(2), {&app, 1}, {}});
    }  // the shipper stops
    ASSERT_EQ(run({"set", store, "other", "-r", "5"}).code, 0);
    auto r = run({"get", store, "app"});
    EXPECT_NE(r.out.find("record_number: 100"), std::string::npos)
        << scheme << ": the writer's commit was rolled back: " << r.out;
  }
}

// One row damaged on disk makes the store unloadable; rm removes it (and
// salvage copies the others) so the shipper can start again.
TEST_F(Ctl, RmAndSalvageHandleADamagedSqliteRow) {
  const std::string store = "sqlite:" + path("rows.db");
  for (std::string name : {"alpha", "bravo", "charlie"}) {
    ASSERT_EQ(run({"set", store, name, "-r", "7"}).code, 0);
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path("rows.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE states SET record_number = 8 WHERE name = 'bravo'", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto r = run({"verify", store});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bravo"), std::string::npos) << r.err;
  EXPECT_EQ(run({"dump", store}).code, 1) << "a damaged row makes the store unloadable";

  r = run({"salvage", store, "yaml:" + path("rescued.yml")});
  ASSERT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.out.find("salvaged 2 states"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bravo"), std::string::npos) << r.out;

  r = run({"rm", store, "bravo"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"verify", store});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ok, 2 states"), std::string::npos) << r.out;
}

// A FIFO or a device where a store's file should be is refused at once,
// with a message naming it: never opened in a way that waits for a writer,
// never read without bound (/dev/zero), for readers and writers, at the
// store's own path and at the files beside it that the store or its
// library opens (the lock files, SQLite's journal).
TEST_F(Ctl, SpecialFilesAreRefusedAtOnceNamingThem) {
  constexpr int kSigalrm = 128 + SIGALRM;
  auto expect_refused = [&](const std::vector<std::string>& args, const std::string& names) {
    SCOPED_TRACE(::testing::PrintToString(args));
    auto r = run(args);
    EXPECT_NE(r.code, kSigalrm) << "hangs";
    EXPECT_EQ(r.code, 2) << r.err;  // invalid_config: the path is wrong, not the disk
    EXPECT_NE(r.err.find(names), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
  };
  const bool had_device_lock = fs::exists("/dev/zero.lock");
  for (std::string scheme : {"yaml", "json", "sqlite", "lmdb"}) {
    const std::string fifo = path("fifo." + scheme);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (const std::string& target : {fifo, std::string("/dev/zero")}) {
      const std::string store = scheme + ":" + target;
      expect_refused({"dump", store}, target);
      expect_refused({"verify", store}, target);
      expect_refused({"get", store, "a"}, target);
      expect_refused({"set", store, "a", "-r", "1"}, target);
      expect_refused({"rm", store, "a"}, target);
      expect_refused({"convert", store, "json:" + path("out.json")}, target);
      expect_refused({"salvage", store, "json:" + path("out.json")}, target);
    }
    EXPECT_EQ(fs::exists("/dev/zero.lock"), had_device_lock) << "a lock file made beside a device";

    // Beside a store: the writer lock's file, and the library's own files.
    const std::string store =
        scheme + ":" + path("s." + scheme) + (scheme == "sqlite" ? "?journal_mode=delete" : "");
    ASSERT_EQ(run({"set", store, "a", "-r", "1"}).code, 0);
    std::vector<std::string> beside = {".lock"};
    if (scheme == "lmdb") beside.push_back("-lock");
    if (scheme == "sqlite") beside.push_back("-journal");
    for (const std::string& suffix : beside) {
      const std::string file = path("s." + scheme + suffix);
      fs::remove(file);
      ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);
      expect_refused({"set", store, "b", "-r", "2"}, file);
      expect_refused({"rm", store, "a"}, file);
      EXPECT_EQ(fs::status(file).type(), fs::file_type::fifo) << "left as it was";
      fs::remove(file);
    }
    auto r = run({"get", store, "a"});
    EXPECT_EQ(r.code, 0) << r.err;
  }
}

// Arguments are echoed escaped: a name or a path may hold terminal control
// sequences or bytes that are not UTF-8, which must not reach the terminal
// raw.
TEST_F(Ctl, ArgumentsAreEchoedEscaped) {
  const std::string store = "yaml:" + path("s.yml");
  ASSERT_EQ(run({"set", store, "a", "-r", "1"}).code, 0);
  const std::string hostile =
      "\x1b[31mred\x1b]0;title\x07 \xff\xfe \xc2\x9b bidi \xe2\x80\xae x\ny";
  auto raw = [](const std::string& text) {
    for (char c : text) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\n') || u == 0x7f || u == 0xff || u == 0xfe) return true;
    }
    return text.find("\xc2\x9b") != std::string::npos ||
           text.find("\xe2\x80\xae") != std::string::npos;
  };
  const std::string shown = "\\x1b[31mred\\x1b]0;title\\x07 \\xff\\xfe \\u009b bidi \\u202e x\\ny";
  for (std::vector<std::string> args : {std::vector<std::string>{"get", store, hostile},
                                        {"rm", store, hostile},
                                        {"set", store, hostile, "-r", "1"},
                                        {"get", "yaml:" + path(hostile), "a"},
                                        {"dump", "yaml:" + path(hostile)},
                                        {"set", "yaml:" + path("x.yml"), "a", "-r", hostile},
                                        {"set", store, "a", "-r", "1", "-t", hostile}}) {
    SCOPED_TRACE(args[0]);
    auto r = run(args);
    EXPECT_NE(r.code, 0);
    EXPECT_FALSE(raw(r.err)) << r.err;
    EXPECT_FALSE(raw(r.out)) << r.out;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    if (args[0] != "set" || args[2] != hostile) {  // set refuses such a name unechoed
      EXPECT_NE(r.err.find(shown), std::string::npos) << r.err;
    }
  }
  // A backslash is escaped too, so that the output tells "\n" from a line break.
  auto r = run({"get", store, "back\\slash"});
  EXPECT_NE(r.err.find("\"back\\\\slash\""), std::string::npos) << r.err;
  // Valid UTF-8 is shown as it is.
  r = run({"get", store, "\xc3\xbc\xe6\x97\xa5"});
  EXPECT_NE(r.err.find("\"\xc3\xbc\xe6\x97\xa5\""), std::string::npos) << r.err;
}

TEST_F(Ctl, UsageErrorsExitTwo) {
  auto r = run({"get", "yaml:" + path("s.yml")});
  EXPECT_EQ(r.code, 2) << "missing NAME";
  r = run({});
  EXPECT_EQ(r.code, 2) << "no subcommand";
  r = run({"dump", "nosuch:" + path("x")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown scheme"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("yaml"), std::string::npos) << "lists the known schemes: " << r.err;
  r = run({"set", "yaml:" + path("s.yml"), "a", "-r", "-1"});
  EXPECT_EQ(r.code, 2) << "negative record number";
  r = run({"set", "yaml:" + path("s.yml"), "a", "-r", "1", "-t", "yesterday"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("yesterday"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("s.yml"))) << "a rejected set writes nothing";
}

TEST_F(Ctl, EverySubcommandHasHelpWithAnExample) {
  for (std::string sub : {"backends", "dump", "get", "set", "rm", "verify", "convert", "salvage",
                          "stores", "completion"}) {
    auto r = run({sub, "--help"});
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("Example:\n  checkpointctl " + sub), std::string::npos) << r.out;
  }
}

TEST_F(Ctl, JsonOutputHasStableFieldsAndExactValues) {
  std::string store = "yaml:" + path("s.yml");
  ASSERT_EQ(run({"set", store, "Application", "-r", "18446744073709551615", "-t",
                 "2017-12-05T07:16:38.25-08:00", "-b", "<a/>\r\n"})
                .code,
            0);
  auto r = run({"get", store, "Application", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto state = nlohmann::json::parse(r.out);
  EXPECT_EQ(state["name"], "Application");
  EXPECT_EQ(state["record_number"].get<std::uint64_t>(), 18446744073709551615u);
  EXPECT_EQ(state["timestamp"], "2017-12-05T15:16:38.25Z");
  EXPECT_EQ(state["bookmark"], "<a/>\r\n");

  r = run({"verify", store, "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["states"], 1);
  EXPECT_TRUE(report["problems"].empty());
  EXPECT_EQ(report["store"], store);

  r = run({"backends", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto backends = nlohmann::json::parse(r.out);
  bool yaml = false;
  for (const auto& backend : backends) {
    if (backend["scheme"] == "yaml") {
      yaml = true;
      EXPECT_EQ(backend["extensions"], nlohmann::json({".yml", ".yaml"}));
      EXPECT_TRUE(backend["options"].is_array());
      EXPECT_EQ(backend["origin"], "built-in");
    }
  }
  EXPECT_TRUE(yaml) << r.out;

  // Damage: verify says so in JSON and fails; salvage lists what it lost
  // and exits 3.
  ASSERT_EQ(run({"set", store, "Security", "-r", "5"}).code, 0);
  std::string text = slurp(path("s.yml"));
  text.replace(text.find("Security"), 8, std::string(8, '\0'));
  std::ofstream(path("s.yml"), std::ios::binary) << text;
  r = run({"verify", store, "--format", "json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["ok"], false) << r.out;
  r = run({"salvage", store, "json:" + path("saved.json"), "--format", "json"});
  EXPECT_EQ(r.code, 3) << r.err;
  auto salvaged = nlohmann::json::parse(r.out);
  EXPECT_EQ(salvaged["salvaged"], 1) << r.out;
  ASSERT_EQ(salvaged["damage"].size(), 1u) << r.out;
  EXPECT_TRUE(salvaged["damage"][0].contains("where"));
  EXPECT_TRUE(salvaged["damage"][0].contains("what"));
}

TEST_F(Ctl, AnUnknownSubcommandIsNamed) {
  auto r = run({"dumpp", "x.yml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("unknown subcommand \"dumpp\""));
  EXPECT_FALSE(fs::exists("x.yml"));
}

TEST_F(Ctl, AMissingNameSuggestsOneThatDiffersInCase) {
  std::string store = "yaml:" + path("s.yml");
  ASSERT_EQ(run({"set", store, "Security", "-r", "5"}).code, 0);
  for (std::string command : {"get", "rm"}) {
    auto r = run({command, store, "security"});
    EXPECT_EQ(r.code, 1) << command;
    EXPECT_THAT(r.err, ::testing::HasSubstr("no state named \"security\"; did you mean "
                                            "\"Security\"?"));
  }
  auto r = run({"get", store, "Sec"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("did you mean")));
}

TEST_F(Ctl, SetChangesOnlyWhatItIsGiven) {
  std::string store = "yaml:" + path("s.yml");
  ASSERT_EQ(run({"set", store, "a", "-r", "9", "-t", "2020-01-01T00:00:00Z", "-b", "<b/>"}).code,
            0);
  ASSERT_EQ(run({"set", store, "a", "-b", "<c/>"}).code, 0);
  auto state = nlohmann::json::parse(run({"get", store, "a", "-f", "json"}).out);
  EXPECT_EQ(state["record_number"], 9);
  EXPECT_EQ(state["timestamp"], "2020-01-01T00:00:00Z");
  EXPECT_EQ(state["bookmark"], "<c/>");
  ASSERT_EQ(run({"set", store, "a", "-t", "2021-06-01T12:00:00Z"}).code, 0);
  state = nlohmann::json::parse(run({"get", store, "a", "-f", "json"}).out);
  EXPECT_EQ(state["record_number"], 9);
  EXPECT_EQ(state["timestamp"], "2021-06-01T12:00:00Z");
  EXPECT_EQ(state["bookmark"], "<c/>");

  // A new state needs a record number, and gets the current time.
  const std::string before = slurp(path("s.yml"));
  auto r = run({"set", store, "new", "-b", "<d/>"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("needs --record-number"));
  EXPECT_EQ(slurp(path("s.yml")), before) << "nothing written";
  const auto start = checkpoint::Timestamp::now();
  ASSERT_EQ(run({"set", store, "new", "-r", "1"}).code, 0);
  const auto end = checkpoint::Timestamp::now();
  state = nlohmann::json::parse(run({"get", store, "new", "-f", "json"}).out);
  const auto stamped = checkpoint::Timestamp::parse(state["timestamp"].get<std::string>());
  EXPECT_TRUE(start <= stamped && stamped <= end) << state;
}

TEST_F(Ctl, CompletionScriptsCompleteSubcommandsAndValues) {
  auto r = run({"completion", "bash"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ofstream(path("completion.bash")) << r.out;
  // Bash itself completes with it.
  auto complete = [&](const std::string& words, int cword) {
    const std::string command = "bash -c 'source " + path("completion.bash") + "; COMP_WORDS=(" +
                                words + "); COMP_CWORD=" + std::to_string(cword) +
                                "; _checkpointctl; echo \"${COMPREPLY[*]}\"'";
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char buffer[256];
      while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
      EXPECT_EQ(::pclose(pipe), 0) << command;
    }
    return out;
  };
  EXPECT_EQ(complete("checkpointctl sal", 1), "salvage\n");
  EXPECT_EQ(complete("checkpointctl dump x.yml --format \"\"", 4), "table yaml json\n");
  EXPECT_EQ(complete("checkpointctl get x.yml a --format j", 5), "json\n");
  EXPECT_EQ(complete("checkpointctl set x.yml a --book", 4), "--bookmark\n");
  for (std::string shell : {"zsh", "fish"}) {
    r = run({"completion", shell});
    ASSERT_EQ(r.code, 0) << r.err;
    for (std::string sub : {"dump", "salvage", "completion"}) {
      EXPECT_THAT(r.out, ::testing::HasSubstr(sub)) << shell;
    }
    EXPECT_THAT(r.out, ::testing::HasSubstr("table yaml json")) << shell;
  }
  r = run({"completion", "tcsh"});
  EXPECT_EQ(r.code, 2);
}

// ---- postgresql: against the test server (tests/postgresql/server.sh) ----

// "postgresql://checkpoint@127.0.0.1:PORT/checkpoint", which the fixture
// wrote; its port.
std::string pg_server() {
  std::string text = slurp(CHECKPOINT_PG_URI_FILE);
  return text.substr(0, text.find('\n'));
}
std::string pg_port() {
  std::string uri = pg_server();
  auto colon = uri.rfind(':');
  return uri.substr(colon + 1, uri.find('/', colon) - colon - 1);
}

TEST_F(Ctl, StoresListsTheStoresOfAPostgresqlDatabase) {
  const std::string tag = "ctl-" + std::to_string(::getpid());
  const std::string idle = pg_server() + "?store=" + tag + "-idle";
  const std::string held = pg_server() + "?store=" + tag + "-held";
  ASSERT_EQ(run({"set", idle, "a", "-r", "1", "-t", "2024-05-01T10:00:00Z"}).code, 0);
  ASSERT_EQ(run({"set", idle, "b", "-r", "2"}).code, 0);
  ASSERT_EQ(run({"set", held, "a", "-r", "3"}).code, 0);
  auto holder = checkpoint::Store::open(held);  // this process holds it
  auto r = run({"stores", pg_server()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("NAME", 0), 0u) << r.out;
  std::istringstream lines(r.out);
  std::map<std::string, std::string> row;
  for (std::string line; std::getline(lines, line);) {
    row[line.substr(0, line.find(' '))] = line;
  }
  ASSERT_TRUE(row.count(tag + "-idle")) << r.out;
  ASSERT_TRUE(row.count(tag + "-held")) << r.out;
  EXPECT_THAT(row[tag + "-idle"], ::testing::MatchesRegex(".* 2 +20[0-9-]+T[0-9:.]+Z +-$"));
  EXPECT_THAT(row[tag + "-held"],
              ::testing::HasSubstr("pid " + std::to_string(::getpid()) + ", since "));
  // A backend of one store per file has none to list.
  r = run({"stores", "sqlite:" + path("x.db")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("sqlite"));
}

TEST_F(Ctl, APasswordInAConfigStringIsNeverPrinted) {
  const std::string secret = "checkpoint-test-secret";
  const std::string uri = "postgresql://checkpoint_password:" + secret + "@127.0.0.1:" + pg_port() +
                          "/checkpoint?store=ctl-password-" + std::to_string(::getpid());
  for (std::vector<std::string> args :
       {std::vector<std::string>{"set", uri, "a", "-r", "1"},
        {"get", uri, "a"},
        {"get", uri, "missing"},
        {"verify", uri},
        {"dump", uri},
        {"convert", uri, "yaml:" + path("copy.yml")},
        {"stores", uri},
        {"dump", uri + "&unknown=1"},
        {"dump", uri + "x&store=again"},
        // usage errors quoting the arguments
        {"get", "x.yml", "a", uri},
        {"dump", "x.yml", "--format", uri},
        {"dump", "x.yml", "--format=" + uri},
        {"dump", "x.yml", "--format", uri + "&sslpassword=" + secret}}) {
    SCOPED_TRACE(args[0]);
    auto r = run(args);
    EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
  }
  auto r = run({"verify", uri});
  EXPECT_EQ(r.code, 0) << r.err;  // the password did log in
  EXPECT_THAT(r.out, ::testing::HasSubstr("checkpoint_password:***@"));
}

}  // namespace
