// What is specific to the lmdb backend: its value encoding, long names,
// map growth, options, files that are not LMDB environments, the format
// version, and readers beside a writer. What every store must do is in the
// conformance suite (lmdb_conformance_test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/lmdb/lmdb_encoding.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
namespace lmdb = backends::lmdb;
using lmdb::decode_value;
using lmdb::encode_value;
using ::testing::HasSubstr;

constexpr std::string_view kStore = "lmdb store /x/state.lmdb";

EventLogState state(std::string name, std::uint64_t record_number = 1,
                    Timestamp timestamp = Timestamp::from_unix(1'512'486'962, 672'130'300),
                    std::string bookmark = {}) {
  return {std::move(name), record_number, timestamp, std::move(bookmark)};
}

std::string encoded(const EventLogState& s, bool embed_name) {
  std::string out;
  encode_value(s, embed_name, out);
  return out;
}

// Runs `f` and returns the Error it throws; fails the test if it throws none.
template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no Error thrown";
  return Error(ErrorCode::invalid_argument, "(none)");
}

// ---------------------------------------------------------------------------
// The value encoding

TEST(LmdbEncoding, RoundTripsUnderADirectKey) {
  for (const auto& s : {
           state("Application"),
           state("a", 0, Timestamp()),
           state("b", std::numeric_limits<std::uint64_t>::max(),
                 Timestamp::parse("9999-12-31T23:59:59.999999999Z"), "<b/>\r\n"),
           state("c", std::uint64_t{1} << 63, Timestamp::from_unix(Timestamp::kMinSeconds, 1),
                 std::string("nul\0inside", 10)),
           state("d", 127, Timestamp::from_unix(-1, 999'999'999), std::string(70'000, 'x')),
       }) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(decode_value(s.name, encoded(s, false), kStore), s);
  }
}

TEST(LmdbEncoding, RoundTripsUnderAHashedKey) {
  for (std::string name : {std::string(4096, 'n'), std::string(512, 'm'), std::string("\xFF"),
                           std::string("\xFF"
                                       "abc")}) {
    EventLogState s = state(name, 42, Timestamp::from_unix(0, 1), "<bookmark/>");
    EXPECT_FALSE(lmdb::is_direct_name(name));
    for (std::uint32_t probe : {0u, 1u, 0xFFFFFFFEu}) {
      std::string key = lmdb::hashed_key(name, probe);
      EXPECT_EQ(key.size(), lmdb::kHashedKeySize);
      EXPECT_EQ(lmdb::hashed_key_probe(key), probe);
      EXPECT_EQ(decode_value(key, encoded(s, true), kStore), s);
      EXPECT_EQ(lmdb::decode_name(key, encoded(s, true), kStore), name);
    }
  }
}

TEST(LmdbEncoding, IsCompact) {
  // Version, 1-byte record number, 12-byte timestamp, empty name length.
  EXPECT_EQ(encoded(state("a", 0), false).size(), 1u + 1 + 12 + 1);
  EXPECT_EQ(encoded(state("a", std::numeric_limits<std::uint64_t>::max()), false).size(),
            1u + 10 + 12 + 1);
  EXPECT_EQ(encoded(state("a", 300, Timestamp(), "bm"), false).size(), 1u + 2 + 12 + 1 + 2);
}

TEST(LmdbEncoding, DirectNamesAreUpTo511BytesAndNeverStartWithFF) {
  EXPECT_TRUE(lmdb::is_direct_name("a"));
  EXPECT_TRUE(lmdb::is_direct_name(std::string(511, 'a')));
  EXPECT_FALSE(lmdb::is_direct_name(std::string(512, 'a')));
  EXPECT_FALSE(
      lmdb::is_direct_name("\xFF"
                           "a"));
  EXPECT_FALSE(lmdb::is_direct_name(""));
  EXPECT_TRUE(lmdb::is_direct_name("\xC3\xBC"));  // UTF-8 never has 0xFF
}

void expect_corrupt(std::string_view key, std::string_view value, const std::string& why) {
  SCOPED_TRACE(why);
  Error e = error_of([&] { decode_value(key, value, kStore); });
  EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
  EXPECT_THAT(e.what(), HasSubstr(std::string(kStore))) << "names the store";
  if (!key.empty()) {
    EXPECT_THAT(e.what(), HasSubstr(lmdb::describe_key(key))) << "names the key";
  }
}

TEST(LmdbEncoding, EveryTruncationIsCorrupt) {
  // Without a bookmark every byte is needed: each shorter prefix must fail.
  const std::string value =
      encoded(state("name", std::numeric_limits<std::uint64_t>::max()), false);
  for (std::size_t n = 0; n < value.size(); ++n) {
    expect_corrupt("name", value.substr(0, n), "prefix of " + std::to_string(n) + " bytes");
  }
  // Under a hashed key the embedded name is needed too.
  const std::string name(600, 'n');
  const std::string hashed = encoded(state(name), true);
  expect_corrupt(lmdb::hashed_key(name, 0), hashed.substr(0, hashed.size() - 1), "name cut");
}

TEST(LmdbEncoding, BadVersionByteIsCorrupt) {
  std::string value = encoded(state("name"), false);
  for (unsigned char version : {0, 2, 0x7F, 0xFF}) {
    value[0] = static_cast<char>(version);
    expect_corrupt("name", value, "version " + std::to_string(version));
  }
}

TEST(LmdbEncoding, RecordNumberBeyond64BitsIsCorrupt) {
  std::string value(1, static_cast<char>(lmdb::kValueVersion));
  value += std::string(9, '\xFF') + '\x02';  // a 10th byte with more than bit 63
  value += std::string(12, '\0') + '\0';
  expect_corrupt("name", value, "10th varint byte > 1");
  std::string endless(1, static_cast<char>(lmdb::kValueVersion));
  endless += std::string(30, '\x80');
  expect_corrupt("name", endless, "unterminated varint");
}

TEST(LmdbEncoding, OutOfRangeTimestampIsCorrupt) {
  auto with_time = [](std::int64_t seconds, std::uint32_t nanos) {
    std::string value = encoded(state("name", 5), false);
    for (int i = 0; i < 8; ++i)
      value[2 + i] = static_cast<char>(static_cast<std::uint64_t>(seconds) >> (8 * i));
    for (int i = 0; i < 4; ++i) value[10 + i] = static_cast<char>(nanos >> (8 * i));
    return value;
  };
  // The helper itself writes what the encoder writes.
  EXPECT_EQ(decode_value("name", with_time(1'512'486'962, 672'130'300), kStore), state("name", 5));
  expect_corrupt("name", with_time(Timestamp::kMaxSeconds + 1, 0), "after year 9999");
  expect_corrupt("name", with_time(Timestamp::kMinSeconds - 1, 0), "before year 1");
  expect_corrupt("name", with_time(0, 1'000'000'000), "nanos of 1e9");
  expect_corrupt("name", with_time(std::numeric_limits<std::int64_t>::min(), 0), "int64 min");
}

TEST(LmdbEncoding, KeyAndNameThatDisagreeAreCorrupt) {
  const std::string long_name(600, 'n');
  // A name embedded under a direct key.
  expect_corrupt("name", encoded(state("name"), true), "name stored twice");
  // A hashed key without a name, with another name, of the wrong length,
  // or holding a name that needs no hashed key.
  expect_corrupt(lmdb::hashed_key(long_name, 0), encoded(state(long_name), false), "no name");
  expect_corrupt(lmdb::hashed_key(long_name, 0), encoded(state(long_name + "x"), true),
                 "another name");
  expect_corrupt(lmdb::hashed_key(long_name, 0).substr(0, 10), encoded(state(long_name), true),
                 "short hashed key");
  expect_corrupt(lmdb::hashed_key("short", 0), encoded(state("short"), true), "short name");
  // Name length beyond the value, an empty key, and a key beyond the limit.
  std::string value = encoded(state("name"), false);
  value.back() = '\x05';  // name length 5, but no bytes follow
  expect_corrupt("name", value, "name length past the end");
  expect_corrupt("", encoded(state("x"), false), "empty key");
  expect_corrupt(std::string(512, 'k'), encoded(state("k"), false), "direct key too long");
}

TEST(LmdbEncoding, MetaValuesOfTheWrongLengthAreCorrupt) {
  EXPECT_EQ(lmdb::decode_timestamp(lmdb::encode_timestamp(Timestamp::from_unix(7, 8)), kStore,
                                   "update_time"),
            Timestamp::from_unix(7, 8));
  EXPECT_EQ(error_of([] { lmdb::decode_timestamp("12345678901", kStore, "update_time"); }).code(),
            ErrorCode::corrupt);
  EXPECT_EQ(lmdb::decode_format_version(lmdb::encode_format_version(7), kStore), 7u);
  EXPECT_EQ(error_of([] { lmdb::decode_format_version("12345", kStore); }).code(),
            ErrorCode::corrupt);
}

TEST(LmdbEncoding, DescribeKeyIsReadable) {
  EXPECT_EQ(lmdb::describe_key("a \"b\"\n"), "key \"a \\\"b\\\"\\x0a\"");
  EXPECT_THAT(lmdb::describe_key(std::string(300, 'z')), HasSubstr("300 bytes, shortened"));
  EXPECT_THAT(lmdb::describe_key(lmdb::hashed_key("x", 1)), HasSubstr("hashed key 0xff"));
}

// ---------------------------------------------------------------------------
// Stores on disk

class LmdbStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "checkpoint-lmdb-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ / "state.lmdb";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string uri(const std::string& options = "") const {
    return "lmdb:" + path_.string() + (options.empty() ? "" : "?" + options);
  }

  static void commit(StateStore& store, const StateMap& states, std::vector<std::string> upserted,
                     std::vector<std::string> removed = {},
                     Timestamp time = Timestamp::from_unix(1'700'000'000, 5)) {
    store.commit(Commit{time, states, upserted, removed});
  }

  static void commit_all(StateStore& store, const StateMap& states,
                         Timestamp time = Timestamp::from_unix(1'700'000'000, 5)) {
    std::vector<std::string> names;
    for (const auto& [name, s] : states) names.push_back(name);
    commit(store, states, names, {}, time);
  }

  static StateMap as_map(const PersistedState& loaded) {
    StateMap out;
    for (const auto& s : loaded.states) out.emplace(s.name, s);
    return out;
  }

  // Direct access to a store's file through LMDB, for writing what the
  // store never would. No store may be open on the file meanwhile.
  void raw_write(const fs::path& path, const std::function<void(MDB_txn*)>& f) {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600), 0);
    MDB_txn* txn;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    f(txn);
    EXPECT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }

  static MDB_dbi dbi(MDB_txn* txn, const char* name) {
    MDB_dbi d = 0;
    EXPECT_EQ(mdb_dbi_open(txn, name, MDB_CREATE, &d), 0);
    return d;
  }

  static void raw_put(MDB_txn* txn, const char* db, std::string_view key, std::string_view value) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    EXPECT_EQ(mdb_put(txn, dbi(txn, db), &k, &v, 0), 0);
  }

  static void write_file(const fs::path& path, std::string_view contents) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }

  static std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Opens the store at `path` and loads it: the Error, or nullopt if it loaded.
  std::optional<Error> open_and_load(const fs::path& path, PersistedState* loaded = nullptr) {
    try {
      auto store = open_store("lmdb:" + path.string());
      PersistedState got = store->load();
      if (loaded) *loaded = std::move(got);
      return std::nullopt;
    } catch (const Error& e) {
      return e;
    }
  }

  fs::path dir_, path_;
};

TEST_F(LmdbStore, OptionsAreChecked) {
  for (const char* bad : {"map_size=abc", "map_size=0", "map_size=1KiB", "map_size=65535",
                          "map_size=17TiB", "map_size=-1", "sync=maybe", "sync=", "color=red"}) {
    SCOPED_TRACE(bad);
    Error e = error_of([&] { open_store(uri(bad)); });
    EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
  }
  EXPECT_FALSE(fs::exists(path_)) << "a refused config string created nothing";
  EXPECT_EQ(error_of([] { open_store("lmdb:"); }).code(), ErrorCode::invalid_config);
  for (const char* good : {"map_size=64KiB", "map_size=4GiB", "map_size=1048576", "sync=off",
                           "sync=on&map_size=256MiB"}) {
    SCOPED_TRACE(good);
    EXPECT_NO_THROW(open_store(uri(good))->load());
  }
}

TEST_F(LmdbStore, ExtensionsPickTheBackend) {
  EXPECT_EQ(parse_store_uri((dir_ / "a.lmdb").string()).scheme, "lmdb");
  EXPECT_EQ(parse_store_uri((dir_ / "a.mdb").string()).scheme, "lmdb");
  auto store = open_store((dir_ / "plain.mdb").string());
  StateMap states = {{"a", state("a")}};
  commit_all(*store, states);
  EXPECT_EQ(as_map(store->load()), states);
}

TEST_F(LmdbStore, CreatesOneFileAndItsLockWithPrivateModes) {
  path_ = dir_ / "new" / "dir" / "state.lmdb";
  mode_t old_umask = ::umask(0);  // the modes must not depend on the umask
  auto store = open_store(uri());
  ::umask(old_umask);
  store->load();
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((path_.string() + "-lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir_ / "new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path_.parent_path())) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(files, ::testing::UnorderedElementsAre("state.lmdb", "state.lmdb-lock"))
      << "no temporary files left behind";
}

TEST_F(LmdbStore, MapGrowsInsteadOfFailing) {
  StateMap states;
  const std::string bookmark(1000, 'b');
  for (int i = 0; i < 3000; ++i) {
    std::string name = "stream-" + std::to_string(i);
    states.emplace(name, state(name, static_cast<std::uint64_t>(i), Timestamp(), bookmark));
  }
  {
    auto store = open_store(uri("map_size=64KiB"));
    commit_all(*store, states);  // about 3 MB at once
    EXPECT_EQ(as_map(store->load()), states);
    // And a few more commits, each of which may need to grow again.
    for (int round = 0; round < 3; ++round) {
      std::vector<std::string> upserted;
      for (int i = 0; i < 1000; ++i) {
        std::string name = "more-" + std::to_string(round) + "-" + std::to_string(i);
        states.emplace(name, state(name, 1, Timestamp(), bookmark));
        upserted.push_back(name);
      }
      commit(*store, states, upserted);
    }
    EXPECT_EQ(as_map(store->load()), states);
  }
  EXPECT_GT(fs::file_size(path_), 4u << 20) << "the data outgrew the first map";
  // Reopened with the small setting, the store keeps the size it grew to.
  auto store = open_store(uri("map_size=64KiB"));
  EXPECT_EQ(as_map(store->load()), states);
  std::vector<std::string> one = {"stream-0"};
  states["stream-0"].record_number = 99;
  commit(*store, states, one);
  EXPECT_EQ(as_map(store->load()), states);
}

TEST_F(LmdbStore, LongNamesWorkAndAreNeverTruncated) {
  std::string long_utf8;
  while (long_utf8.size() < 4096) long_utf8 += "Ünï/ \"q\": #" + std::to_string(long_utf8.size());
  std::vector<std::string> names = {std::string(511, 'a'),
                                    std::string(512, 'a'),
                                    std::string(4096, 'a'),
                                    std::string(4097, 'a'),
                                    long_utf8,
                                    long_utf8 + "x",
                                    "\xFF",
                                    std::string(70'000, 'z')};
  StateMap states;
  std::uint64_t n = 0;
  for (const auto& name : names) states.emplace(name, state(name, ++n, Timestamp(), "bm"));
  auto store = open_store(uri());
  commit_all(*store, states);
  PersistedState loaded = store->load();
  EXPECT_EQ(as_map(loaded), states);
  ASSERT_TRUE(std::is_sorted(loaded.states.begin(), loaded.states.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
  // Overwrite and remove long names; names sharing a 4 KiB prefix stay apart.
  states[long_utf8].record_number = 1000;
  states.erase(long_utf8 + "x");
  states.erase(std::string(4097, 'a'));
  commit(*store, states, {long_utf8}, {long_utf8 + "x", std::string(4097, 'a')});
  store.reset();
  store = open_store(uri());
  EXPECT_EQ(as_map(store->load()), states);
}

TEST_F(LmdbStore, HashedNamesAreFoundUnderAnyProbe) {
  // A name whose hash collided with another's sits under a later probe
  // number; commits must find it there rather than add a second entry.
  const std::string name(600, 'p');
  { open_store(uri())->load(); }  // creates the store
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "states", lmdb::hashed_key(name, 3), encoded(state(name, 7), true));
  });
  auto store = open_store(uri());
  StateMap states = {{name, state(name, 7)}};
  EXPECT_EQ(as_map(store->load()), states);
  states[name].record_number = 8;
  commit(*store, states, {name});
  PersistedState loaded = store->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0].record_number, 8u);
  states.erase(name);
  commit(*store, states, {}, {name});
  EXPECT_TRUE(store->load().states.empty());
}

TEST_F(LmdbStore, ANameStoredTwiceIsCorrupt) {
  const std::string name(600, 'p');
  { open_store(uri())->load(); }
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "states", lmdb::hashed_key(name, 0), encoded(state(name, 1), true));
    raw_put(txn, "states", lmdb::hashed_key(name, 1), encoded(state(name, 2), true));
  });
  auto e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
  EXPECT_THAT(e->what(), HasSubstr("stored twice"));
}

