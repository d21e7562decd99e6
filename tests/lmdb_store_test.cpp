// What is specific to the lmdb backend: its value encoding, long names,
// map growth, options, files that are not LMDB environments, the format
// version, readers (alone, touching nothing, and beside a writer in this
// process or another), and check and salvage of a damaged value. What
// every store must do is in the conformance suite (lmdb_conformance_test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/lmdb/lmdb_encoding.hpp"
#include "backends/lmdb/lmdb_env.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/writer_lock.hpp"
#include "core/checksum.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
namespace lmdb = backends::lmdb;
using lmdb::encode_value;
using ::testing::HasSubstr;

constexpr std::string_view kStore = "lmdb store /x/state.lmdb";

// The store's update time, which a value of version 1 takes.
const Timestamp kStoreTime = Timestamp::from_unix(1'700'000'000, 5);

EventLogState state(std::string name, std::uint64_t record_number = 1,
                    Timestamp timestamp = Timestamp::from_unix(1'512'486'962, 672'130'300),
                    std::string bookmark = {},
                    Timestamp update_time = Timestamp::from_unix(1'600'000'000, 7)) {
  return {std::move(name), record_number, timestamp, std::move(bookmark), update_time};
}

EventLogState decode_value(std::string_view key, std::string_view value, std::string_view store) {
  return lmdb::decode_value(key, value, store, kStoreTime);
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
           state("e", 1, Timestamp(), "", Timestamp()),
           state("f", 1, Timestamp(), "", Timestamp::parse("9999-12-31T23:59:59.999999999Z")),
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
  // Version, 1-byte record number, 12-byte timestamp, 12-byte update time,
  // empty name length, checksum.
  EXPECT_EQ(encoded(state("a", 0), false).size(), 1u + 1 + 12 + 12 + 1 + 4);
  EXPECT_EQ(encoded(state("a", std::numeric_limits<std::uint64_t>::max()), false).size(),
            1u + 10 + 12 + 12 + 1 + 4);
  EXPECT_EQ(encoded(state("a", 300, Timestamp(), "bm"), false).size(),
            1u + 2 + 12 + 12 + 1 + 2 + 4);
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

// LMDB does not checksum its pages; each value carries the checksum of its
// state, so no changed byte reads back as another state.
TEST(LmdbEncoding, EveryChangedByteIsCorrupt) {
  const EventLogState s = state("name", 250502, Timestamp::from_unix(7, 8), "<bookmark/>");
  const std::string value = encoded(s, false);
  for (std::size_t i = 0; i < value.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xFF}) {
      std::string changed = value;
      changed[i] = static_cast<char>(changed[i] ^ mask);
      expect_corrupt("name", changed, "byte " + std::to_string(i) + " ^ " + std::to_string(mask));
    }
  }
  expect_corrupt("Name", value, "another key");
}

TEST(LmdbEncoding, BadVersionByteIsCorrupt) {
  std::string value = encoded(state("name"), false);
  for (unsigned char version : {0, 3, 0x7F, 0xFF}) {
    value[0] = static_cast<char>(version);
    expect_corrupt("name", value, "version " + std::to_string(version));
  }
}

// A value of version 1 (format 1, before states had their own update
// time): version byte 1, no update time, the first checksum.
std::string version_1_value(const EventLogState& s) {
  std::string out(1, '\x01');
  out += static_cast<char>(s.record_number);  // below 128: one varint byte
  out += lmdb::encode_timestamp(s.timestamp);
  out += '\0';  // under a direct key
  out += s.bookmark;
  const std::uint32_t checksum = detail::state_checksum(s);
  for (int i = 0; i < 4; ++i) out += static_cast<char>(checksum >> (8 * i));
  return out;
}

TEST(LmdbEncoding, AVersion1ValueReadsWithTheStoresUpdateTime) {
  EventLogState s = state("name", 42, Timestamp::from_unix(7, 8), "<b/>");
  const std::string old = version_1_value(s);
  EXPECT_TRUE(lmdb::is_old_value(old));
  EXPECT_FALSE(lmdb::is_old_value(encoded(s, false)));
  s.update_time = kStoreTime;
  EXPECT_EQ(decode_value("name", old, kStore), s);
  // Its checksum is still checked: any changed byte is damage.
  for (std::size_t i = 1; i < old.size(); ++i) {
    std::string changed = old;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    expect_corrupt("name", changed, "byte " + std::to_string(i));
  }
}

TEST(LmdbEncoding, RecordNumberBeyond64BitsIsCorrupt) {
  std::string value(1, static_cast<char>(lmdb::kValueVersion));
  value += std::string(9, '\xFF') + '\x02';  // a 10th byte with more than bit 63
  value += std::string(24, '\0') + '\0';
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
  value[value.size() - 5] = '\x05';  // name length 5, but only the checksum follows
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
  const Timestamp t = Timestamp::from_unix(7, 8);
  EXPECT_EQ(lmdb::decode_update_time(lmdb::encode_update_time(t), kStore), t);
  EXPECT_EQ(error_of([&] {
              lmdb::decode_update_time(lmdb::encode_update_time(t).substr(0, 15), kStore);
            }).code(),
            ErrorCode::corrupt);
  std::string changed = lmdb::encode_update_time(t);
  changed[0] ^= 1;  // another time, which its checksum does not match
  EXPECT_THAT(error_of([&] { lmdb::decode_update_time(changed, kStore); }).what(),
              HasSubstr("update_time does not match its checksum"));
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

constexpr OpenOptions kRead{.mode = OpenMode::read};

// What changes when a file is written: its bytes and its modification time.
struct FileLook {
  std::string bytes;
  timespec modified{};
  bool operator==(const FileLook& o) const {
    return bytes == o.bytes && modified.tv_sec == o.modified.tv_sec &&
           modified.tv_nsec == o.modified.tv_nsec;
  }
};

FileLook look_at(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {testing::read_bytes(path), st.st_mtim};
}

// The names of the files in `dir`, sorted.
std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A forked child process running `body`, and two pipes to take turns with
// it (no sleeping). The child's exit status is what `body` returns; an
// exception is 98. The child never runs GoogleTest assertions.
class Child {
 public:
  explicit Child(const std::function<int(Child&)>& body) {
    if (::pipe(to_child_) != 0 || ::pipe(to_parent_) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(to_child_[1]);
      ::close(to_parent_[0]);
      int code = 99;
      try {
        code = body(*this);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
        code = 98;
      }
      ::_exit(code);
    }
    ::close(to_child_[0]);
    ::close(to_parent_[1]);
    if (pid_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
  }
  ~Child() { wait(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // In the child.
  void tell_parent() {
    char c = 1;
    (void)!::write(to_parent_[1], &c, 1);
  }
  bool wait_for_parent() {
    char c;
    return ::read(to_child_[0], &c, 1) == 1;
  }

  // In the parent. False if the child exited without telling.
  bool wait_for_child() {
    char c;
    return ::read(to_parent_[0], &c, 1) == 1;
  }
  void tell_child() {
    char c = 1;
    (void)!::write(to_child_[1], &c, 1);
  }
  // Whether the child has exited; does not wait.
  bool exited() {
    if (!status_ && pid_ > 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
    }
    return status_.has_value() || pid_ <= 0;
  }
  // Waits for the child: its exit status (0..255), or -1 if a signal
  // killed it.
  int wait() {
    if (to_child_[1] >= 0) {
      ::close(to_child_[1]);  // a child still waiting for its turn gives up
      to_child_[1] = -1;
    }
    if (!status_ && pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = status;
    }
    if (to_parent_[0] >= 0) {
      ::close(to_parent_[0]);
      to_parent_[0] = -1;
    }
    if (!status_) return -1;
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
  }

 private:
  int to_child_[2] = {-1, -1}, to_parent_[2] = {-1, -1};
  pid_t pid_ = -1;
  std::optional<int> status_;
};

class LmdbStore : public ::testing::Test {
 protected:
  std::string uri(const std::string& options = "") const {
    return "lmdb:" + path_.string() + (options.empty() ? "" : "?" + options);
  }
  std::unique_ptr<Store> writer(const std::string& options = "") const {
    return Store::open(uri(options));
  }
  std::unique_ptr<Store> reader(const std::string& options = "") const {
    return Store::open(uri(options), kRead);
  }

  // Commits the states of `states` named in `upserted`, and removes the
  // names in `removed`.
  static void commit(Store& store, const StateMap& states, std::vector<std::string> upserted,
                     std::vector<std::string> removed = {},
                     Timestamp time = Timestamp::from_unix(1'700'000'000, 5)) {
    std::sort(upserted.begin(), upserted.end());
    std::sort(removed.begin(), removed.end());
    std::vector<EventLogState> changed;
    for (const auto& name : upserted) changed.push_back(states.at(name));
    store.commit(Changes{.update_time = time, .upserted = changed, .removed = removed});
  }

  static void commit_all(Store& store, const StateMap& states,
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

  // Opens the store at `path` in `mode` and loads it: the Error, or nullopt
  // if it loaded.
  static std::optional<Error> open_and_load(const fs::path& path, OpenMode mode,
                                            PersistedState* loaded = nullptr) {
    try {
      auto store = Store::open("lmdb:" + path.string(), {.mode = mode});
      PersistedState got = store->load();
      if (loaded) *loaded = std::move(got);
      return std::nullopt;
    } catch (const Error& e) {
      return e;
    }
  }

  // Opening and loading the store at `path` fails with `code`, naming the
  // file (and `what`, if given), for a reader and for a writer, neither of
  // which changes the file.
  static void expect_load_fails(const fs::path& path, ErrorCode code,
                                const std::string& what = "") {
    for (OpenMode mode : {OpenMode::read, OpenMode::write}) {
      SCOPED_TRACE(mode == OpenMode::read ? "reader" : "writer");
      const std::string before = testing::read_bytes(path);
      auto e = open_and_load(path, mode);
      if (!e) {
        ADD_FAILURE() << "loaded without an error";
        continue;
      }
      EXPECT_EQ(e->code(), code) << e->what();
      EXPECT_THAT(e->what(), HasSubstr(path.string()));
      if (!what.empty()) {
        EXPECT_THAT(e->what(), HasSubstr(what));
      }
      EXPECT_TRUE(testing::read_bytes(path) == before) << "the file was changed";
    }
  }

  testing::TempDir dir_{"checkpoint-lmdb"};
  fs::path path_ = dir_ / "state.lmdb";
};

TEST_F(LmdbStore, OptionsAreChecked) {
  for (const char* bad : {"map_size=abc", "map_size=0", "map_size=1KiB", "map_size=65535",
                          "map_size=17TiB", "map_size=-1", "sync=maybe", "sync=", "color=red"}) {
    SCOPED_TRACE(bad);
    for (OpenMode mode : {OpenMode::write, OpenMode::read}) {
      Error e = error_of([&] { Store::open(uri(bad), {.mode = mode}); });
      EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
    }
  }
  EXPECT_TRUE(fs::is_empty(dir_.path())) << "a refused config string created nothing";
  EXPECT_EQ(error_of([] { Store::open("lmdb:"); }).code(), ErrorCode::invalid_config);
  for (const char* good : {"map_size=64KiB", "map_size=4GiB", "map_size=1048576", "sync=off",
                           "sync=on&map_size=256MiB"}) {
    SCOPED_TRACE(good);
    EXPECT_NO_THROW(writer(good)->load());
    EXPECT_NO_THROW(reader(good)->load());
  }
}

TEST_F(LmdbStore, ExtensionsPickTheBackend) {
  EXPECT_EQ(parse_store_uri((dir_ / "a.lmdb").string()).scheme, "lmdb");
  EXPECT_EQ(parse_store_uri((dir_ / "a.mdb").string()).scheme, "lmdb");
  auto store = Store::open((dir_ / "plain.mdb").string());
  StateMap states = {{"a", state("a")}};
  commit_all(*store, states);
  EXPECT_EQ(as_map(store->load()), states);
}

TEST_F(LmdbStore, CreatesOneFileAndItsLocksWithPrivateModes) {
  path_ = dir_ / "new" / "dir" / "state.lmdb";
  mode_t old_umask = ::umask(0);  // the modes must not depend on the umask
  auto store = writer();
  ::umask(old_umask);
  store->load();
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // LMDB's lock file, for its readers, and the store's writer lock.
  for (const char* lock : {"-lock", ".lock"}) {
    SCOPED_TRACE(lock);
    ASSERT_EQ(::stat((path_.string() + lock).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
  }
  ASSERT_EQ(::stat((dir_ / "new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_THAT(files_in(path_.parent_path()),
              ::testing::ElementsAre("state.lmdb", "state.lmdb-lock", "state.lmdb.lock"))
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
    auto store = writer("map_size=64KiB");
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
  EXPECT_EQ(as_map(reader("map_size=64KiB")->load()), states);
  auto store = writer("map_size=64KiB");
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
  auto store = writer();
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
  EXPECT_EQ(as_map(reader()->load()), states);
  store = writer();
  EXPECT_EQ(as_map(store->load()), states);
}

TEST_F(LmdbStore, HashedNamesAreFoundUnderAnyProbe) {
  // A name whose hash collided with another's sits under a later probe
  // number; commits must find it there rather than add a second entry.
  const std::string name(600, 'p');
  { writer()->load(); }  // creates the store
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "states", lmdb::hashed_key(name, 3), encoded(state(name, 7), true));
  });
  auto store = writer();
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
  { writer()->load(); }
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "states", lmdb::hashed_key(name, 0), encoded(state(name, 1), true));
    raw_put(txn, "states", lmdb::hashed_key(name, 1), encoded(state(name, 2), true));
  });
  expect_load_fails(path_, ErrorCode::corrupt, "stored twice");
}

TEST_F(LmdbStore, UndecodableValueIsCorruptNamingTheKey) {
  { writer()->load(); }
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "states", "good", encoded(state("good"), false));
    raw_put(txn, "states", "Application", "\x01\x05short");
  });
  expect_load_fails(path_, ErrorCode::corrupt, "key \"Application\"");
}

TEST_F(LmdbStore, UpdateTimeOfTheWrongLengthIsCorrupt) {
  { writer()->load(); }
  raw_write(path_, [&](MDB_txn* txn) { raw_put(txn, "meta", "update_time", "short"); });
  expect_load_fails(path_, ErrorCode::corrupt, "update_time");
}

TEST_F(LmdbStore, FormatVersionIsChecked) {
  { writer()->load(); }
  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "meta", "format_version", lmdb::encode_format_version(3));
  });
  expect_load_fails(path_, ErrorCode::unsupported);

  raw_write(path_, [&](MDB_txn* txn) {
    raw_put(txn, "meta", "format_version", lmdb::encode_format_version(0));
  });
  expect_load_fails(path_, ErrorCode::corrupt);

  raw_write(path_, [&](MDB_txn* txn) { raw_put(txn, "meta", "format_version", "1"); });
  expect_load_fails(path_, ErrorCode::corrupt);

  raw_write(path_, [&](MDB_txn* txn) {
    MDB_val k{14, const_cast<char*>("format_version")};
    EXPECT_EQ(mdb_del(txn, dbi(txn, "meta"), &k, nullptr), 0);
  });
  expect_load_fails(path_, ErrorCode::corrupt);
}

