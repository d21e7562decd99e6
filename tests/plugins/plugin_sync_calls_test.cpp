// A plugin does its own file I/O, which the power-cut model of the
// conformance suite cannot see (docs/plugins.md). What reaches the C
// library can be checked (tests/crash/io_trace.hpp; the plugin's calls
// resolve to the tracing functions this program exports): each commit of
// the lines plugin (examples/c_plugin) writes its new file, syncs it after
// the last write, then syncs the directory, where the rename made it the
// store. The check has teeth: a yaml store with sync=off fails it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "tests/crash/io_trace.hpp"
#include "tests/test_files.hpp"

namespace checkpoint::crash {
namespace {

namespace fs = std::filesystem;
using Kind = IoEvent::Kind;

bool is_sync(const IoEvent& e) { return e.kind == Kind::fsync || e.kind == Kind::fdatasync; }

// What one whole-file commit failed to do for durability; empty if nothing.
std::string commit_problems(const std::vector<IoEvent>& events, const std::string& dir) {
  std::string listing;
  for (const auto& e : events) listing += "\n      " + to_string(e);
  auto last_write = std::find_if(events.rbegin(), events.rend(),
                                 [](const IoEvent& e) { return e.kind == Kind::write; });
  if (last_write == events.rend()) return "the commit wrote nothing; the calls were:" + listing;
  const std::string file = last_write->path;
  auto file_sync = std::find_if(events.begin() + (events.rend() - last_write), events.end(),
                                [&](const IoEvent& e) { return is_sync(e) && e.path == file; });
  if (file_sync == events.end()) {
    return file + " was not synced after its last write; the calls were:" + listing;
  }
  if (std::find_if(file_sync + 1, events.end(), [&](const IoEvent& e) {
        return is_sync(e) && e.directory && e.path == dir;
      }) == events.end()) {
    return "the directory was not synced after " + file + "; the calls were:" + listing;
  }
  return "";
}

class PluginSyncCalls : public ::testing::Test {
 protected:
  void SetUp() override { start_io_trace(temp_.path()); }
  void TearDown() override { stop_io_trace(); }

  // Commits 5 times through a store of `uri`; the problems of each commit.
  std::vector<std::string> commits(const std::string& uri) {
    auto store = Store::open(uri);
    take_io_trace();  // opening
    std::vector<std::string> out;
    for (int i = 0; i < 5; ++i) {
      const EventLogState state{"stream-" + std::to_string(i % 3), static_cast<std::uint64_t>(i),
                                Timestamp::from_unix(1'700'000'000 + i), "<b/>"};
      store->commit({Timestamp::from_unix(1'700'000'000 + i), {&state, 1}, {}});
      out.push_back(commit_problems(take_io_trace(), dir_.string()));
    }
    return out;
  }

  checkpoint::testing::TempDir temp_{"plugin_sync_calls_test"};
  // As /proc/self/fd names the files in it.
  const fs::path dir_ = fs::weakly_canonical(temp_.path());
};

TEST_F(PluginSyncCalls, TheCPluginSyncsTheFileThenTheDirectoryAtEveryCommit) {
  load_plugin(LINES_PLUGIN);
  for (const auto& problems : commits("lines:" + (dir_ / "state.lines").string())) {
    EXPECT_EQ(problems, "");
  }
}

TEST_F(PluginSyncCalls, AStoreThatDoesNotSyncIsCaught) {
  for (const auto& problems : commits("yaml:" + (dir_ / "state.yml").string() + "?sync=off")) {
    EXPECT_NE(problems.find("was not synced after its last write"), std::string::npos) << problems;
  }
}

}  // namespace
}  // namespace checkpoint::crash