TEST_F(LmdbStore, UndecodableValueIsCorruptNamingTheKey) {
  { open_store(uri())->load(); }
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "states", "good", encoded(state("good"), false));
    raw_put(txn, "states", "Application", "\x01\x05short");
  });
  auto e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
  EXPECT_THAT(e->what(), HasSubstr(path_.string()));
  EXPECT_THAT(e->what(), HasSubstr("key \"Application\""));
}

TEST_F(LmdbStore, UpdateTimeOfTheWrongLengthIsCorrupt) {
  { open_store(uri())->load(); }
  raw_write(path_, [&](MDB_txn* txn) { raw_put(txn, "meta", "update_time", "short"); });
  auto e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
  EXPECT_THAT(e->what(), HasSubstr("update_time"));
}

TEST_F(LmdbStore, FormatVersionIsChecked) {
  { open_store(uri())->load(); }
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "meta", "format_version", lmdb::encode_format_version(2));
  });
  auto e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::unsupported) << e->what();
  EXPECT_THAT(e->what(), HasSubstr(path_.string()));

  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "meta", "format_version", lmdb::encode_format_version(0));
  });
  e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();

  raw_write(path_, [&](MDB_txn* txn) { raw_put(txn, "meta", "format_version", "1"); });
  e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();

  raw_write(path_, [&](MDB_txn* txn) {
    MDB_val k{14, const_cast<char*>("format_version")};
    EXPECT_EQ(mdb_del(txn, dbi(txn, "meta"), &k, nullptr), 0);
  });
  e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
}

