// Options::on_corrupt, for every built-in backend that keeps files, with
// stores damaged as damaged_store_test.cpp damages them: fail (the default)
// throws Error{corrupt} and touches nothing; salvage and reset move every
// file of the store aside as FILE.corrupt-<UTC time> (byte for byte, the
// lock file left in place), and start from exactly what the backend's
// salvage() reads (salvage) or from nothing (reset), reporting what was
// lost through on_error and stats().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/writer_lock.hpp"
#include "tests/damaged_stores.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
using namespace damaged;
using ::testing::HasSubstr;
using testing::read_bytes;
using testing::write_bytes;

struct Backend {
  std::string scheme, extension;
};
void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.scheme; }

// Collects what on_error is told.
struct Reported {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Error> errors;
  std::function<void(const Error&)> callback() {
    return [this](const Error& e) {
      std::lock_guard lock(mutex);
      errors.push_back(e);
      changed.notify_all();
    };
  }
  // The first report, once it came (the worker makes it as it starts).
  std::optional<Error> first() {
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, std::chrono::seconds(30), [&] { return !errors.empty(); })) {
      return std::nullopt;
    }
    return errors.front();
  }
};

// The files beside `path` named PATH...corrupt-...: what was moved aside.
std::vector<fs::path> moved_aside(const fs::path& path) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(path.parent_path())) {
    if (entry.path().filename().string().find(".corrupt-") != std::string::npos) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

StateMap map_of(const std::vector<EventLogState>& states) {
  StateMap out;
  for (const auto& s : states) out.emplace(s.name, s);
  return out;
}

class OnCorrupt : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    path_ = temp_.path() / ("state" + GetParam().extension);
    damaged_ = make_damaged();
    // What the damage leaves: a load refuses it, salvage() reads part.
    try {
      Store::open(uri(), {.mode = OpenMode::read})->load();
      FAIL() << "the damaged store loads";
    } catch (const Error& e) {
      ASSERT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    }
    expected_ = Store::open(uri(), {.mode = OpenMode::read})->salvage();
    ASSERT_FALSE(expected_.readable.states.empty()) << "nothing to salvage";
    ASSERT_FALSE(expected_.damage.empty()) << "nothing lost";
    ASSERT_EQ(read_bytes(path_), damaged_) << "reading changed the damaged file";
  }

  std::string uri() const { return GetParam().scheme + ":" + path_.string(); }

  // A store holding states, damaged where that loses some of them; its
  // data file's bytes.
  std::string make_damaged() {
    const bool database = GetParam().scheme == "sqlite" || GetParam().scheme == "lmdb";
    if (!database) {
      Store::open(uri())->commit(Changes{kUpdateTime, kStates, {}});
      // NULs over one state's record number: the document's checksum fails,
      // and that state cannot be read.
      std::string bytes = read_bytes(path_);
      const auto at = bytes.find("250502");
      EXPECT_NE(at, std::string::npos);
      bytes.replace(at, 6, 6, '\0');
      write_bytes(path_, bytes);
      return bytes;
    }
    const Snapshot snapshot = many_states();
    {
      std::vector<EventLogState> states;
      for (const auto& [name, s] : snapshot.states) states.push_back(s);
      Store::open(uri())->commit(Changes{snapshot.update_time, states, {}});
    }
    // One state's bookmark changed in place: the checksum stored with it no
    // longer matches, so the store refuses to load and salvage() loses
    // that state alone.
    std::string bytes = read_bytes(path_);
    const auto at = bytes.find("RecordId='1000'");
    EXPECT_NE(at, std::string::npos);
    bytes[at + 13] = '7';
    write_bytes(path_, bytes);
    return bytes;
  }

  Options options(CorruptPolicy policy) {
    Options o;
    o.on_corrupt = policy;
    o.on_error = reported_.callback();
    o.flush_interval = std::chrono::hours(24);
    return o;
  }

  // The data file moved aside, byte for byte, under FILE.corrupt-<UTC time>;
  // the lock file in place.
  void expect_moved_aside(std::size_t times = 1) {
    const auto moved = moved_aside(path_);
    ASSERT_GE(moved.size(), times);
    const std::regex name(
        std::regex_replace(path_.filename().string(), std::regex(R"(\.)"), R"(\.)") +
        R"(\.corrupt-\d{8}T\d{6}Z(-\d+)?)");
    std::size_t data_files = 0;
    for (const auto& file : moved) {
      if (std::regex_match(file.filename().string(), name)) {
        ++data_files;
        EXPECT_EQ(read_bytes(file), damaged_) << file << " is not the damaged file";
      }
    }
    EXPECT_EQ(data_files, times) << "data files moved aside";
    EXPECT_TRUE(fs::exists(WriterLock::lock_file(path_))) << "the lock file was moved";
  }

  checkpoint::testing::TempDir temp_{"on_corrupt_test"};
  fs::path path_;
  std::string damaged_;
  Salvage expected_;
  Reported reported_;
};

