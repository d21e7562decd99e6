#include "checkpoint/toolkit/durable_file.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <sstream>
#include <string>

#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/system_calls.hpp"
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

// --- reading, and the system call seam -----------------------------------------

// Replaces the toolkit's system calls for the scope of one test: every call
// of open, read, fstat and lstat is counted, the one named `failing` fails
// with `error`, and `on_read` runs before each read.
class ScopedSystemCalls {
 public:
  static inline std::map<std::string, int> counts;
  static inline std::string failing;
  static inline int error = EIO;
  static inline std::function<void(int fd, size_t n)> on_read;

  ScopedSystemCalls() {
    counts.clear();
    failing.clear();
    error = EIO;
    on_read = nullptr;
    SystemCalls calls = real_system_calls();
    calls.open = [](const char* path, int flags, mode_t mode) {
      if (int err = call("open")) return errno = err, -1;
      return real_system_calls().open(path, flags, mode);
    };
    calls.read = [](int fd, void* buf, size_t n) -> ssize_t {
      if (int err = call("read")) return errno = err, -1;
      if (on_read) on_read(fd, n);
      return real_system_calls().read(fd, buf, n);
    };
    calls.fstat = [](int fd, struct stat* st) {
      if (int err = call("fstat")) return errno = err, -1;
      return real_system_calls().fstat(fd, st);
    };
    calls.lstat = [](const char* path, struct stat* st) {
      if (int err = call("lstat")) return errno = err, -1;
      return real_system_calls().lstat(path, st);
    };
    set_system_calls(calls);
  }
  ~ScopedSystemCalls() {
    set_system_calls(saved_);
    on_read = nullptr;
  }
  ScopedSystemCalls(const ScopedSystemCalls&) = delete;
  ScopedSystemCalls& operator=(const ScopedSystemCalls&) = delete;

 private:
  static int call(const char* name) {
    ++counts[name];
    return failing == name ? error : 0;
  }

  SystemCalls saved_ = sys();
};

// The Error `attempt` throws, which must be of `code`.
template <typename Attempt>
Error error_of(ErrorCode code, Attempt attempt) {
  try {
    attempt();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorCode::closed, "");
}

TEST_F(DurableFile, ReadErrorNamesTheStoreAndThePath) {
  spit(dir_ / "state.yml", "contents");
  for (const char* call : {"open", "fstat", "read"}) {
    SCOPED_TRACE(std::string(call) + " fails");
    ScopedSystemCalls calls;
    ScopedSystemCalls::failing = call;
    Error e = error_of(ErrorCode::io, [&] { read_file(dir_ / "state.yml", kStore); });
    EXPECT_THAT(e.what(), HasSubstr(std::string(kStore) + ": "));
    EXPECT_THAT(e.what(), HasSubstr((dir_ / "state.yml").string()));
    EXPECT_THAT(e.what(), HasSubstr(std::strerror(EIO)));
    EXPECT_EQ(e.details().store, kStore);
    EXPECT_EQ(e.details().os_error, EIO);
    EXPECT_EQ(ScopedSystemCalls::counts[call], 1) << "not called through the seam";
  }
}

TEST_F(DurableFile, ReadUsesFstatOfTheOpenedFile) {
  spit(dir_ / "state.yml", "contents");
  ScopedSystemCalls calls;
  EXPECT_EQ(read_file(dir_ / "state.yml", kStore), "contents");
  EXPECT_EQ(ScopedSystemCalls::counts["open"], 1);
  EXPECT_EQ(ScopedSystemCalls::counts["fstat"], 1);
  EXPECT_GE(ScopedSystemCalls::counts["read"], 1);
}

TEST_F(DurableFile, ExistsUsesLstatAndReportsItsFailure) {
  spit(dir_ / "plain", "x");
  fs::create_symlink(dir_ / "nowhere", dir_ / "dangling");
  {
    ScopedSystemCalls calls;
    EXPECT_TRUE(exists(dir_ / "plain", kStore));
    EXPECT_TRUE(exists(dir_ / "dangling", kStore)) << "a dangling symlink exists";
    EXPECT_FALSE(exists(dir_ / "missing", kStore));
    EXPECT_FALSE(exists(dir_ / "no-dir" / "missing", kStore));
    EXPECT_FALSE(exists(dir_ / "plain" / "below-a-file", kStore));
    EXPECT_EQ(ScopedSystemCalls::counts["lstat"], 5) << "not called through the seam";
  }
  for (int err : {EIO, EACCES}) {
    ScopedSystemCalls calls;
    ScopedSystemCalls::failing = "lstat";
    ScopedSystemCalls::error = err;
    Error e = error_of(ErrorCode::io, [&] { exists(dir_ / "plain", kStore); });
    EXPECT_THAT(e.what(), HasSubstr(std::string(kStore) + ": "));
    EXPECT_THAT(e.what(), HasSubstr((dir_ / "plain").string()));
    EXPECT_EQ(e.details().os_error, err);
  }
}