TEST_F(LmdbStore, AnotherApplicationsLmdbFileIsCorrupt) {
  raw_write(path_, [&](MDB_txn* txn) {
    MDB_dbi main;
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &main), 0);
    MDB_val k{3, const_cast<char*>("key")}, v{5, const_cast<char*>("value")};
    EXPECT_EQ(mdb_put(txn, main, &k, &v, 0), 0);
  });
  expect_load_fails(path_, ErrorCode::corrupt, "not a checkpoint store");
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
    testing::write_bytes(path, contents);
    expect_load_fails(path, ErrorCode::corrupt);
  }
}

TEST_F(LmdbStore, ADirectoryIsNotAStore) {
  fs::create_directory(path_);
  for (OpenMode mode : {OpenMode::write, OpenMode::read}) {
    auto e = open_and_load(path_, mode);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::invalid_config) << e->what();
  }
  EXPECT_TRUE(fs::is_empty(path_));
}

TEST_F(LmdbStore, DamagedHeaderIsCorruptOrUnsupported) {
  { writer()->load(); }
  const std::string good = testing::read_bytes(path_);
  std::string bad_magic = good;
  bad_magic[16] ^= 1;
  testing::write_bytes(dir_ / "magic.lmdb", bad_magic);
  expect_load_fails(dir_ / "magic.lmdb", ErrorCode::corrupt);

  std::string other_version = good;
  other_version[20] = 2;  // LMDB's data format version in meta page 0
  testing::write_bytes(dir_ / "version.lmdb", other_version);
  expect_load_fails(dir_ / "version.lmdb", ErrorCode::unsupported);

  std::string bad_page_size = good;
  bad_page_size[16 + 24] = 3;  // page size no longer a power of two
  testing::write_bytes(dir_ / "pagesize.lmdb", bad_page_size);
  expect_load_fails(dir_ / "pagesize.lmdb", ErrorCode::corrupt);
}