TEST_F(LmdbStore, AnotherApplicationsLmdbFileIsCorrupt) {
  raw_write(path_, [&](MDB_txn* txn) {
    MDB_dbi main;
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &main), 0);
    MDB_val k{3, const_cast<char*>("key")}, v{5, const_cast<char*>("value")};
    EXPECT_EQ(mdb_put(txn, main, &k, &v, 0), 0);
  });
  auto e = open_and_load(path_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
  EXPECT_THAT(e->what(), HasSubstr("not a checkpoint store"));
}

TEST_F(LmdbStore, FilesThatAreNotLmdbAreCorrupt) {
  std::mt19937_64 random(12345);
  std::string noise(64 * 1024, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty", ""},
      {"text", "update_time: 2017-12-05T15:16:07.841893Z\nevent_logs: []\n"},
      {"one NUL", std::string(1, '\0')},
      {"NULs", std::string(8192, '\0')},
      {"many NULs", std::string(1 << 20, '\0')},
      {"random bytes", noise},
      {"short random bytes", noise.substr(0, 100)},
  };
  for (const auto& [what, contents] : files) {
    SCOPED_TRACE(what);
    fs::path path = dir_ / (what + ".lmdb");
    write_file(path, contents);
    auto e = open_and_load(path);
    ASSERT_TRUE(e) << "loaded without an error";
    EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
    EXPECT_THAT(e->what(), HasSubstr(path.string()));
    EXPECT_TRUE(read_file(path) == contents) << "the file was changed";
  }
}

