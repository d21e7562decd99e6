// No surprises from the file system, for every file backend: a symlink
// planted at a name the store creates (its temporary files, its lock file)
// is never followed, and a stale temporary left by a crash is cleaned up.
// (File modes under any umask are in the conformance suite; the durable
// write itself in durable_file_test.cpp.) SQLite's and LMDB's own files
// (-wal, -shm, -lock) are opened by those libraries and not covered here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"

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

  // Opens the store in `sub` and commits one state; returns the error, if any.
  std::optional<Error> open_and_commit(const fs::path& sub) {
    try {
      auto store = open_store(GetParam().name + ":" + (sub / GetParam().file).string());
      const StateMap states = {{"a", EventLogState{"a", 1, Timestamp::from_unix(1), ""}}};
      const std::vector<std::string> upserted = {"a"}, none;
      store->commit(Commit{Timestamp::from_unix(2), states, upserted, none});
      if (store->load().states.size() != 1) ADD_FAILURE() << "the commit did not load";
    } catch (const Error& e) {
      return e;
    }
    return std::nullopt;
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
      // Error{io} naming it; it never writes through it.
      if (auto error = open_and_commit(sub)) {
        EXPECT_EQ(error->code(), ErrorCode::io) << error->what();
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