TEST_F(LmdbStore, GarbageLockFileIsRebuilt) {
  StateMap states = {{"a", state("a", 5)}};
  commit_all(*writer(), states);
  const std::string garbage(100, '\x55');
  testing::write_bytes(path_.string() + "-lock", garbage);
  // A reader with no writer running does not use LMDB's lock file at all.
  EXPECT_EQ(as_map(reader()->load()), states);
  EXPECT_EQ(testing::read_bytes(path_.string() + "-lock"), garbage);
  // A writer rebuilds it.
  EXPECT_EQ(as_map(writer()->load()), states);
}

TEST_F(LmdbStore, EmptyNameIsRefusedAndChangesNothing) {
  auto store = writer();
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
  commit_all(*writer("sync=off"), states);
  EXPECT_EQ(as_map(writer()->load()), states);
}

// ---------------------------------------------------------------------------
// Readers

TEST_F(LmdbStore, MissingStoreIsNotFoundAndNothingIsCreated) {
  for (fs::path path : {dir_ / "state.lmdb", dir_ / "sub" / "dir" / "state.lmdb"}) {
    SCOPED_TRACE(path);
    path_ = path;
    for (OpenOptions options : {kRead, OpenOptions{.create_if_missing = false}}) {
      SCOPED_TRACE(options.mode == OpenMode::read ? "reader" : "writer");
      Error e = error_of([&] { Store::open(uri(), options)->load(); });
      EXPECT_EQ(e.code(), ErrorCode::not_found) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(path_.string()));
      EXPECT_TRUE(fs::is_empty(dir_.path())) << "no file, lock file or directory made";
    }
  }
}