TEST_P(OnCorrupt, FailThrowsCorruptAndTouchesNothing) {
  try {
    Checkpoint cp(uri(), options(CorruptPolicy::fail));
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(path_.string()));
  }
  EXPECT_EQ(read_bytes(path_), damaged_);
  EXPECT_TRUE(moved_aside(path_).empty());
  EXPECT_EQ(Options{}.on_corrupt, CorruptPolicy::fail) << "the default";
}

TEST_P(OnCorrupt, SalvageStartsFromExactlyWhatSalvageReadAndReportsTheLoss) {
  {
    Checkpoint cp(uri(), options(CorruptPolicy::salvage));
    EXPECT_EQ(cp.states(), map_of(expected_.readable.states));
    const Stats stats = cp.stats();
    EXPECT_EQ(stats.corrupt_salvaged, expected_.readable.states.size());
    EXPECT_EQ(stats.corrupt_lost, expected_.damage.size());
    EXPECT_THAT(stats.corrupt_recovery, HasSubstr("on_corrupt=salvage moved its files aside as " +
                                                  path_.string() + ".corrupt-"));
    auto report = reported_.first();
    ASSERT_TRUE(report) << "on_error was not told";
    EXPECT_EQ(report->code(), ErrorCode::corrupt);
    EXPECT_EQ(std::string(report->what()), stats.corrupt_recovery);
    EXPECT_THAT(report->what(),
                HasSubstr("started from the " + std::to_string(expected_.readable.states.size()) +
                          " states that read back exactly; lost " +
                          std::to_string(expected_.damage.size())));
    // The Checkpoint holds the new store, and goes on as any other.
    EXPECT_THROW(Store::open(uri()), Error);
    cp.persist("after", 1, Timestamp::from_unix(1));
    cp.flush();
  }
  expect_moved_aside();
  PersistedState now = Store::open(uri(), {.mode = OpenMode::read})->load();
  StateMap want = map_of(expected_.readable.states);
  const StateMap got = map_of(now.states);
  ASSERT_TRUE(got.contains("after"));
  // The new state carries its commit's update time; the salvaged ones keep theirs.
  EXPECT_FALSE(got.at("after").update_time.is_zero());
  want.emplace("after",
               EventLogState{"after", 1, Timestamp::from_unix(1), "", got.at("after").update_time});
  EXPECT_EQ(got, want);
  // Opened again, it is an ordinary store: nothing more is moved.
  Checkpoint again(uri(), options(CorruptPolicy::salvage));
  EXPECT_EQ(again.stats().corrupt_recovery, "");
  EXPECT_EQ(again.states(), want);
}

TEST_P(OnCorrupt, ResetStartsEmptyAndKeepsTheDamagedFiles) {
  {
    Checkpoint cp(uri(), options(CorruptPolicy::reset));
    EXPECT_TRUE(cp.states().empty());
    const Stats stats = cp.stats();
    EXPECT_EQ(stats.corrupt_salvaged, 0u);
    EXPECT_EQ(stats.corrupt_lost, 1u);
    EXPECT_THAT(stats.corrupt_recovery, HasSubstr("started empty"));
    auto report = reported_.first();
    ASSERT_TRUE(report);
    EXPECT_THAT(report->what(), HasSubstr("on_corrupt=reset"));
  }
  expect_moved_aside();
  EXPECT_TRUE(Store::open(uri(), {.mode = OpenMode::read})->load().states.empty());

  // Damaged again within the same second: a second name, the first kept.
  write_bytes(path_, damaged_);
  for (const auto& suffix : {"-wal", "-shm", "-journal", "-lock"}) {
    fs::remove(path_.string() + suffix);
  }
  Checkpoint cp(uri(), options(CorruptPolicy::reset));
  expect_moved_aside(2);
}

INSTANTIATE_TEST_SUITE_P(FileBackends, OnCorrupt,
                         ::testing::Values(Backend{"yaml", ".yml"}, Backend{"json", ".json"},
                                           Backend{"sqlite", ".db"}, Backend{"lmdb", ".lmdb"}),
                         [](const auto& info) { return info.param.scheme; });

// A backend that lists no files (as postgresql and memory): nothing can be
// moved aside, so the Error{corrupt} stands, saying why.
TEST(OnCorruptWithoutFiles, TheErrorStandsAndSaysWhy) {
  class Damaged final : public Store {
   public:
    Timestamp scan(const StateSink&) override {
      throw Error(ErrorCode::corrupt, "nofiles store x: row 3 is garbage");
    }
    void commit(const Changes&) override {}
  };
  register_backend({"nofiles", "test backend without files", {}, {}},
                   [](const StoreUri&, const OpenOptions&) { return std::make_unique<Damaged>(); });
  for (auto policy : {CorruptPolicy::salvage, CorruptPolicy::reset}) {
    try {
      Options options;
      options.on_corrupt = policy;
      Checkpoint cp("nofiles:x", options);
      ADD_FAILURE() << "opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt);
      EXPECT_THAT(e.what(), HasSubstr("nofiles store x: row 3 is garbage (on_corrupt cannot move "
                                      "it aside: the nofiles backend lists no files"));
    }
  }
}

}  // namespace
}  // namespace checkpoint