// What is not a regular file cannot hold a store: Error{invalid_config}
// naming the store and the path, found without reading or blocking.
void expect_not_a_regular_file(const fs::path& path) {
  SCOPED_TRACE(path.string());
  Error e = error_of(ErrorCode::invalid_config, [&] { read_file(path, kStore); });
  EXPECT_THAT(e.what(), HasSubstr(std::string(kStore) + ": "));
  EXPECT_THAT(e.what(), HasSubstr(path.string()));
  EXPECT_THAT(e.what(), HasSubstr("not a regular file"));
  EXPECT_EQ(e.details().store, kStore);
}

TEST_F(DurableFile, ReadRefusesADirectory) {
  fs::create_directory(dir_ / "a-directory");
  expect_not_a_regular_file(dir_ / "a-directory");
}

TEST_F(DurableFile, ReadRefusesCharacterDevicesWithoutReadingThem) {
  int tried = 0;
  for (const char* device : {"/dev/zero", "/dev/null", "/dev/urandom"}) {
    struct stat st {};
    if (::stat(device, &st) != 0 || !S_ISCHR(st.st_mode)) continue;
    ++tried;
    ScopedSystemCalls calls;
    expect_not_a_regular_file(device);
    EXPECT_EQ(ScopedSystemCalls::counts["read"], 0) << device << " was read";
  }
  if (tried == 0) GTEST_SKIP() << "no character device here";
}

TEST_F(DurableFile, ReadRefusesAFifoWithoutBlocking) {
  const fs::path fifo = dir_ / "state.yml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);

  // No writer: opening it to read would wait for one, unless done without
  // blocking. The wait is bounded only so that a broken read_file() fails
  // the test instead of hanging it; a writer then releases it.
  auto reading = std::async(std::launch::async, [&] {
    ScopedSystemCalls calls;
    expect_not_a_regular_file(fifo);
    EXPECT_EQ(ScopedSystemCalls::counts["read"], 0) << "the FIFO was read";
  });
  if (reading.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "read_file() blocks on a FIFO without a writer";
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  reading.get();

  // A writer that keeps it open with data waiting: still refused, not read.
  int writer = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(writer, 0) << std::strerror(errno);
  ASSERT_EQ(::write(writer, "update_time: x\n", 15), 15);
  expect_not_a_regular_file(fifo);
  char left[32];
  EXPECT_EQ(::read(writer, left, sizeof left), 15) << "read_file() took data from the FIFO";
  ::close(writer);
}

TEST_F(DurableFile, ReadNeverReadsPastTheSizeTheFileHadWhenOpened) {
  const std::string contents(10'000, 'c');
  spit(dir_ / "state.yml", contents);
  ScopedSystemCalls calls;
  std::size_t largest_request = 0;
  bool grown = false;
  ScopedSystemCalls::on_read = [&](int, size_t n) {
    largest_request = std::max(largest_request, n);
    if (!grown) {  // another process appends while we read
      grown = true;
      std::ofstream(dir_ / "state.yml", std::ios::binary | std::ios::app)
          << std::string(1'000'000, 'g');
    }
  };
  EXPECT_EQ(read_file(dir_ / "state.yml", kStore), contents);
  EXPECT_TRUE(grown);
  EXPECT_LE(largest_request, contents.size());
  EXPECT_EQ(fs::file_size(dir_ / "state.yml"), contents.size() + 1'000'000);
}

TEST_F(DurableFile, ReadOfAFileThatShrinksGivesWhatWasThere) {
  spit(dir_ / "state.yml", std::string(10'000, 'c'));
  ScopedSystemCalls calls;
  bool shrunk = false;
  ScopedSystemCalls::on_read = [&](int, size_t) {
    if (!shrunk) {
      shrunk = true;
      fs::resize_file(dir_ / "state.yml", 100);
    }
  };
  EXPECT_EQ(read_file(dir_ / "state.yml", kStore), std::string(100, 'c'));
}

TEST_F(DurableFile, ReadOfAFileThatClaimsNoSizeReadsNothing) {
  // /proc files say they are empty, whatever they hold: a file is read up
  // to its size only, so such a file cannot make read_file() read forever.
  struct stat st {};
  if (::stat("/proc/self/status", &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 0) {
    GTEST_SKIP() << "no /proc/self/status of size 0 here";
  }
  EXPECT_EQ(read_file("/proc/self/status", kStore), "");
}

}  // namespace
}  // namespace checkpoint::toolkit