// With no writer running, a reader needs no lock: it creates neither LMDB's
// lock file (PATH-lock) nor the writer lock (PATH.lock), and changes no file.
TEST_F(LmdbStore, ReadingWithNoWriterTouchesNothing) {
  StateMap states = {{"a", state("a", 1)}, {"b", state("b", 2, Timestamp(), "<bm/>")}};
  const std::string long_name(600, 'l');
  states.emplace(long_name, state(long_name, 3));
  { commit_all(*writer(), states, Timestamp::from_unix(100)); }
  // Neither lock file is needed while no process uses the store.
  fs::remove(path_.string() + "-lock");
  fs::remove(path_.string() + ".lock");
  ASSERT_EQ(files_in(dir_.path()), std::vector<std::string>{"state.lmdb"});
  const FileLook before = look_at(path_);
  {
    auto store = reader();
    PersistedState loaded = store->load();
    EXPECT_EQ(as_map(loaded), states);
    EXPECT_EQ(loaded.update_time, Timestamp::from_unix(100));
    EXPECT_EQ(as_map(store->load()), states) << "a second load";
    CheckReport report = store->check();
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_EQ(report.states, states.size());
    Salvage salvaged = store->salvage();
    EXPECT_TRUE(salvaged.damage.empty());
    EXPECT_EQ(as_map(salvaged.readable), states);
    EXPECT_EQ(files_in(dir_.path()), std::vector<std::string>{"state.lmdb"})
        << "while the reader is open";
    EXPECT_TRUE(look_at(path_) == before) << "while the reader is open";
    Error e = error_of([&] { commit_all(*store, states); });
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
  }
  EXPECT_EQ(files_in(dir_.path()), std::vector<std::string>{"state.lmdb"});
  EXPECT_TRUE(look_at(path_) == before);
}

