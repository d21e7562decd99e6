// WriterLock on its own, and one writer per store across processes: a child
// process holds a store through a Checkpoint while this process is refused
// as a writer when it opens the store and still loads as a reader
// (OpenMode::read). WriterLock::is_held() tells, without taking the lock,
// whether a writer here or elsewhere holds it. (Within one process, every
// backend proves the one-writer rule in the conformance suite.)
#include "checkpoint/writer_lock.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::string_view kStore = "test store";

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

// The Error{locked} that `attempt` must throw.
template <typename Attempt>
Error locked_error(Attempt attempt) {
  try {
    attempt();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::locked) << e.what();
    return e;
  }
  ADD_FAILURE() << "not refused";
  return Error(ErrorCode::io, "");
}

class TempDir : public ::testing::Test {
 protected:
  checkpoint::testing::TempDir temp_{"writer_lock_test"};
  fs::path dir_ = temp_.path();
};

using WriterLockTest = TempDir;

TEST_F(WriterLockTest, SecondLockInTheSameProcessIsRefusedNamingStoreFileAndPid) {
  const fs::path path = dir_ / "state.yml";
  WriterLock first = WriterLock::acquire(path, kStore);
  EXPECT_TRUE(first.held());
  EXPECT_EQ(WriterLock::lock_file(path), dir_ / "state.yml.lock");
  EXPECT_EQ(slurp(dir_ / "state.yml.lock"), std::to_string(::getpid()) + "\n");

  Error e = locked_error([&] { WriterLock::acquire(path, kStore); });
  EXPECT_THAT(e.what(), HasSubstr(std::string(kStore) +
                                  ": locked by another store object in "
                                  "this process (pid " +
                                  std::to_string(::getpid()) + ")"));
  EXPECT_THAT(e.what(), HasSubstr((dir_ / "state.yml.lock").string()));

  first.release();
  EXPECT_FALSE(first.held());
  WriterLock again = WriterLock::acquire(path, kStore);
  EXPECT_TRUE(again.held());
}

// A store that renames a new data file over its own (compaction) moves
// the lock on the data file to the new one, keeping PATH.lock.
TEST_F(WriterLockTest, DataFileReplacedLocksTheNewFile) {
  const fs::path path = dir_ / "state.lmdb";
  checkpoint::testing::write_bytes(path, "old");
  WriterLock lock = WriterLock::acquire(path, kStore);
  checkpoint::testing::write_bytes(dir_ / "state.lmdb.compact", "new");
  fs::rename(dir_ / "state.lmdb.compact", path);
  EXPECT_FALSE(WriterLock::held_in_this_process(path)) << "the new file before the move";
  lock.data_file_replaced();
  EXPECT_TRUE(WriterLock::held_in_this_process(path));
  fs::create_hard_link(path, dir_ / "other.lmdb");
  Error e = locked_error([&] { WriterLock::acquire(dir_ / "other.lmdb", kStore); });
  EXPECT_THAT(e.what(), HasSubstr("through another name (a hard link)"));
  locked_error([&] { WriterLock::acquire(path, kStore); });
  lock.release();
  EXPECT_TRUE(WriterLock::acquire(dir_ / "other.lmdb", kStore).held());
}

TEST_F(WriterLockTest, MovedLockStaysHeldUntilItsLastOwnerGoes) {
  const fs::path path = dir_ / "state.json";
  WriterLock outer;
  EXPECT_FALSE(outer.held());
  {
    WriterLock inner = WriterLock::acquire(path, kStore);
    outer = std::move(inner);
  }
  EXPECT_TRUE(outer.held());
  locked_error([&] { WriterLock::acquire(path, kStore); });
  outer = WriterLock();  // assigning releases what was held
  EXPECT_TRUE(WriterLock::acquire(path, kStore).held());
}

