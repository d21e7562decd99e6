// Conformance cases: power cuts (checkpoint/power_cut.hpp), for stores that
// do their file I/O through checkpoint/toolkit. A commit that returned
// survives a power cut; a power cut at any point of opening and committing
// leaves the previous commit or the new one, never a mix, never damage.
// Stores that write their files by other means (SQLite, LMDB) are skipped:
// the model cannot see their writes.
#include <fstream>
#include <sstream>

#include "checkpoint/conformance.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/power_cut.hpp"
#include "checkpoint/registry.hpp"
#include "conformance/values.hpp"

namespace checkpoint::conformance {

int link_power_cut_cases() { return 0; }

namespace {

// Every file and directory under a directory, to put it back as it was.
class Saved {
 public:
  explicit Saved(const std::filesystem::path& top) : top_(top) {
    for (const auto& item : std::filesystem::recursive_directory_iterator(top)) {
      auto mode = item.symlink_status().permissions();
      if (item.is_directory()) {
        dirs_.emplace_back(item.path(), mode);
      } else if (item.is_regular_file()) {
        std::ifstream in(item.path(), std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        files_.push_back({item.path(), bytes.str(), mode});
      }
    }
  }
  void restore() const {
    for (const auto& item : std::filesystem::directory_iterator(top_)) {
      std::filesystem::remove_all(item.path());
    }
    for (const auto& [path, mode] : dirs_) {
      std::filesystem::create_directories(path);
      std::filesystem::permissions(path, mode);
    }
    for (const auto& file : files_) {
      std::ofstream(file.path, std::ios::binary) << file.bytes;
      std::filesystem::permissions(file.path, file.mode);
    }
  }

 private:
  struct File {
    std::filesystem::path path;
    std::string bytes;
    std::filesystem::perms mode;
  };
  std::filesystem::path top_;
  std::vector<std::pair<std::filesystem::path, std::filesystem::perms>> dirs_;
  std::vector<File> files_;
};

struct Version {
  StateMap states;
  Timestamp update_time;
  std::vector<EventLogState> upserted;  // the commit that made it, from the one before
  std::vector<std::string> removed;
};

// The old version and the new one, a commit apart.
std::pair<Version, Version> two_versions() {
  Version old_version, new_version;
  for (int i = 0; i < 6; ++i) {
    auto s = state("stream-" + std::to_string(i), static_cast<std::uint64_t>(i) * 1'000'003,
                   Timestamp::from_unix(1'600'000'000 + i, 7), i % 2 ? "<b/>" : "");
    old_version.states[s.name] = s;
    old_version.upserted.push_back(s);
  }
  old_version.update_time = Timestamp::from_unix(1'700'000'000, 111);
  new_version.states = old_version.states;
  auto changed = state("stream-2", 99'999'999'999ull, Timestamp::from_unix(1'650'000'000, 9),
                       "<Bookmark RecordId='99999999999'/>");
  auto added = state("stream-new", 1);
  new_version.states[changed.name] = changed;
  new_version.states[added.name] = added;
  new_version.states.erase("stream-4");
  new_version.upserted = {changed, added};
  new_version.removed = {"stream-4"};
  new_version.update_time = Timestamp::from_unix(1'700'000'060, 222);
  return {old_version, new_version};
}

void commit_version(Store& store, const Version& version) {
  store.commit(Changes{version.update_time, version.upserted, version.removed});
}

TEST_P(StoreConformance, ACommitThatReturnedSurvivesAPowerCut) {
  auto [old_version, new_version] = two_versions();
  commit_version(*Store::open(uri()), old_version);
  std::size_t during_commit = 0;
  std::string log;
  {
    PowerCut power(dir());
    auto writer = Store::open(uri());
    const std::size_t before = power.operations();
    commit_version(*writer, new_version);
    during_commit = power.operations() - before;
    power.cut();
    log = power.log();
    writer.reset();
    power.reboot();
  }
  if (during_commit == 0) {
    GTEST_SKIP() << where() << " does its file I/O without checkpoint/toolkit";
  }
  PersistedState loaded;
  try {
    loaded = reader()->load();
  } catch (const Error& e) {
    FAIL() << where() << ": after a power cut right after a commit returned: " << e.what()
           << "\n  the toolkit calls were:" << log;
  }
  EXPECT_TRUE(same(loaded, new_version.states, new_version.update_time))
      << "(after a power cut right after the commit returned: the commit was not durable)"
      << "\n  the toolkit calls were:" << log;
}

TEST_P(StoreConformance, APowerCutDuringACommitLeavesTheOldOrTheNew) {
  auto [old_version, new_version] = two_versions();
  commit_version(*Store::open(uri()), old_version);
  const Saved saved(dir());

  for (std::size_t calls = 0;; ++calls) {
    saved.restore();
    bool completed = false;
    std::size_t during_commit = 0;
    std::string log, error;
    {
      PowerCut power(dir());
      power.cut_after(calls);
      try {
        auto writer = Store::open(uri());
        const std::size_t before = power.operations();
        commit_version(*writer, new_version);
        during_commit = power.operations() - before;
        completed = !power.was_cut();
      } catch (const Error& e) {
        if (!power.was_cut()) {
          FAIL() << where() << ": opening or committing failed before the power cut: " << e.what();
        }
        error = e.what();
      }
      power.cut();
      log = power.log();
      power.reboot();
    }
    if (completed && during_commit == 0) {
      GTEST_SKIP() << where() << " does its file I/O without checkpoint/toolkit";
    }
    const std::string when = "a power cut after " + std::to_string(calls) + " toolkit calls" +
                             (error.empty() ? "" : " (the commit threw: " + error + ")");
    PersistedState loaded;
    try {
      loaded = reader()->load();
    } catch (const Error& e) {
      FAIL() << where() << ": after " << when << ": " << e.what() << "\n  the toolkit calls were:"
             << log;
    }
    const bool old_one = same(loaded, old_version.states, old_version.update_time);
    const bool new_one = same(loaded, new_version.states, new_version.update_time);
    ASSERT_TRUE(old_one || new_one)
        << where() << ": after " << when << ", the store holds neither the old commit nor the new"
        << " one:\n"
        << same(loaded, new_version.states, new_version.update_time).message()
        << "\n  the toolkit calls were:" << log;
    if (completed) {
      ASSERT_TRUE(new_one) << where() << ": after " << when
                           << ", the commit had returned but was lost\n  the toolkit calls were:"
                           << log;
      break;  // every point of the commit was tried
    }
    ASSERT_LT(calls, 100'000u) << where() << ": the commit never completes";
  }
}

}  // namespace
}  // namespace checkpoint::conformance