TEST_F(LmdbStore, ReaderSeesCommitsWhileWriterIsOpen) {
  auto writer_store = writer();
  StateMap states = {{"a", state("a", 1)}};
  commit_all(*writer_store, states, Timestamp::from_unix(100));
  // A second writer is refused when it opens.
  EXPECT_EQ(error_of([&] { writer(); }).code(), ErrorCode::locked);
  // A reader on the same file in this process shares the writer's LMDB
  // environment (LMDB allows only one per process).
  auto reader_store = reader();
  EXPECT_EQ(as_map(reader_store->load()), states);
  states["a"].record_number = 2;
  states.emplace("b", state("b", 3));
  commit(*writer_store, states, {"a", "b"}, {}, Timestamp::from_unix(200));
  PersistedState loaded = reader_store->load();
  EXPECT_EQ(as_map(loaded), states);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(200));
  EXPECT_EQ(error_of([&] { commit_all(*reader_store, states); }).code(),
            ErrorCode::invalid_argument);
  // The writer closing does not disturb the reader, and vice versa.
  writer_store.reset();
  EXPECT_EQ(as_map(reader_store->load()), states);
  writer_store = writer();
  reader_store.reset();
  EXPECT_EQ(as_map(writer_store->load()), states);
}

// A reader that first read with no writer about, and whose process then
// sees a writer (here: one that merely holds the writer lock), reads as a
// registered LMDB reader through a read-only environment. A writer opened
// in this process afterwards makes that environment writable: it commits,
// and the reader keeps reading.
TEST_F(LmdbStore, WriterOpenedAfterAReaderCommitsAndTheReaderStillReads) {
  StateMap states = {{"a", state("a", 1)}};
  { commit_all(*writer(), states, Timestamp::from_unix(100)); }
  auto reader_store = reader();
  EXPECT_EQ(as_map(reader_store->load()), states);  // unlocked: no writer
  {
    WriterLock elsewhere = WriterLock::acquire(path_, "lmdb store (a writer elsewhere)");
    EXPECT_EQ(as_map(reader_store->load()), states);  // as a registered reader
  }
  auto writer_store = writer();
  states["a"].record_number = 2;
  states.emplace("b", state("b", 2));
  commit(*writer_store, states, {"a", "b"}, {}, Timestamp::from_unix(200));
  EXPECT_EQ(as_map(writer_store->load()), states);
  PersistedState loaded = reader_store->load();
  EXPECT_EQ(as_map(loaded), states);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(200));
  EXPECT_EQ(error_of([&] { commit_all(*reader_store, states); }).code(),
            ErrorCode::invalid_argument)
      << "the reader stays a reader";
  states.erase("a");
  commit(*writer_store, states, {}, {"a"}, Timestamp::from_unix(300));
  EXPECT_EQ(as_map(reader_store->load()), states);
  writer_store.reset();
  EXPECT_EQ(as_map(reader_store->load()), states);
  reader_store.reset();
  EXPECT_EQ(as_map(reader()->load()), states);
  EXPECT_EQ(as_map(writer()->load()), states);
}