TEST_F(LmdbStore, ADirectoryIsNotAStore) {
  fs::create_directory(path_);
  EXPECT_EQ(error_of([&] { open_store(uri()); }).code(), ErrorCode::invalid_config);
}

TEST_F(LmdbStore, DamagedHeaderIsCorruptOrUnsupported) {
  { open_store(uri())->load(); }
  const std::string good = read_file(path_);
  std::string bad_magic = good;
  bad_magic[16] ^= 1;
  write_file(dir_ / "magic.lmdb", bad_magic);
  auto e = open_and_load(dir_ / "magic.lmdb");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();

  std::string other_version = good;
  other_version[20] = 2;  // LMDB's data format version in meta page 0
  write_file(dir_ / "version.lmdb", other_version);
  e = open_and_load(dir_ / "version.lmdb");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::unsupported) << e->what();

  std::string bad_page_size = good;
  bad_page_size[16 + 24] = 3;  // page size no longer a power of two
  write_file(dir_ / "pagesize.lmdb", bad_page_size);
  e = open_and_load(dir_ / "pagesize.lmdb");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
}

TEST_F(LmdbStore, TruncatedFileIsCorruptOrIntactNeverACrash) {
  // A store with branch pages, overflow pages (a 64 KiB bookmark) and free
  // pages; then every cut at and around page boundaries.
  StateMap states;
  for (int i = 0; i < 2000; ++i) {
    std::string name = "stream-" + std::to_string(i);
    states.emplace(name, state(name, static_cast<std::uint64_t>(i), Timestamp(), "<b/>"));
  }
  states.emplace("big", state("big", 1, Timestamp(), std::string(64 * 1024, 'x')));
  {
    auto store = open_store(uri());
    commit_all(*store, states);
    std::vector<std::string> removed;
    for (int i = 0; i < 2000; i += 3) {
      removed.push_back("stream-" + std::to_string(i));
      states.erase(removed.back());
    }
    commit(*store, states, {}, removed);
  }
  const std::string good = read_file(path_);
  ASSERT_GT(good.size(), 20u * 4096);
  int corrupt = 0, intact = 0;
  for (std::size_t cut = 0; cut < good.size(); cut += cut < 3 * 4096 ? 512 : 4096) {
    for (std::size_t size : {cut, cut + 1, cut + 2048}) {
      if (size >= good.size()) continue;
      SCOPED_TRACE("cut to " + std::to_string(size) + " of " + std::to_string(good.size()));
      fs::path path = dir_ / ("cut-" + std::to_string(size) + ".lmdb");
      write_file(path, good.substr(0, size));
      PersistedState loaded;
      auto e = open_and_load(path, &loaded);
      if (e) {
        EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
        EXPECT_THAT(e->what(), HasSubstr(path.string()));
        ++corrupt;
      } else {
        // Only pages no tree reaches were cut: the data must be intact.
        EXPECT_EQ(as_map(loaded), states);
        ++intact;
      }
      fs::remove(path);
      fs::remove(path.string() + "-lock");
    }
  }
  EXPECT_GT(corrupt, 0);
  // Cutting within the first two pages (the meta pages) is always damage.
  for (std::size_t size :
       {std::size_t{0}, std::size_t{100}, std::size_t{4096}, std::size_t{8191}}) {
    write_file(dir_ / "tiny.lmdb", good.substr(0, size));
    auto e = open_and_load(dir_ / "tiny.lmdb");
    ASSERT_TRUE(e) << size;
    EXPECT_EQ(e->code(), ErrorCode::corrupt) << e->what();
  }
  RecordProperty("intact_cuts", intact);
}

