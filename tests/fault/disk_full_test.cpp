// A full disk, for every file backend, two ways:
//  - Tmpfs: the store lives on a small tmpfs (mounted in a mount namespace
//    of this process's own, so nothing shows outside it), filled up to the
//    last page by a ballast file; space frees when the ballast goes. Needs
//    the right to mount (root); skipped otherwise.
//  - FileSizeLimit: RLIMIT_FSIZE (with SIGXFSZ ignored) forbids any file to
//    grow; space frees when the limit is lifted. Works for any user.
// Either way: commit() and Checkpoint::flush() fail with Error{io} naming
// the store, a reader (OpenMode::read, while the writer holds the store)
// still loads the previous commit intact, the front end keeps its changes,
// and once space frees the next commit writes them. Opening for writing on
// a full disk (which takes the writer lock) loads or fails with Error{io}.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "tests/state_values.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;

enum class Way { tmpfs, file_size_limit };

struct Case {
  std::string scheme, file;
  Way way;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.scheme << (c.way == Way::tmpfs ? " on a full tmpfs" : " under RLIMIT_FSIZE");
}

// Round r: a few states, or (big) many with long bookmarks, more than any
// free space the full disk has left.
StateMap round_states(std::uint64_t r, bool big) {
  StateMap out;
  const int count = big ? 400 : 3;
  for (int i = 0; i < count; ++i) {
    std::string name = "stream-" + std::to_string(i);
    out.emplace(name, EventLogState{name, r * 1000 + static_cast<std::uint64_t>(i),
                                    Timestamp::from_unix(1'600'000'000 + static_cast<long>(r)),
                                    std::string(big ? 300 : 10, static_cast<char>('a' + r % 26))});
  }
  return out;
}

// Commits every state of `states`. Rounds hold the same names (the big one
// more), so the store then holds exactly `states`.
void commit_all(Store& store, const StateMap& states, Timestamp time) {
  std::vector<EventLogState> upserted;
  for (const auto& [name, state] : states) upserted.push_back(state);
  store.commit(Changes{time, upserted, {}});
}

StateMap as_map(const PersistedState& loaded) {
  StateMap out;
  for (const auto& state : loaded.states) out.emplace(state.name, state);
  return out;
}

class DiskFull : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "disk_full_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    if (GetParam().way == Way::tmpfs) {
      // A mount namespace of our own: the tmpfs is seen by this process
      // only and goes with it.
      if (::unshare(CLONE_NEWNS) != 0 ||
          ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=2m,mode=0700") != 0) {
        GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                     << "); the RLIMIT_FSIZE variant covers a full disk";
      }
      mounted_ = true;
    }
    uri_ = GetParam().scheme + ":" + (dir_ / "store" / GetParam().file).string();
  }

  // What a reader loads.
  PersistedState read() const { return Store::open(uri_, {.mode = OpenMode::read})->load(); }

  void TearDown() override {
    free_space();
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    fs::remove_all(dir_);
  }

  // Leaves no room for the store's files to grow.
  void fill_disk() {
    if (GetParam().way == Way::tmpfs) {
      std::ofstream ballast(dir_ / "ballast", std::ios::binary);
      const std::string page(4096, 'x');
      while (ballast.write(page.data(), page.size()) && ballast.flush()) {
      }
      return;
    }
    std::uintmax_t largest = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (entry.is_regular_file()) largest = std::max(largest, entry.file_size());
    }
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit_), 0);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = old_limit_;
    limit.rlim_cur = largest;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
    limited_ = true;
  }

  void free_space() {
    if (GetParam().way == Way::tmpfs) {
      fs::remove(dir_ / "ballast");
    } else if (limited_) {
      ::setrlimit(RLIMIT_FSIZE, &old_limit_);
      std::signal(SIGXFSZ, old_handler_);
      limited_ = false;
    }
  }

  // `says_why`: the message must say the disk is full (not asked of an
  // opening, where SQLite says only "disk I/O error").
  void expect_io_error(const Error& e, bool says_why = true) {
    EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
    EXPECT_NE(std::string(e.what()).find((dir_ / "store" / GetParam().file).string()),
              std::string::npos)
        << "the message does not name the store: " << e.what();
    // On a full file system the message says so, in whatever words the
    // library had for it (LMDB itself says only "Input/output error").
    if (GetParam().way == Way::tmpfs && says_why) {
      std::string text = e.what();
      for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_TRUE(text.find("no space left on device") != std::string::npos ||
                  text.find("disk is full") != std::string::npos)
          << "the message does not say the disk is full: " << e.what();
    }
  }

  fs::path dir_;
  std::string uri_;
  bool mounted_ = false, limited_ = false;
  struct rlimit old_limit_ {};
  void (*old_handler_)(int) = SIG_DFL;
};

TEST_P(DiskFull, CommitFailsPreviousLoadsNextCommitSucceedsOnceSpaceFrees) {
  auto writer = Store::open(uri_);
  EXPECT_TRUE(writer->load().states.empty());
  const StateMap small = round_states(1, false), big = round_states(2, true);
  commit_all(*writer, small, Timestamp::from_unix(1));
  ASSERT_EQ(as_map(read()), small);

  fill_disk();
  try {
    commit_all(*writer, big, Timestamp::from_unix(2));
    ADD_FAILURE() << "a commit of " << big.size() << " states succeeded on a full disk";
  } catch (const Error& e) {
    expect_io_error(e);
  }
  // A reader, while the disk is still full and the writer holds the store.
  PersistedState loaded = read();
  EXPECT_EQ(as_map(loaded), small);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(1));

  free_space();
  commit_all(*writer, big, Timestamp::from_unix(3));
  loaded = read();
  EXPECT_EQ(as_map(loaded), big);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(3));
}

