// No surprises from the file system, for every file backend: a symlink
// planted at a name the store creates (its temporary files, its lock file)
// is never followed, a stale temporary left by a crash is cleaned up, and a
// store opened for reading creates, changes and locks nothing.
// (File modes under any umask are in the conformance suite; the durable
// write itself in durable_file_test.cpp.) SQLite's and LMDB's own files
// (-wal, -shm, -lock) are opened by those libraries and not covered here.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/writer_lock.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;

struct Backend {
  std::string name, file;
  // Names beside FILE that the store creates itself: "FILE" + suffix.
  std::vector<std::string> created;
  // Of which, the temporaries a crash can leave behind.
  std::vector<std::string> temporaries;
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class FileSystem : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "file_system_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // "{pid}" in a suffix is this process's id (LMDB's temporary names).
  std::string expand(std::string suffix) const {
    auto at = suffix.find("{pid}");
    if (at != std::string::npos) suffix.replace(at, 5, std::to_string(::getpid()));
    return GetParam().file + suffix;
  }

  std::string uri(const fs::path& sub) const {
    return GetParam().name + ":" + (sub / GetParam().file).string();
  }

  // Opens the store in `sub` for writing and commits one state; returns the
  // error, if any.
  std::optional<Error> open_and_commit(const fs::path& sub) {
    try {
      auto store = Store::open(uri(sub));
      store->load();
      const std::vector<EventLogState> upserted = {
          EventLogState{"a", 1, Timestamp::from_unix(1), ""}};
      store->commit(Changes{Timestamp::from_unix(2), upserted, {}});
      auto reader = Store::open(uri(sub), {.mode = OpenMode::read});
      if (reader->load().states.size() != 1) ADD_FAILURE() << "the commit did not load";
    } catch (const Error& e) {
      return e;
    }
    return std::nullopt;
  }

  // Opening `sub`'s store for reading must fail with Error{not_found}
  // naming the store.
  void expect_not_found(const fs::path& sub) {
    try {
      auto reader = Store::open(uri(sub), {.mode = OpenMode::read});
      reader->load();
      ADD_FAILURE() << "opened a store that does not exist for reading";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::not_found) << e.what();
      EXPECT_NE(std::string(e.what()).find(GetParam().name + " store " +
                                           (sub / GetParam().file).string()),
                std::string::npos)
          << e.what();
    }
  }

  fs::path dir_;
};

TEST_P(FileSystem, PlantedSymlinksAreNotFollowed) {
  std::ofstream(dir_ / "victim") << "precious";
  int planted = 0;
  for (const std::string& suffix : GetParam().created) {
    for (bool dangling : {false, true}) {
      const fs::path sub = dir_ / ("planted-" + std::to_string(planted++));
      fs::create_directory(sub);
      const fs::path target =
          dangling ? dir_ / ("nowhere-" + std::to_string(planted)) : dir_ / "victim";
      fs::create_symlink(target, sub / expand(suffix));
      SCOPED_TRACE("a symlink at " + expand(suffix) + (dangling ? " (dangling)" : ""));

      // The store removes the symlink and goes on, or refuses with
      // Error{io} naming it (Error{invalid_config} for a lock file that is
      // not ours: trying again cannot help); it never writes through it.
      if (auto error = open_and_commit(sub)) {
        EXPECT_EQ(error->code(), suffix == ".lock" ? ErrorCode::invalid_config : ErrorCode::io)
            << error->what();
        EXPECT_NE(std::string(error->what()).find(expand(suffix)), std::string::npos)
            << error->what();
      }
      EXPECT_EQ(slurp(dir_ / "victim"), "precious");
      EXPECT_FALSE(fs::exists(dir_ / ("nowhere-" + std::to_string(planted))))
          << "created the symlink's target";
    }
  }
}

TEST_P(FileSystem, StaleTemporariesAreCleanedUp) {
  if (GetParam().temporaries.empty()) GTEST_SKIP() << "no temporary files of its own";
  for (const std::string& suffix : GetParam().temporaries) {
    std::ofstream(dir_ / expand(suffix)) << "half-written by a process that crashed";
  }
  EXPECT_FALSE(open_and_commit(dir_).has_value());
  for (const std::string& suffix : GetParam().temporaries) {
    EXPECT_FALSE(fs::exists(dir_ / expand(suffix))) << expand(suffix) << " is still there";
  }
}

// Each entry under `dir`, recursively, with its type, size and modification
// time: what a reader must leave as it was.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::lstat(entry.path().c_str(), &st);
    out[fs::relative(entry.path(), dir).string()] =
        std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " bytes, mtime " +
        std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  return out;
}

TEST_P(FileSystem, ReadingAStoreInAMissingDirectoryCreatesNothing) {
  expect_not_found(dir_ / "absent" / "deeper");
  EXPECT_FALSE(fs::exists(dir_ / "absent")) << "a reader created the store's directory";
  EXPECT_TRUE(fs::is_empty(dir_)) << "a reader created something";
}

