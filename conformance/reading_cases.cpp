// Conformance cases: what opening a store for reading promises. Reading
// never creates, changes or locks anything; a store that does not exist is
// Error{not_found}; a read-only file system is no obstacle.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "checkpoint/conformance.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "conformance/child.hpp"
#include "conformance/values.hpp"

namespace checkpoint::conformance {

int link_reading_cases() { return 0; }

namespace {

// Everything under `top`, one line per entry: its path, kind, mode, size,
// modification time and a hash of its contents.
std::string snapshot(const std::filesystem::path& top) {
  std::ostringstream out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(top, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    out << std::filesystem::relative(it->path(), top).string() << " mode "
        << std::oct << (st.st_mode & 07777) << std::dec << " kind " << (st.st_mode & S_IFMT)
        << " size " << st.st_size << " mtime " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(it->path(), std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      out << " data " << std::hash<std::string>{}(bytes.str());
    }
    out << "\n";
  }
  return out.str();
}

// Runs `attempt`, which must throw Error{not_found} naming `target`.
template <typename Attempt>
::testing::AssertionResult not_found(const std::string& where, const std::string& target,
                                     Attempt attempt) {
  try {
    attempt();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) {
      return ::testing::AssertionFailure() << where << ": expected Error{not_found}, got Error{"
                                           << to_string(e.code()) << "}: " << e.what();
    }
    if (std::string(e.what()).find(target) == std::string::npos) {
      return ::testing::AssertionFailure() << where << ": the Error{not_found} message does not "
                                           << "name the store (" << target << "): " << e.what();
    }
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << where << ": a store that does not exist was read";
}

TEST_P(StoreConformance, ReadingAMissingStoreIsNotFoundAndCreatesNothing) {
  // In a directory that does not exist, and in one that does.
  for (const auto& uri : {GetParam().uri_for_dir(dir() / "missing"), this->uri()}) {
    SCOPED_TRACE("store " + uri);
    const std::string target = parse_store_uri(uri).target;
    const std::string before = snapshot(dir());
    EXPECT_TRUE(not_found(where(), target, [&] {
      Store::open(uri, {.mode = OpenMode::read})->load();
    })) << "(opened for reading)";
    EXPECT_TRUE(not_found(where(), target, [&] {
      Store::open(uri, {.mode = OpenMode::write, .create_if_missing = false})->load();
    })) << "(opened for writing without create_if_missing)";
    EXPECT_EQ(snapshot(dir()), before)
        << where() << ": opening a missing store without creating it changed the directory";
  }
}

TEST_P(StoreConformance, ReadingChangesNothing) {
  put(state("Application", 250'502));
  put(state("System", 7));
  commit();
  erase("System");
  put(state("Security", 9));
  commit();
  close();

  const std::string before = snapshot(dir());
  {
    auto store = reader();
    EXPECT_TRUE(same(store->load(), model(), update_time())) << "(read)";
    CheckReport report = store->check();
    EXPECT_TRUE(report.ok()) << where() << ": check() of an intact store: "
                             << (report.problems.empty() ? "" : report.problems.front());
    EXPECT_EQ(report.states, model().size()) << where() << ": check() counted";
    Salvage salvaged = store->salvage();
    EXPECT_TRUE(salvaged.damage.empty()) << where() << ": salvage() of an intact store: "
                                         << salvaged.damage.front().what;
    EXPECT_TRUE(same(salvaged.readable, model(), update_time())) << "(salvage() of it)";
    // A reader may not write.
    try {
      store->commit(Changes{Timestamp::from_unix(1, 1), {}, {}});
      ADD_FAILURE() << where() << ": a store opened for reading accepted a commit";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << where() << ": " << e.what();
    }
  }
  EXPECT_EQ(snapshot(dir()), before) << where() << ": reading the store changed its files";
  EXPECT_TRUE(stored());
}

TEST_P(StoreConformance, ReadingWorksOnAReadOnlyFileSystem) {
  put(state("Application", 250'502));
  commit();
  close();
  const std::string dir_text = dir().string();
  const std::string uri_text = uri();
  const StateMap expected = model();
  const Timestamp expected_time = update_time();
  ChildOutcome outcome = run_in_child([&]() -> std::string {
    // A mount namespace of this child's own, in which the directory is
    // bind-mounted read-only over itself.
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(dir_text.c_str(), dir_text.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nullptr, dir_text.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) !=
            0) {
      return std::string("skip: cannot mount read-only here (") + std::strerror(errno) + ")";
    }
    PersistedState loaded = Store::open(uri_text, {.mode = OpenMode::read})->load();
    auto result = same(loaded, expected, expected_time);
    return result ? std::string("ok") : std::string(result.message());
  });
  ASSERT_TRUE(outcome.finished) << where() << ": reading on a read-only file system "
                                << outcome.text;
  if (outcome.text.starts_with("skip: ")) GTEST_SKIP() << outcome.text.substr(6);
  EXPECT_EQ(outcome.text, "ok") << where() << ": reading on a read-only file system";
}

}  // namespace
}  // namespace checkpoint::conformance