TEST_F(LmdbStore, ReadersInOtherThreadsSeeWholeCommitsWhileTheMapGrows) {
  // Both objects start with a 64 KiB map, which the writer's commits
  // outgrow several times while the reader loads.
  auto writer_store = writer("map_size=64KiB");
  auto reader_store = reader("map_size=64KiB");
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
      commit_all(*writer_store, states, Timestamp::from_unix(round));
    }
    done = true;
  });
  int loads = 0, torn = 0;
  std::int64_t last_round = 0;
  while (!done || last_round < kRounds) {
    PersistedState loaded = reader_store->load();
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

TEST_F(LmdbStore, OtherProcessReadsWhileWriterHoldsTheStore) {
  auto writer_store = writer();
  StateMap states = {{"a", state("a", 1)}, {"b", state("b", 2, Timestamp(), "<bm/>")}};
  commit_all(*writer_store, states);
  // A child process reads what the parent committed, but may not open the
  // store for writing while the parent holds it.
  Child reading([&](Child&) {
    auto store = Store::open(uri(), kRead);
    if (as_map(store->load()) != states) return 1;
    try {
      commit(*store, states, {"a"});
      return 4;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::invalid_argument) return 5;
    }
    try {
      Store::open(uri());
      return 2;
    } catch (const Error& e) {
      return e.code() == ErrorCode::locked ? 0 : 3;
    }
  });
  EXPECT_EQ(reading.wait(), 0)
      << "1: wrong states, 2: a second writer opened, 3: wrong error, 4: a reader committed, "
         "5: wrong error";

  // Once the parent's writer is closed, the child may write.
  writer_store.reset();
  Child writing([&](Child&) {
    auto store = Store::open(uri());
    StateMap more = states;
    more.emplace("c", state("c", 3));
    commit(*store, more, {"c"});
    return as_map(store->load()) == more ? 0 : 1;
  });
  EXPECT_EQ(writing.wait(), 0);
  EXPECT_EQ(reader()->load().states.size(), 3u);
}