TEST_P(FileSystem, ReadingAMissingStoreCreatesNothing) {
  expect_not_found(dir_);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ / expand(".lock"))))
      << "a reader made a lock file";
  EXPECT_TRUE(fs::is_empty(dir_)) << "a reader created something";
}

TEST_P(FileSystem, ReadingAStoreChangesNothingAndTakesNoLock) {
  ASSERT_FALSE(open_and_commit(dir_).has_value());
  const auto before = snapshot(dir_);
  auto reader = Store::open(uri(dir_), {.mode = OpenMode::read});
  EXPECT_EQ(reader->load().states.size(), 1u);
  EXPECT_FALSE(WriterLock::is_held(dir_ / GetParam().file)) << "a reader holds the lock";
  EXPECT_EQ(snapshot(dir_), before);
  // A writer opens while the reader is open: the reader held no lock.
  auto writer = Store::open(uri(dir_));
  EXPECT_EQ(writer->load().states.size(), 1u);
}

// A symlink at the store's own path is followed: the file it leads to is
// the store, read, locked and written there (yaml and json replace that
// file at each commit), and the link stays. A link whose target does not
// exist yet makes the store there. (Two writers through a link and the
// file's own name: writer_lock_test.cpp.)
TEST_P(FileSystem, ASymlinkAtTheStorePathIsFollowed) {
  fs::create_directory(dir_ / "data");
  fs::create_directory(dir_ / "links");
  const fs::path target = dir_ / "data" / GetParam().file;
  const fs::path link = dir_ / "links" / GetParam().file;
  fs::create_symlink(fs::path("..") / "data" / GetParam().file, link);  // dangling: no store yet
  const std::string via_link = GetParam().name + ":" + link.string();
  for (std::uint64_t record : {1, 2, 3}) {
    SCOPED_TRACE("commit " + std::to_string(record));
    auto store = Store::open(via_link);
    store->load();
    const std::vector<EventLogState> upserted = {
        EventLogState{"a", record, Timestamp::from_unix(1), ""}};
    store->commit(Changes{Timestamp::from_unix(2), upserted, {}});
    EXPECT_TRUE(fs::is_symlink(link)) << "the link was replaced";
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(target))) << "the target is not the store";
    auto reader = Store::open(GetParam().name + ":" + target.string(), {.mode = OpenMode::read});
    auto loaded = reader->load();
    ASSERT_EQ(loaded.states.size(), 1u);
    EXPECT_EQ(loaded.states[0].record_number, record) << "the target holds another commit";
  }
  EXPECT_TRUE(fs::equivalent(WriterLock::lock_file(link), target.string() + ".lock"))
      << WriterLock::lock_file(link);
  // Nothing of the store's beside the link: its files are beside the target.
  std::vector<std::string> beside_link;
  for (const auto& entry : fs::directory_iterator(dir_ / "links")) {
    beside_link.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(beside_link, std::vector<std::string>{GetParam().file});
  EXPECT_TRUE(fs::exists(target.string() + ".lock"));

  // A reader through the link reads the target, and a link to no file is
  // a store that does not exist.
  EXPECT_EQ(Store::open(via_link, {.mode = OpenMode::read})->load().states.size(), 1u);
  fs::create_symlink(
      "nowhere" + fs::path(GetParam().file).extension().string(),
      dir_ / "links" / ("dangling" + fs::path(GetParam().file).extension().string()));
  try {
    Store::open(GetParam().name + ":" + (dir_ / "links" / "dangling").string() +
                    fs::path(GetParam().file).extension().string(),
                {.mode = OpenMode::read})
        ->load();
    ADD_FAILURE() << "a reader opened a dangling link";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found) << e.what();
  }
}

TEST_P(FileSystem, ALoopOfSymlinksIsRefused) {
  fs::create_symlink(fs::path("b") += fs::path(GetParam().file).extension(),
                     dir_ / (fs::path("a") += fs::path(GetParam().file).extension()));
  fs::create_symlink(fs::path("a") += fs::path(GetParam().file).extension(),
                     dir_ / (fs::path("b") += fs::path(GetParam().file).extension()));
  const std::string uri =
      GetParam().name + ":" +
      (dir_ / (fs::path("a") += fs::path(GetParam().file).extension())).string();
  for (OpenMode mode : {OpenMode::write, OpenMode::read}) {
    try {
      Store::open(uri, {.mode = mode})->load();
      ADD_FAILURE() << "opened a loop of links";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::invalid_config || e.code() == ErrorCode::io) << e.what();
      EXPECT_NE(std::string(e.what()).find(GetParam().name + " store "), std::string::npos)
          << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    FileBackends, FileSystem,
    ::testing::Values(Backend{"yaml", "state.yml", {".new", ".lock"}, {".new"}},
                      Backend{"json", "state.json", {".new", ".lock"}, {".new"}},
                      Backend{"sqlite", "state.db", {".lock"}, {}},
                      Backend{"lmdb",
                              "state.lmdb",
                              {".lock", ".new-{pid}", ".new-{pid}-lock"},
                              {".new-{pid}", ".new-{pid}-lock"}}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace checkpoint