TEST_F(WriterLockTest, IsHeldWhileALockIsHeldInThisProcess) {
  const fs::path path = dir_ / "state.yml";
  EXPECT_FALSE(WriterLock::is_held(path)) << "no lock file yet";
  EXPECT_FALSE(fs::exists(dir_ / "state.yml.lock")) << "is_held() made the lock file";
  EXPECT_FALSE(WriterLock::is_held(dir_ / "missing-dir" / "state.yml"));
  EXPECT_FALSE(fs::exists(dir_ / "missing-dir")) << "is_held() made the directory";

  WriterLock lock = WriterLock::acquire(path, kStore);
  EXPECT_TRUE(WriterLock::is_held(path));
  EXPECT_FALSE(WriterLock::is_held(dir_ / "other.yml")) << "another store's lock";
  // Asking does not take it: the holder keeps it, a second writer is refused.
  EXPECT_TRUE(lock.held());
  locked_error([&] { WriterLock::acquire(path, kStore); });

  WriterLock moved = std::move(lock);
  EXPECT_TRUE(WriterLock::is_held(path)) << "moved";
  moved.release();
  EXPECT_TRUE(fs::exists(dir_ / "state.yml.lock")) << "the lock file stays";
  EXPECT_FALSE(WriterLock::is_held(path)) << "released";

  {
    WriterLock again = WriterLock::acquire(path, kStore);
    EXPECT_TRUE(WriterLock::is_held(path)) << "taken again";
  }
  EXPECT_FALSE(WriterLock::is_held(path)) << "released by the destructor";
  // A lock file left by a dead writer (its pid in it) is not a held lock.
  std::ofstream(dir_ / "dead.yml.lock") << "999999999\n";
  EXPECT_FALSE(WriterLock::is_held(dir_ / "dead.yml"));
}

TEST_F(WriterLockTest, LockFileIs0600AndDirectories0750WhateverTheUmask) {
  for (mode_t mask : {mode_t{0}, mode_t{077}}) {
    ScopedUmask umask(mask);
    const fs::path top = dir_ / ("umask-" + std::to_string(mask));
    WriterLock lock = WriterLock::acquire(top / "sub" / "state.db", kStore);
    EXPECT_EQ(mode_of(top / "sub" / "state.db.lock"), 0600u) << "umask " << mask;
    EXPECT_EQ(mode_of(top / "sub"), 0750u) << "umask " << mask;
    EXPECT_EQ(mode_of(top), 0750u) << "umask " << mask;
  }
}

TEST_F(WriterLockTest, LockFileLeftByAnEarlierWriterIsReused) {
  const fs::path path = dir_ / "state.yml";
  // A dead writer's pid: the file outlives its holder, its lock does not.
  std::ofstream(dir_ / "state.yml.lock") << "999999999\n";
  WriterLock lock = WriterLock::acquire(path, kStore);
  EXPECT_EQ(slurp(dir_ / "state.yml.lock"), std::to_string(::getpid()) + "\n");
}

// A PATH.lock that is not a regular file of ours with one name is refused
// with Error{invalid_config} naming it (trying again cannot help), and is
// never opened for writing, truncated or written.
Error planted_error(const fs::path& path) {
  try {
    WriterLock::acquire(path, kStore);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(std::string(kStore) + ": "));
    EXPECT_THAT(e.what(), HasSubstr(path.string() + ".lock"));
    return e;
  }
  ADD_FAILURE() << "locked through " << path << ".lock";
  return Error(ErrorCode::io, "");
}

TEST_F(WriterLockTest, PlantedSymlinkIsNotFollowed) {
  std::ofstream(dir_ / "victim") << "precious";
  fs::create_symlink(dir_ / "victim", dir_ / "state.yml.lock");
  fs::create_symlink(dir_ / "nowhere", dir_ / "other.yml.lock");  // dangling
  for (const char* name : {"state.yml", "other.yml"}) {
    EXPECT_THAT(planted_error(dir_ / name).what(), HasSubstr("is a symbolic link"));
  }
  EXPECT_EQ(slurp(dir_ / "victim"), "precious");
  EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
}

TEST_F(WriterLockTest, PlantedHardLinkIsRefusedAndTheOtherFileKept) {
  std::ofstream(dir_ / "victim") << "precious";
  fs::create_hard_link(dir_ / "victim", dir_ / "state.yml.lock");
  EXPECT_THAT(planted_error(dir_ / "state.yml").what(), HasSubstr("has 2 names"));
  EXPECT_EQ(slurp(dir_ / "victim"), "precious");
  EXPECT_EQ(fs::hard_link_count(dir_ / "victim"), 2u) << "the planted file is left as it is";
}