// A reader in one process, a writer in another whose commits outgrow the
// map: every load is one whole commit, and loads never go back in time.
TEST_F(LmdbStore, ReaderInAnotherProcessSeesWholeCommits) {
  constexpr int kRounds = 30, kPerRound = 40;
  { writer("map_size=64KiB")->load(); }  // creates the store
  auto reader_store = reader("map_size=64KiB");
  Child writing([&](Child&) {
    auto store = Store::open(uri("map_size=64KiB"));
    StateMap states;
    for (int round = 1; round <= kRounds; ++round) {
      for (int i = 0; i < round * kPerRound; ++i) {
        std::string name = "stream-" + std::to_string(i);
        states.insert_or_assign(name, state(name, static_cast<std::uint64_t>(round), Timestamp(),
                                            std::string(500, 'b')));
      }
      commit_all(*store, states, Timestamp::from_unix(round));
    }
    return 0;
  });
  int loads = 0, torn = 0;
  std::int64_t last_round = 0;
  for (;;) {
    // Whether the child had exited before this load: then it sees the last commit.
    const bool exited = writing.exited();
    PersistedState loaded;
    try {
      loaded = reader_store->load();
    } catch (const Error& e) {
      ADD_FAILURE() << "load " << loads << ": " << e.what();
      break;
    }
    ++loads;
    std::int64_t round = loaded.update_time.is_zero() ? 0 : loaded.update_time.unix_seconds();
    bool whole = loaded.states.size() == static_cast<std::size_t>(round * kPerRound);
    for (const auto& s : loaded.states)
      whole = whole && s.record_number == static_cast<std::uint64_t>(round);
    if (!whole) ++torn;
    EXPECT_GE(round, last_round) << "a later load saw an older commit";
    last_round = round;
    if (exited) break;
  }
  EXPECT_EQ(writing.wait(), 0);
  EXPECT_EQ(torn, 0) << "of " << loads << " loads";
  EXPECT_EQ(last_round, kRounds);
}

// A reader of this process that reads beside a writer of another keeps its
// environment mapped; when the writer grows the map, the reader follows.
// A writer opened here afterwards makes that environment writable.
TEST_F(LmdbStore, MapGrownByAnotherProcessIsFollowed) {
  StateMap states;
  for (int i = 0; i < 2000; ++i) {
    std::string name = "stream-" + std::to_string(i);
    states.emplace(name, state(name, 1, Timestamp(), std::string(1000, 'b')));
  }
  Child writing([&](Child& child) {
    auto store = Store::open(uri("map_size=64KiB"));  // creates the store, 64 KiB
    child.tell_parent();
    if (!child.wait_for_parent()) return 1;
    commit_all(*store, states);  // outgrows the map the parent has mapped
    return 0;
  });
  ASSERT_TRUE(writing.wait_for_child()) << "the child failed to open the store";
  auto reader_store = reader("map_size=64KiB");
  EXPECT_TRUE(reader_store->load().states.empty());
  writing.tell_child();
  ASSERT_EQ(writing.wait(), 0);
  EXPECT_GT(fs::file_size(path_), 1u << 20);
  EXPECT_EQ(as_map(reader_store->load()), states);

  auto writer_store = writer("map_size=64KiB");
  states["stream-1"].record_number = 2;
  commit(*writer_store, states, {"stream-1"});
  EXPECT_EQ(as_map(writer_store->load()), states);
  EXPECT_EQ(as_map(reader_store->load()), states);
}

// Values are read through LMDB's map of the file; those that would lie past
// the file's end (a file cut short while mapped) are refused before they
// are read, which only works if the map is where the check looks for it.
TEST_F(LmdbStore, ValuesAreCheckedAgainstTheFileBehindTheMap) {
  commit_all(*writer(), {{"a", state("a")}});
  auto env = lmdb::Environment::open(path_, 1 << 20, lmdb::Access::read, false);
  lmdb::Transaction txn(*env, false);
  MDB_val key{lmdb::kFormatVersionKey.size(), const_cast<char*>(lmdb::kFormatVersionKey.data())};
  MDB_val value;
  ASSERT_EQ(mdb_get(txn.get(), env->meta_db(), &key, &value), 0);
  const auto bounds = env->file_bounds();
  const auto at = reinterpret_cast<std::uintptr_t>(value.mv_data);
  ASSERT_GE(at, bounds.map);
  EXPECT_LT(at - bounds.map, fs::file_size(path_));
  EXPECT_EQ(bounds.file_size, fs::file_size(path_));
  EXPECT_TRUE(bounds.readable(value.mv_data, value.mv_size));
  EXPECT_FALSE(bounds.readable(value.mv_data, bounds.file_size)) << "reaches past the file's end";
  const int outside = 0;
  EXPECT_TRUE(bounds.readable(&outside, sizeof outside)) << "memory outside the map";
}

