#include "checkpoint/toolkit/durable_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "checkpoint/error.hpp"
#include "tests/test_files.hpp"

namespace checkpoint::toolkit {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::string_view kStore = "test store";

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void spit(const fs::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

ino_t inode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// Sets the umask for the scope of one test and restores it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

class DurableFile : public ::testing::Test {
 protected:
  checkpoint::testing::TempDir temp_{"durable_file_test"};

  // Runs a write expected to fail; returns the Error{io} message.
  std::string failed_write(const fs::path& path, const std::string& contents) {
    try {
      write_file_atomically(path, contents, true, kStore);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "writing " << path << " did not fail";
    return {};
  }

  fs::path dir_ = temp_.path();
};

TEST_F(DurableFile, WritesTheContents) {
  const std::string contents = std::string("update_time: x\n\0\xFF binary", 24);
  write_file_atomically(dir_ / "state.yml", contents, true, kStore);
  EXPECT_EQ(slurp(dir_ / "state.yml"), contents);
  EXPECT_EQ(read_file(dir_ / "state.yml", kStore), contents);
  EXPECT_FALSE(fs::exists(dir_ / "state.yml.new"));

  write_file_atomically(dir_ / "empty", "", true, kStore);
  EXPECT_EQ(read_file(dir_ / "empty", kStore), "");

  write_file_atomically(dir_ / "unsynced", "fast", false, kStore);  // sync=off still writes
  EXPECT_EQ(slurp(dir_ / "unsynced"), "fast");
}

TEST_F(DurableFile, ReadsLargeFilesWhole) {
  std::string big(300'000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  write_file_atomically(dir_ / "big", big, true, kStore);
  EXPECT_EQ(read_file(dir_ / "big", kStore), big);
}

TEST_F(DurableFile, FileModeIs0600WhateverTheUmask) {
  for (mode_t mask : {0000, 0077, 0022, 0777}) {
    ScopedUmask umask(mask);
    fs::path file = dir_ / ("state-" + std::to_string(mask));
    write_file_atomically(file, "x", true, kStore);
    EXPECT_EQ(mode_of(file), 0600u) << "umask " << std::oct << mask;
  }
  // Replacing a file with other permissions gives 0600 too.
  spit(dir_ / "loose", "old");
  fs::permissions(dir_ / "loose", fs::perms(0644));
  write_file_atomically(dir_ / "loose", "new", true, kStore);
  EXPECT_EQ(mode_of(dir_ / "loose"), 0600u);
}

TEST_F(DurableFile, CreatesMissingDirectoriesWith0750WhateverTheUmask) {
  for (mode_t mask : {0000, 0077}) {
    ScopedUmask umask(mask);
    fs::path top = dir_ / ("umask-" + std::to_string(mask));
    write_file_atomically(top / "a" / "b" / "state.yml", "x", true, kStore);
    EXPECT_EQ(slurp(top / "a" / "b" / "state.yml"), "x");
    for (const fs::path& made : {top, top / "a", top / "a" / "b"}) {
      EXPECT_EQ(mode_of(made), 0750u) << made << " umask " << std::oct << mask;
    }
  }
  // Directories that already exist keep their mode.
  fs::create_directory(dir_ / "mine");
  fs::permissions(dir_ / "mine", fs::perms(0755));
  write_file_atomically(dir_ / "mine" / "state.yml", "x", true, kStore);
  EXPECT_EQ(mode_of(dir_ / "mine"), 0755u);
}

TEST_F(DurableFile, CreateDirectoriesOnItsOwn) {
  ScopedUmask umask(0077);
  create_directories(dir_ / "x" / "y", kStore);
  EXPECT_EQ(mode_of(dir_ / "x"), 0750u);
  EXPECT_EQ(mode_of(dir_ / "x" / "y"), 0750u);
  create_directories(dir_ / "x" / "y", kStore);  // exists: nothing to do
  spit(dir_ / "file", "");
  try {
    create_directories(dir_ / "file" / "z", kStore);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_THAT(e.what(), HasSubstr(std::string(kStore)));
    EXPECT_THAT(e.what(), HasSubstr((dir_ / "file").string() + " is not a directory"));
  }
}

TEST_F(DurableFile, StaleNewFileIsReplaced) {
  spit(dir_ / "state.yml.new", "a stale, longer, half-written copy from a crash");
  write_file_atomically(dir_ / "state.yml", "fresh", true, kStore);
  EXPECT_EQ(slurp(dir_ / "state.yml"), "fresh");
  EXPECT_FALSE(fs::exists(dir_ / "state.yml.new"));
}

TEST_F(DurableFile, SymlinkAtNewFileIsNotFollowed) {
  spit(dir_ / "victim", "precious");
  fs::create_symlink(dir_ / "victim", dir_ / "state.yml.new");
  fs::create_symlink(dir_ / "nowhere", dir_ / "other.yml.new");  // dangling

  write_file_atomically(dir_ / "state.yml", "state", true, kStore);
  write_file_atomically(dir_ / "other.yml", "other", true, kStore);

  EXPECT_EQ(slurp(dir_ / "victim"), "precious");
  EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir_ / "state.yml")));
  EXPECT_EQ(slurp(dir_ / "state.yml"), "state");
  EXPECT_EQ(slurp(dir_ / "other.yml"), "other");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ / "state.yml.new")));
}