TEST_F(WriterLockTest, PlantedFifoAndDirectoryAreRefused) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo.yml.lock").c_str(), 0600), 0) << std::strerror(errno);
  EXPECT_THAT(planted_error(dir_ / "fifo.yml").what(), HasSubstr("is a FIFO"));
  fs::create_directory(dir_ / "dir.yml.lock");
  EXPECT_THAT(planted_error(dir_ / "dir.yml").what(), HasSubstr("is a directory"));
  EXPECT_TRUE(fs::is_empty(dir_ / "dir.yml.lock"));
}

TEST_F(WriterLockTest, LockFileOfAnotherUserIsRefusedAndKept) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a file to another user";
  std::ofstream(dir_ / "state.yml.lock") << "4242\n";
  ASSERT_EQ(::chown((dir_ / "state.yml.lock").c_str(), 65534, 65534), 0) << std::strerror(errno);
  Error e = planted_error(dir_ / "state.yml");
  EXPECT_THAT(e.what(), HasSubstr("belongs to uid 65534"));
  EXPECT_THAT(e.what(), HasSubstr("run as the store's owner"));
  EXPECT_EQ(slurp(dir_ / "state.yml.lock"), "4242\n");
}

TEST_F(WriterLockTest, UnusableDirectoryIsAnIoError) {
  std::ofstream(dir_ / "plain") << "not a directory";
  try {
    WriterLock::acquire(dir_ / "plain" / "state.yml", kStore);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(std::string(kStore)));
  }
}

// --- across processes, through each file backend ------------------------------

// A child process that opens a Checkpoint on a store, persists one state,
// tells the parent, and holds the store until the parent closes the pipe.
class Holder {
 public:
  explicit Holder(const std::string& uri) {
    int ready[2], release[2];
    if (::pipe(ready) != 0 || ::pipe(release) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      char status = 'x';
      try {
        Options options;
        options.flush_interval = std::chrono::hours(24);
        Checkpoint checkpoint(uri, options);
        checkpoint.persist("Application", 42, Timestamp::from_unix(1'700'000'000));
        checkpoint.flush();
        status = 'y';
        if (::write(ready[1], &status, 1) != 1) ::_exit(3);
        char c;
        while (::read(release[0], &c, 1) > 0) {
        }
      } catch (...) {
        if (::write(ready[1], &status, 1) != 1) ::_exit(3);
        ::_exit(2);
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_ = release[1];
    char c = 0;
    ready_ = ::read(ready[0], &c, 1) == 1 && c == 'y';
    ::close(ready[0]);
  }
  ~Holder() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
    finish();
  }

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  // Lets the child end normally; returns its exit status.
  int finish() {
    if (release_ >= 0) ::close(release_);
    release_ = -1;
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, 0) == pid_) pid_ = -1;
    return status;
  }
  void kill() {
    ::kill(pid_, SIGKILL);
    finish();
  }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
  bool ready_ = false;
};

struct Backend {
  std::string name;
  std::string file;  // in the test's directory
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class AcrossProcesses : public ::testing::WithParamInterface<Backend>, public TempDir {
 protected:
  fs::path path() const { return dir_ / GetParam().file; }
  std::string uri() const { return GetParam().name + ":" + path().string(); }
};

TEST_P(AcrossProcesses, WriterInAnotherProcessIsNamedAndReadersStillLoad) {
  EXPECT_FALSE(WriterLock::is_held(path()));
  Holder holder(uri());
  ASSERT_TRUE(holder.ready()) << "the child could not open " << uri();
  EXPECT_TRUE(WriterLock::is_held(path())) << "held by process " << holder.pid();

  // Refused when the store is opened for writing, not at its first commit.
  Error e = locked_error([&] { Store::open(uri()); });
  EXPECT_THAT(e.what(), HasSubstr(GetParam().name + " store " + path().string()));
  EXPECT_THAT(e.what(), HasSubstr("(pid " + std::to_string(holder.pid()) + ")"));
  EXPECT_THAT(e.what(), HasSubstr(path().string() + ".lock"));
  Error through_front_end = locked_error([&] { Checkpoint second(uri()); });
  EXPECT_THAT(through_front_end.what(), HasSubstr("(pid " + std::to_string(holder.pid()) + ")"));

  // A reader, as checkpointctl dump and verify are, while the writer runs.
  PersistedState loaded = Store::open(uri(), {.mode = OpenMode::read})->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0].record_number, 42u);
  EXPECT_TRUE(WriterLock::is_held(path())) << "the reader took the lock away";