// The pages of the file a load has read are not kept mapped: a million
// states would otherwise hold the whole file in the resident set besides
// the states made of it.
TEST_F(LmdbStore, ALoadLeavesLittleOfTheFileResident) {
  StateMap states;
  for (int i = 0; i < 100'000; ++i) {
    std::string name = "/var/log/containers/app-" + std::to_string(i) + ".log";
    states.emplace(name,
                   state(name, static_cast<std::uint64_t>(i), Timestamp(), std::string(100, 'b')));
  }
  auto store = writer();
  commit_all(*store, states);
  ASSERT_EQ(as_map(store->load()), states);
  // The resident part of this process's mappings of the file, from smaps.
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool ours = false;
  std::uint64_t resident_kib = 0, mappings = 0;
  while (std::getline(smaps, line)) {
    unsigned long start, end, offset, inode;
    unsigned major, minor;
    if (std::sscanf(line.c_str(), "%lx-%lx %*s %lx %x:%x %lu", &start, &end, &offset, &major,
                    &minor, &inode) == 6) {
      ours = inode == st.st_ino;
      mappings += ours;
    } else if (ours && line.starts_with("Rss:")) {
      resident_kib += std::stoull(line.substr(4));
    }
  }
  ASSERT_EQ(mappings, 1u);
  EXPECT_LT(resident_kib * 1024, fs::file_size(path_) / 4)
      << "of a file of " << fs::file_size(path_) << " bytes";
}

// ---------------------------------------------------------------------------
// Check and salvage

class LmdbDamagedValue : public LmdbStore {
 protected:
  void SetUp() override {
    { commit_all(*writer(), states_, kTime); }
    // b's value with one bit of its checksum changed, as damage would.
    std::string value = encoded(states_.at("b"), false);
    value.back() = static_cast<char>(value.back() ^ 1);
    raw_write(path_, [&](MDB_txn* txn) { raw_put(txn, "states", "b", value); });
  }

  const Timestamp kTime = Timestamp::from_unix(1'700'000'123, 4);
  const StateMap states_ = {
      {"a", state("a", 1)}, {"b", state("b", 2, Timestamp(), "<bm/>")}, {"c", state("c", 3)}};
};

TEST_F(LmdbDamagedValue, LoadIsCorruptNamingTheKey) {
  expect_load_fails(path_, ErrorCode::corrupt, "key \"b\"");
}

TEST_F(LmdbDamagedValue, CheckReportsTheKeyWithoutThrowing) {
  for (OpenMode mode : {OpenMode::read, OpenMode::write}) {
    SCOPED_TRACE(mode == OpenMode::read ? "reader" : "writer");
    auto store = Store::open(uri(), {.mode = mode});
    CheckReport report;
    ASSERT_NO_THROW(report = store->check());
    EXPECT_FALSE(report.ok());
    ASSERT_EQ(report.problems.size(), 1u) << ::testing::PrintToString(report.problems);
    EXPECT_THAT(report.problems[0], HasSubstr(path_.string()));
    EXPECT_THAT(report.problems[0], HasSubstr("key \"b\""));
    // The other states read back exactly, and so does the update time.
    EXPECT_EQ(report.states, 2u);
    EXPECT_EQ(report.update_time, kTime);
  }
}

TEST_F(LmdbDamagedValue, SalvageReadsTheOtherStatesAndNamesTheDamagedOne) {
  for (OpenMode mode : {OpenMode::read, OpenMode::write}) {
    SCOPED_TRACE(mode == OpenMode::read ? "reader" : "writer");
    auto store = Store::open(uri(), {.mode = mode});
    Salvage salvaged;
    ASSERT_NO_THROW(salvaged = store->salvage());
    StateMap intact = states_;
    intact.erase("b");
    EXPECT_EQ(as_map(salvaged.readable), intact);
    EXPECT_EQ(salvaged.readable.update_time, kTime);
    ASSERT_EQ(salvaged.damage.size(), 1u);
    EXPECT_EQ(salvaged.damage[0].name, "b");
    EXPECT_THAT(salvaged.damage[0].where + ": " + salvaged.damage[0].what, HasSubstr("\"b\""));
  }
}

}  // namespace
}  // namespace checkpoint