TEST_F(LmdbStore, GarbageLockFileIsRebuilt) {
  StateMap states = {{"a", state("a", 5)}};
  commit_all(*open_store(uri()), states);
  write_file(path_.string() + "-lock", std::string(100, '\x55'));
  EXPECT_EQ(as_map(open_store(uri())->load()), states);
}

TEST_F(LmdbStore, EmptyNameIsRefusedAndChangesNothing) {
  auto store = open_store(uri());
  StateMap states = {{"a", state("a", 5)}};
  commit_all(*store, states);
  StateMap with_empty = states;
  with_empty.emplace("", state("", 1));
  with_empty["a"].record_number = 6;
  EXPECT_EQ(error_of([&] {
              commit(*store, with_empty, {"", "a"});
            }).code(),
            ErrorCode::invalid_argument);
  EXPECT_EQ(as_map(store->load()), states);
}

TEST_F(LmdbStore, SyncOffStillCommits) {
  StateMap states = {{"a", state("a", 5)}};
  commit_all(*open_store(uri("sync=off")), states);
  EXPECT_EQ(as_map(open_store(uri())->load()), states);
}

TEST_F(LmdbStore, ReaderSeesCommitsWhileWriterIsOpen) {
  auto writer = open_store(uri());
  StateMap states = {{"a", state("a", 1)}};
  commit_all(*writer, states, Timestamp::from_unix(100));
  // A second store object on the same file in this process shares the one
  // LMDB environment (LMDB allows only one per process).
  auto reader = open_store(uri());
  EXPECT_EQ(as_map(reader->load()), states);
  states["a"].record_number = 2;
  states.emplace("b", state("b", 3));
  commit(*writer, states, {"a", "b"}, {}, Timestamp::from_unix(200));
  PersistedState loaded = reader->load();
  EXPECT_EQ(as_map(loaded), states);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(200));
  // The writer closing does not disturb the reader, and vice versa.
  writer.reset();
  EXPECT_EQ(as_map(reader->load()), states);
  writer = open_store(uri());
  reader.reset();
  EXPECT_EQ(as_map(writer->load()), states);
}