  EXPECT_EQ(holder.finish(), 0);
  EXPECT_FALSE(WriterLock::is_held(path())) << "the writer exited";
  Checkpoint after(uri());
  EXPECT_EQ(after.state("Application").value_or(EventLogState{}).record_number, 42u);
  EXPECT_TRUE(WriterLock::is_held(path())) << "a writer in this process";
}

TEST_P(AcrossProcesses, LockOfAKilledWriterIsReleased) {
  Holder holder(uri());
  ASSERT_TRUE(holder.ready());
  locked_error([&] { Store::open(uri()); });
  holder.kill();
  EXPECT_FALSE(WriterLock::is_held(path())) << "the writer was killed";
  Checkpoint after(uri());
  EXPECT_EQ(after.state("Application").value_or(EventLogState{}).record_number, 42u);
}

// A rolling update: the new writer starts while the old one, another
// process, is still closing.
TEST_P(AcrossProcesses, LockTimeoutWaitsForAWriterThatExits) {
  Holder holder(uri());
  ASSERT_TRUE(holder.ready());
  std::thread closing([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    holder.finish();
  });
  std::unique_ptr<Store> store;
  try {
    store = Store::open(uri() + "?lock_timeout_ms=60000");
  } catch (const Error& e) {
    ADD_FAILURE() << e.what();
  }
  closing.join();
  ASSERT_TRUE(store);
  PersistedState loaded = store->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0].record_number, 42u);
}

TEST_P(AcrossProcesses, LockTimeoutEndsInLockedNamingStoreHolderAndWait) {
  Holder holder(uri());
  ASSERT_TRUE(holder.ready());
  Error e = locked_error([&] { Store::open(uri() + "?lock_timeout_ms=50"); });
  EXPECT_THAT(e.what(), HasSubstr(GetParam().name + " store " + path().string()));
  EXPECT_THAT(e.what(), HasSubstr("(pid " + std::to_string(holder.pid()) + ")"));
  EXPECT_THAT(e.what(), HasSubstr("still after 50 ms of waiting (lock_timeout_ms)"));
  try {
    Store::open(uri() + "?lock_timeout_ms=soon");
    ADD_FAILURE() << "lock_timeout_ms=soon accepted";
  } catch (const Error& bad) {
    EXPECT_EQ(bad.code(), ErrorCode::invalid_config) << bad.what();
    EXPECT_THAT(bad.what(), HasSubstr("option lock_timeout_ms=\"soon\" is invalid"));
  }
  EXPECT_EQ(holder.finish(), 0);
}

TEST_P(AcrossProcesses, SecondWriterInThisProcessIsRefusedAtOpenAndIsHeldTells) {
  {
    auto first = Store::open(uri());
    EXPECT_TRUE(WriterLock::is_held(path()));
    first->load();
    const std::vector<EventLogState> upserted = {
        EventLogState{"Application", 7, Timestamp::from_unix(1), ""}};
    first->commit(Changes{Timestamp::from_unix(2), upserted, {}});
    Error e = locked_error([&] { Store::open(uri()); });
    EXPECT_THAT(e.what(), HasSubstr(GetParam().name + " store " + path().string()));
    EXPECT_THAT(e.what(), HasSubstr("another store object in this process"));
    // Readers neither take the lock nor are refused.
    auto reader = Store::open(uri(), {.mode = OpenMode::read});
    EXPECT_EQ(reader->load().states.size(), 1u);
    EXPECT_TRUE(WriterLock::is_held(path()));
  }
  EXPECT_FALSE(WriterLock::is_held(path())) << "the writer was destroyed";
  auto reader = Store::open(uri(), {.mode = OpenMode::read});
  EXPECT_EQ(reader->load().states.size(), 1u);
  EXPECT_FALSE(WriterLock::is_held(path())) << "a reader alone";
  EXPECT_TRUE(Store::open(uri()) != nullptr);
}