// LMDB turns a write that a full file system cut short into EIO ("Input/
// output error"); the message must still say that the disk is full. A few
// pages left free make the commit's write come up short rather than fail
// outright (which LMDB reports as ENOSPC itself).
using LmdbDiskFull = DiskFull;

TEST_P(LmdbDiskFull, SaysTheDiskIsFullWhenItsWriteCameUpShort) {
  auto writer = Store::open(uri_);
  writer->load();
  commit_all(*writer, round_states(1, false), Timestamp::from_unix(1));
  fill_disk();
  fs::resize_file(dir_ / "ballast", fs::file_size(dir_ / "ballast") - 3 * 4096);
  try {
    commit_all(*writer, round_states(2, true), Timestamp::from_unix(2));
    ADD_FAILURE() << "a big commit succeeded with three pages free";
  } catch (const Error& e) {
    expect_io_error(e);
    EXPECT_EQ(std::string(e.what()).find("Input/output error"), std::string::npos) << e.what();
    EXPECT_EQ(e.details().os_error, ENOSPC) << e.what();
  }
  EXPECT_EQ(as_map(read()), round_states(1, false));
}

TEST_P(DiskFull, OpeningForWritingLoadsOrFailsWithIoError) {
  const StateMap small = round_states(1, false), big = round_states(2, true);
  {
    auto first = Store::open(uri_);
    first->load();
    commit_all(*first, small, Timestamp::from_unix(1));
  }

  fill_disk();
  std::unique_ptr<Store> writer;
  try {
    writer = Store::open(uri_);
    EXPECT_EQ(as_map(writer->load()), small);
  } catch (const Error& e) {
    expect_io_error(e, /*says_why=*/false);
    writer.reset();
  }
  if (writer) {
    try {
      commit_all(*writer, big, Timestamp::from_unix(2));
      ADD_FAILURE() << "a commit of " << big.size() << " states succeeded on a full disk";
    } catch (const Error& e) {
      expect_io_error(e);
    }
  }
  // A reader, while the disk is still full, whether or not a writer opened.
  try {
    PersistedState loaded = read();
    EXPECT_EQ(as_map(loaded), small);
    EXPECT_EQ(loaded.update_time, Timestamp::from_unix(1));
  } catch (const Error& e) {
    ADD_FAILURE() << "a reader cannot load on a full disk" << (writer ? "" : " after a failed open")
                  << ": " << e.what();
  }

  free_space();
  if (!writer) writer = Store::open(uri_);  // a failed open left no lock behind
  commit_all(*writer, big, Timestamp::from_unix(3));
  PersistedState loaded = read();
  EXPECT_EQ(as_map(loaded), big);
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(3));
}

TEST_P(DiskFull, FrontEndKeepsItsChangesUntilSpaceFrees) {
  Options options;
  options.max_updates = 1'000'000;
  options.flush_interval = std::chrono::hours(24);
  auto checkpoint = std::make_unique<Checkpoint>(uri_, options);
  const StateMap small = round_states(1, false), big = round_states(2, true);
  for (const auto& [name, state] : small) checkpoint->persist_state(state);
  checkpoint->flush();

  fill_disk();
  for (const auto& [name, state] : big) checkpoint->persist_state(state);
  for (int attempt = 0; attempt < 2; ++attempt) {  // and it keeps failing, nothing dropped
    try {
      checkpoint->flush();
      ADD_FAILURE() << "flush() succeeded on a full disk";
    } catch (const Error& e) {
      expect_io_error(e);
    }
    EXPECT_EQ(testing::values(checkpoint->states()), big);
    EXPECT_EQ(checkpoint->stats().pending, big.size());
    EXPECT_EQ(testing::values(as_map(read())), small);
  }

  free_space();
  checkpoint->flush();
  EXPECT_EQ(checkpoint->stats().pending, 0u);
  EXPECT_EQ(testing::values(as_map(read())), big);
  checkpoint.reset();
  EXPECT_EQ(testing::values(Checkpoint(uri_, options).states()), big);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (Way way : {Way::tmpfs, Way::file_size_limit}) {
    for (auto [scheme, file] : {std::pair{"yaml", "state.yml"}, std::pair{"json", "state.json"},
                                std::pair{"sqlite", "state.db"}, std::pair{"lmdb", "state.lmdb"}}) {
      out.push_back(Case{scheme, file, way});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Lmdb, LmdbDiskFull,
                         ::testing::Values(Case{"lmdb", "state.lmdb", Way::tmpfs}),
                         [](const auto&) { return std::string("Tmpfs"); });

INSTANTIATE_TEST_SUITE_P(FileBackends, DiskFull, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           return info.param.scheme +
                                  (info.param.way == Way::tmpfs ? "_Tmpfs" : "_FileSizeLimit");
                         });

}  // namespace
}  // namespace checkpoint