TEST_F(LmdbStore, ReadersInOtherThreadsSeeWholeCommitsWhileTheMapGrows) {
  // Both objects start with a 64 KiB map, which the writer's commits
  // outgrow several times while the reader loads.
  auto writer = open_store(uri("map_size=64KiB"));
  auto reader = open_store(uri("map_size=64KiB"));
  constexpr int kRounds = 40, kPerRound = 50;
  std::atomic<bool> done{false};
  std::thread writing([&] {
    StateMap states;
    for (int round = 1; round <= kRounds; ++round) {
      for (int i = 0; i < round * kPerRound; ++i) {
        std::string name = "stream-" + std::to_string(i);
        states.insert_or_assign(name, state(name, static_cast<std::uint64_t>(round), Timestamp(),
                                            std::string(500, 'b')));
      }
      commit_all(*writer, states, Timestamp::from_unix(round));
    }
    done = true;
  });
  int loads = 0, torn = 0;
  std::int64_t last_round = 0;
  while (!done || last_round < kRounds) {
    PersistedState loaded = reader->load();
    ++loads;
    // A commit is all or nothing: every state carries the round of the
    // update time, and there are as many states as that round wrote.
    std::int64_t round = loaded.update_time.is_zero() ? 0 : loaded.update_time.unix_seconds();
    bool whole = loaded.states.size() == static_cast<std::size_t>(round * kPerRound);
    for (const auto& s : loaded.states)
      whole = whole && s.record_number == static_cast<std::uint64_t>(round);
    if (!whole) ++torn;
    EXPECT_GE(round, last_round) << "a later load saw an older commit";
    last_round = round;
  }
  writing.join();
  EXPECT_EQ(torn, 0) << "of " << loads << " loads";
  EXPECT_EQ(last_round, kRounds);
}