// ---- one store file, one writer, whatever name reaches it -------------------

// A store at `uri` holding Application = 42, closed again.
void make_store(const std::string& uri) {
  auto store = Store::open(uri);
  store->load();
  const std::vector<EventLogState> upserted = {
      EventLogState{"Application", 42, Timestamp::from_unix(1'700'000'000), ""}};
  store->commit(Changes{Timestamp::from_unix(1'700'000'001), upserted, {}});
}

class Aliases : public AcrossProcesses {
 protected:
  std::string uri_of(const fs::path& path) const { return GetParam().name + ":" + path.string(); }
  // Another name in the test's directory, with the store's extension.
  fs::path other(const std::string& stem) const {
    return dir_ / (stem + fs::path(GetParam().file).extension().string());
  }
};

TEST_P(Aliases, ASymlinkToTheStoreFileIsTheSameStore) {
  make_store(uri());
  const fs::path link = other("link");
  fs::create_symlink(GetParam().file, link);  // relative, as people make them
  {
    Holder holder(uri_of(link));
    ASSERT_TRUE(holder.ready()) << "a writer through the link";
    Error e = locked_error([&] { Store::open(uri()); });
    EXPECT_THAT(e.what(), HasSubstr("(pid " + std::to_string(holder.pid()) + ")"));
    EXPECT_THAT(e.what(), HasSubstr(path().string() + ".lock"));
    EXPECT_TRUE(WriterLock::is_held(path()));
    EXPECT_TRUE(WriterLock::is_held(link));
    EXPECT_EQ(WriterLock::lock_file(link), WriterLock::lock_file(path()));
    // Readers load it by either name.
    EXPECT_EQ(Store::open(uri_of(link), {.mode = OpenMode::read})->load().states.size(), 1u);
    EXPECT_EQ(Store::open(uri(), {.mode = OpenMode::read})->load().states.size(), 1u);
    EXPECT_EQ(holder.finish(), 0);
  }
  {
    Holder holder(uri());
    ASSERT_TRUE(holder.ready()) << "a writer through the file's own name";
    locked_error([&] { Store::open(uri_of(link)); });
    EXPECT_EQ(holder.finish(), 0);
  }
  EXPECT_TRUE(fs::is_symlink(link)) << "the link was replaced";
  EXPECT_FALSE(fs::exists(fs::symlink_status(link.string() + ".lock")))
      << "the link has a lock file of its own";
}

TEST_P(Aliases, ADirectoryReachedThroughASymlinkIsTheSameStore) {
  fs::create_directory(dir_ / "real");
  fs::create_directory_symlink("real", dir_ / "alias");
  Holder holder(uri_of(dir_ / "alias" / GetParam().file));
  ASSERT_TRUE(holder.ready());
  Error e = locked_error([&] { Store::open(uri_of(dir_ / "real" / GetParam().file)); });
  EXPECT_THAT(e.what(), HasSubstr("(pid " + std::to_string(holder.pid()) + ")"));
  EXPECT_EQ(holder.finish(), 0);
}

// A hard link has a lock file of its own; the data file's flock() is shared.
TEST_P(Aliases, AHardLinkToTheStoreFileGetsNoWriterOfItsOwn) {
  make_store(uri());
  const fs::path link = other("hard");
  // SQLite refuses a database with two names (below): its link is made
  // after the writer opened it. The others are linked before.
  const bool link_later = GetParam().name == "sqlite";
  if (!link_later) fs::create_hard_link(path(), link);
  {
    Holder holder(uri());
    ASSERT_TRUE(holder.ready());
    if (link_later) fs::create_hard_link(path(), link);
    Error e = locked_error([&] { Store::open(uri_of(link)); });
    EXPECT_THAT(e.what(), HasSubstr(GetParam().name + " store " + link.string() + ": "));
    EXPECT_THAT(e.what(), HasSubstr("(pid " + std::to_string(holder.pid()) + ")"));
    EXPECT_THAT(e.what(), HasSubstr("holds its data file " + link.string() +
                                    " through another name (a hard link)"));
    EXPECT_EQ(holder.finish(), 0);
  }
  // Two store objects of this process, one through each name.
  fs::remove(link);
  auto first = Store::open(uri());
  fs::create_hard_link(path(), link);
  Error e = locked_error([&] { Store::open(uri_of(link)); });
  EXPECT_THAT(e.what(), HasSubstr("another store object in this process"));
  EXPECT_THAT(e.what(), HasSubstr("through another name (a hard link)"));
  first.reset();
  fs::remove(link);
  EXPECT_TRUE(Store::open(uri()) != nullptr) << "released with the store";
}

// A mount namespace of its own (a child process) binds the directory
// elsewhere; the store there is the one this process holds.
TEST_P(Aliases, ADirectoryBindMountedElsewhereIsTheSameStore) {
  fs::create_directory(dir_ / "real");
  fs::create_directory(dir_ / "mounted");
  auto writer = Store::open(uri_of(dir_ / "real" / GetParam().file));
  int result[2];
  ASSERT_EQ(::pipe(result), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(result[0]);
    auto report = [&](char outcome, const std::string& text) {
      const std::string message = outcome + text;
      if (::write(result[1], message.data(), message.size()) < 0) ::_exit(3);
      ::_exit(0);
    };
    auto sys_error = [](const char* what) {
      return std::string(what) + ": " + std::strerror(errno);
    };
    if (::unshare(CLONE_NEWNS) != 0) report('s', sys_error("unshare(CLONE_NEWNS)"));
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      report('s', sys_error("mount --make-rprivate /"));
    }
    if (::mount((dir_ / "real").c_str(), (dir_ / "mounted").c_str(), nullptr, MS_BIND, nullptr) !=
        0) {
      report('s', sys_error("mount --bind"));
    }
    try {
      Store::open(uri_of(dir_ / "mounted" / GetParam().file));
      report('n', "a second writer through the bind mount was accepted");
    } catch (const Error& e) {
      report(e.code() == ErrorCode::locked ? 'y' : 'n', e.what());
    } catch (...) {
      report('n', "not a checkpoint::Error");
    }
  }
  ::close(result[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(result[0], buf, sizeof buf)) > 0;) message.append(buf, n);
  ::close(result[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_FALSE(message.empty()) << "the child said nothing (status " << status << ")";
  if (message[0] == 's') GTEST_SKIP() << "no bind mount here: " << message.substr(1);
  EXPECT_EQ(message[0], 'y') << message.substr(1);
  EXPECT_THAT(message, HasSubstr("locked by another writer"));
}

TEST_F(WriterLockTest, ASqliteWriterRefusesADatabaseWithTwoNames) {
  const std::string uri = "sqlite:" + (dir_ / "state.db").string();
  make_store(uri);
  fs::create_hard_link(dir_ / "state.db", dir_ / "other.db");
  for (const char* name : {"state.db", "other.db"}) {
    try {
      Store::open("sqlite:" + (dir_ / name).string());
      ADD_FAILURE() << "a writer opened a database with two names through " << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("sqlite store " + (dir_ / name).string() + ": "));
      EXPECT_THAT(e.what(), HasSubstr("has 2 names (hard links)"));
    }
  }
  EXPECT_EQ(Store::open(uri, {.mode = OpenMode::read})->load().states.size(), 1u);
  fs::remove(dir_ / "other.db");
  EXPECT_TRUE(Store::open(uri) != nullptr);
}

INSTANTIATE_TEST_SUITE_P(FileBackends, Aliases,
                         ::testing::Values(Backend{"yaml", "state.yml"},
                                           Backend{"json", "state.json"},
                                           Backend{"sqlite", "state.db"},
                                           Backend{"lmdb", "state.lmdb"}),
                         [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(FileBackends, AcrossProcesses,
                         ::testing::Values(Backend{"yaml", "state.yml"},
                                           Backend{"json", "state.json"},
                                           Backend{"sqlite", "state.db"},
                                           Backend{"lmdb", "state.lmdb"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace checkpoint