TEST_F(DurableFile, ExistingFileIsReplacedNotRewrittenInPlace) {
  spit(dir_ / "state.yml", "old contents");
  // A second name for the old file: rewriting in place would change it too.
  fs::create_hard_link(dir_ / "state.yml", dir_ / "old-link");
  ino_t before = inode_of(dir_ / "state.yml");

  write_file_atomically(dir_ / "state.yml", "new", true, kStore);

  EXPECT_EQ(slurp(dir_ / "state.yml"), "new");
  EXPECT_EQ(slurp(dir_ / "old-link"), "old contents");
  EXPECT_NE(inode_of(dir_ / "state.yml"), before);
}

TEST_F(DurableFile, ParentIsARegularFile) {
  spit(dir_ / "plain", "not a directory");
  for (const fs::path& path :
       {dir_ / "plain" / "state.yml", dir_ / "plain" / "sub" / "state.yml"}) {
    std::string message = failed_write(path, "x");
    EXPECT_THAT(message, HasSubstr(std::string(kStore)));
    EXPECT_THAT(message, HasSubstr(path.string()));
    EXPECT_THAT(message, HasSubstr("not a directory"));
  }
  EXPECT_EQ(slurp(dir_ / "plain"), "not a directory");
}

TEST_F(DurableFile, NewFileThatCannotBeRemovedLeavesFileAsItWas) {
  spit(dir_ / "state.yml", "old");
  fs::create_directories(dir_ / "state.yml.new" / "inside");
  std::string message = failed_write(dir_ / "state.yml", "new");
  EXPECT_THAT(message, HasSubstr(std::string(kStore)));
  EXPECT_THAT(message, HasSubstr((dir_ / "state.yml").string()));
  EXPECT_EQ(slurp(dir_ / "state.yml"), "old");
}

TEST_F(DurableFile, FailedRenameLeavesFileAsItWasAndCleansUp) {
  // FILE is a non-empty directory: rename() over it fails.
  fs::create_directories(dir_ / "state.yml" / "inside");
  std::string message = failed_write(dir_ / "state.yml", "new");
  EXPECT_THAT(message, HasSubstr("rename"));
  EXPECT_THAT(message, HasSubstr((dir_ / "state.yml").string()));
  EXPECT_TRUE(fs::is_directory(dir_ / "state.yml" / "inside"));
  EXPECT_FALSE(fs::exists(dir_ / "state.yml.new"));
}

// Writing fails half-way (the file size limit, which root cannot bypass).
TEST_F(DurableFile, FailedWriteLeavesFileAsItWasAndCleansUp) {
  spit(dir_ / "state.yml", "old");
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 16;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);

  std::string message = failed_write(dir_ / "state.yml", std::string(4096, 'n'));

  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_THAT(message, HasSubstr(std::string(kStore)));
  EXPECT_THAT(message, HasSubstr("cannot write " + (dir_ / "state.yml").string()));
  EXPECT_EQ(slurp(dir_ / "state.yml"), "old");
  EXPECT_FALSE(fs::exists(dir_ / "state.yml.new"));
}

TEST_F(DurableFile, RelativePathIsWrittenInTheWorkingDirectory) {
  struct ScopedCwd {
    fs::path old = fs::current_path();
    explicit ScopedCwd(const fs::path& dir) { fs::current_path(dir); }
    ~ScopedCwd() { fs::current_path(old); }
  };
  {
    ScopedCwd cwd(dir_);
    write_file_atomically("state.yml", "here", true, kStore);
    write_file_atomically("sub/state.yml", "below", true, kStore);
  }
  EXPECT_EQ(slurp(dir_ / "state.yml"), "here");
  EXPECT_EQ(slurp(dir_ / "sub" / "state.yml"), "below");
}

TEST_F(DurableFile, ReadMissingFileIsNullopt) {
  EXPECT_EQ(read_file(dir_ / "missing.yml", kStore), std::nullopt);
  EXPECT_EQ(read_file(dir_ / "no-dir" / "missing.yml", kStore), std::nullopt);
}

TEST_F(DurableFile, ReadErrorNamesTheStoreAndThePath) {
  fs::create_directory(dir_ / "a-directory");
  try {
    read_file(dir_ / "a-directory", kStore);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_THAT(e.what(), HasSubstr(std::string(kStore)));
    EXPECT_THAT(e.what(), HasSubstr((dir_ / "a-directory").string()));
  }
}

}  // namespace
}  // namespace checkpoint::toolkit