// Runs `child` in a forked process and returns its exit status (0..255), or
// -1 if it died of a signal.
int in_child_process(const std::function<int()>& child) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = child();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(LmdbStore, OtherProcessReadsWhileWriterHoldsTheStore) {
  auto writer = open_store(uri());
  StateMap states = {{"a", state("a", 1)}, {"b", state("b", 2, Timestamp(), "<bm/>")}};
  commit_all(*writer, states);
  // A child process loads what the parent committed, but may not write
  // while the parent, having committed, holds the store.
  int status = in_child_process([&] {
    auto store = open_store(uri());
    if (as_map(store->load()) != states) return 1;
    try {
      commit(*store, states, {"a"});
      return 2;
    } catch (const Error& e) {
      return e.code() == ErrorCode::locked ? 0 : 3;
    }
  });
  EXPECT_EQ(status, 0) << "1: wrong states, 2: commit allowed, 3: wrong error";

  // Once the parent's writer is closed, the child may write.
  writer.reset();
  status = in_child_process([&] {
    auto store = open_store(uri());
    StateMap more = states;
    more.emplace("c", state("c", 3));
    commit(*store, more, {"c"});
    return as_map(store->load()) == more ? 0 : 1;
  });
  EXPECT_EQ(status, 0);
  auto reader = open_store(uri());
  EXPECT_EQ(reader->load().states.size(), 3u);
}

TEST_F(LmdbStore, MapGrownByAnotherProcessIsFollowed) {
  auto store = open_store(uri("map_size=64KiB"));
  EXPECT_TRUE(store->load().states.empty());
  // The child's commit outgrows the map this process has mapped.
  StateMap states;
  for (int i = 0; i < 2000; ++i) {
    std::string name = "stream-" + std::to_string(i);
    states.emplace(name, state(name, 1, Timestamp(), std::string(1000, 'b')));
  }
  int status = in_child_process([&] {
    commit_all(*open_store(uri("map_size=64KiB")), states);
    return 0;
  });
  ASSERT_EQ(status, 0);
  EXPECT_EQ(as_map(store->load()), states);
  states["stream-1"].record_number = 2;
  commit(*store, states, {"stream-1"});
  EXPECT_EQ(as_map(store->load()), states);
}

}  // namespace
}  // namespace checkpoint
