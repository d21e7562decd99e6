// Power loss, not just kill -9. A killed process leaves the page cache
// behind, so the kill tests cannot catch a missing or misordered fsync;
// this test can. It records the file-system calls a commit makes through
// the toolkit's system-call seam (checkpoint/power_cut.hpp), builds every
// state a power cut at any of those calls could leave (un-synced writes
// lost, zero-filled or torn at page boundaries and in the middle; un-synced
// creates, renames, unlinks and directory entries lost or kept in any
// combination), writes each back, and requires that it loads as a commit
// the program could have left: the previous one or a newer one, never an
// acknowledged commit lost, never Error{corrupt}, never anything else. A
// writer must then be able to open it and commit over it.
//
// Covered: yaml and json commits, over an existing store and creating a
// store in a directory that does not exist yet (the toolkit creates it
// 0750 and syncs each parent), two commits in a row, and `checkpointctl
// set` and `checkpointctl convert`. Those two run in-process: main.cpp only
// parses arguments and calls cmd_set() and cmd_convert()
// (tools/checkpointctl/commands.cpp, compiled into this test), so the
// calls recorded are exactly those the program makes.
//
// The test has teeth: with sync=off (write_file_atomically() skips its
// fsyncs) the same check must report an acknowledged commit lost, a store
// that no longer loads (Error{corrupt}) and one that loads as nothing any
// commit wrote (the file renamed into place before its data reached the
// disk reads as empty). And a hand-written write-and-rename with one fsync
// left out or moved after the rename is caught for that fsync's reason.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint/documents.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/power_cut.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/toolkit/system_calls.hpp"
#include "tests/test_files.hpp"
#include "tools/checkpointctl/commands.hpp"

namespace checkpoint::crash {
namespace {

using conformance::CrashState;
using conformance::PowerCut;

// A commit a power cut may leave, or the absence of any store.
struct Version {
  std::string what;                     // "the old commit", for messages
  std::optional<PersistedState> state;  // nullopt: no store yet (Error{not_found})
  std::size_t started = 0;              // calls made before the commit began
  std::size_t acknowledged = 0;         // calls made when it returned
};

// What went wrong in which states, by kind.
struct Verdict {
  std::size_t states = 0;
  std::vector<std::string> lost;        // loads an older commit than one acknowledged
  std::vector<std::string> damaged;     // does not load (Error{corrupt} or another)
  std::vector<std::string> neither;     // loads something no commit wrote
  std::vector<std::string> unwritable;  // a writer cannot open it and commit

  bool ok() const {
    return lost.empty() && damaged.empty() && neither.empty() && unwritable.empty();
  }

  // The counts, and the first case of each kind.
  std::string summary() const {
    std::ostringstream out;
    out << states << " crash states: " << lost.size() << " lost an acknowledged commit, "
        << damaged.size() << " did not load, " << neither.size() << " loaded something else, "
        << unwritable.size() << " could not be written";
    for (const auto* kind : {&lost, &damaged, &neither, &unwritable}) {
      if (!kind->empty()) out << "\n  for example: " << kind->front();
    }
    return out.str();
  }
};

bool same(const PersistedState& a, const PersistedState& b) {
  return a.update_time == b.update_time && a.states == b.states;
}

std::string describe(const PersistedState& state) {
  return std::to_string(state.states.size()) + " states, update_time " +
         state.update_time.to_string();
}

// What a reader of `uri` loads: the state, or the error.
struct Loaded {
  std::optional<PersistedState> state;
  std::optional<Error> error;
};

Loaded load(const std::string& uri) {
  try {
    return {Store::open(uri, {.mode = OpenMode::read})->load(), std::nullopt};
  } catch (const Error& e) {
    return {std::nullopt, e};
  }
}

// A writer can open what the power cut left (a stale temporary or lock
// file included), loads what a reader loads, and commits over it. Empty if
// so; otherwise what failed. Its commit skips the fsyncs (sync=off): they
// change nothing here but the time taken, hundreds of times over.
std::string try_writing(const std::string& uri, const Loaded& read) {
  const std::string writer_uri = uri.find("sync=") != std::string::npos ? uri : uri + "?sync=off";
  try {
    auto writer = Store::open(writer_uri);
    PersistedState loaded = writer->load();
    const PersistedState expected = read.state.value_or(PersistedState{});
    if (!same(loaded, expected)) {
      return "a writer loaded " + describe(loaded) + ", a reader " + describe(expected);
    }
    const EventLogState added{"written after the power cut", 1, {}, {}};
    writer->commit(Changes{Timestamp::from_unix(1'800'000'000), {&added, 1}, {}});
    writer.reset();
    Loaded after = load(uri);
    if (!after.state || after.state->states.size() != expected.states.size() + 1) {
      return "a commit after the power cut did not load back";
    }
  } catch (const Error& e) {
    return std::string("a writer failed: ") + e.what();
  }
  return {};
}

// Every state the power cut could have left of the directory, loaded
// through `uri` and judged against `versions` (the first: what was there
// before the recorded calls; then each commit in order).
Verdict check_every_crash_state(PowerCut& power, const std::string& uri,
                                const std::vector<Version>& versions) {
  Verdict verdict;
  verdict.states = power.for_each_crash_state([&](const CrashState& crash) {
    // The oldest version this cut may leave: the last acknowledged at
    // `latest`; the newest: the last begun before `earliest`.
    std::size_t oldest = 0, newest = 0;
    for (std::size_t v = 1; v < versions.size(); ++v) {
      if (versions[v].acknowledged <= crash.latest) oldest = v;
      if (versions[v].started < crash.earliest) newest = v;
    }
    Loaded read = load(uri);
    std::optional<std::size_t> match;
    for (std::size_t v = 0; v < versions.size() && !match; ++v) {
      const bool none =
          !versions[v].state && read.error && read.error->code() == ErrorCode::not_found;
      if (none || (versions[v].state && read.state && same(*read.state, *versions[v].state))) {
        match = v;
      }
    }
    const std::string where = "\n    " + crash.description;
    if (!match) {
      if (read.state) {
        verdict.neither.push_back("loads " + describe(*read.state) + ", which no commit wrote" +
                                  where);
      } else if (read.error->code() == ErrorCode::not_found) {
        verdict.lost.push_back("the store is gone: " + std::string(read.error->what()) + where);
      } else {
        verdict.damaged.push_back(std::string(to_string(read.error->code())) + ": " +
                                  read.error->what() + where);
      }
      return true;
    }
    if (*match < oldest) {
      verdict.lost.push_back("loads " + versions[*match].what + ", but " + versions[oldest].what +
                             " had been acknowledged" + where);
      return true;
    }
    if (*match > newest) {
      verdict.neither.push_back("loads " + versions[*match].what + " before it was written" +
                                where);
      return true;
    }
    if (std::string problem = try_writing(uri, read); !problem.empty()) {
      verdict.unwritable.push_back(problem + where);
    }
    return true;
  });
  return verdict;
}

// `count` states with bookmarks long enough that a document spans a few
// pages: a torn write can then stop at a page boundary.
PersistedState many_states(int count, std::int64_t update_seconds) {
  PersistedState out;
  out.update_time = Timestamp::from_unix(update_seconds, 123'456'789);
  for (int i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "stream-%03d", i);
    out.states.push_back({name, static_cast<std::uint64_t>(i) * 1'000'003 + 7,
                          Timestamp::from_unix(1'600'000'000 + i, static_cast<std::uint32_t>(i)),
                          "<BookmarkList><Bookmark Channel='" + std::string(name) + "' RecordId='" +
                              std::to_string(i * 1000) + "'/></BookmarkList>"});
  }
  return out;
}

// The changes from `from` to `to`, for Store::commit().
struct Diff {
  std::vector<EventLogState> upserted;
  std::vector<std::string> removed;
  Changes changes(Timestamp update_time) const { return {update_time, upserted, removed}; }
};

Diff diff(const PersistedState& from, const PersistedState& to) {
  Diff out;
  for (const auto& state : to.states) {
    auto it = std::find_if(from.states.begin(), from.states.end(),
                           [&](const EventLogState& s) { return s.name == state.name; });
    if (it == from.states.end() || !(*it == state)) out.upserted.push_back(state);
  }
  for (const auto& state : from.states) {
    auto it = std::find_if(to.states.begin(), to.states.end(),
                           [&](const EventLogState& s) { return s.name == state.name; });
    if (it == to.states.end()) out.removed.push_back(state.name);
  }
  return out;
}

// `base` with one state changed, one added and one removed.
PersistedState next_commit(const PersistedState& base, int n) {
  PersistedState out = base;
  out.update_time = Timestamp::from_unix(base.update_time.unix_seconds() + 60, 1);
  out.states[2].record_number += 1000;
  out.states[2].bookmark = "<changed by commit " + std::to_string(n) + "/>";
  out.states.erase(out.states.begin() + 5);
  char name[32];
  std::snprintf(name, sizeof name, "stream-added-%d", n);
  out.states.push_back({name, static_cast<std::uint64_t>(n), {}, {}});
  std::sort(out.states.begin(), out.states.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

void commit(const std::string& uri, const PersistedState& from, const PersistedState& to) {
  Store::open(uri)->commit(diff(from, to).changes(to.update_time));
}

class PowerLoss : public ::testing::TestWithParam<std::string> {
 protected:
  // A store of the format under test at `relative` in the test's directory.
  std::string uri(const std::string& relative, const std::string& options = "") const {
    return GetParam() + ":" + (temp_ / relative).string() + options;
  }
  const std::filesystem::path& dir() const { return temp_.path(); }

  // One or more commits through one writer, recorded; then every state.
  Verdict commits_over(const std::string& store_uri, std::optional<PersistedState> before,
                       const std::vector<PersistedState>& commits) {
    std::vector<Version> versions{{before ? "the old commit" : "no store", before, 0, 0}};
    PowerCut power(dir());
    {
      auto writer = Store::open(store_uri);
      PersistedState previous = before.value_or(PersistedState{});
      for (std::size_t i = 0; i < commits.size(); ++i) {
        const std::size_t started = power.operations();
        writer->commit(diff(previous, commits[i]).changes(commits[i].update_time));
        versions.push_back(
            {"commit " + std::to_string(i + 1), commits[i], started, power.operations()});
        previous = commits[i];
      }
      power.cut();
    }  // the process dies with the power
    return check_every_crash_state(power, store_uri, versions);
  }

  checkpoint::testing::TempDir temp_{"power_loss_test"};
};

TEST_P(PowerLoss, ACommitOverAnExistingStore) {
  const std::string store = uri("state." + GetParam());
  const PersistedState old = many_states(60, 1'700'000'000);
  commit(store, {}, old);
  Verdict verdict = commits_over(store, old, {next_commit(old, 1)});
  EXPECT_TRUE(verdict.ok()) << verdict.summary();
  EXPECT_GE(verdict.states, 50u) << verdict.summary();
  RecordProperty("crash_states", std::to_string(verdict.states));
}

TEST_P(PowerLoss, TwoCommitsInARow) {
  const std::string store = uri("state." + GetParam());
  const PersistedState old = many_states(60, 1'700'000'000);
  commit(store, {}, old);
  const PersistedState first = next_commit(old, 1);
  Verdict verdict = commits_over(store, old, {first, next_commit(first, 2)});
  EXPECT_TRUE(verdict.ok()) << verdict.summary();
  RecordProperty("crash_states", std::to_string(verdict.states));
}

TEST_P(PowerLoss, CreatingAStoreInADirectoryThatDoesNotExistYet) {
  const std::string store = uri("new/deeper/state." + GetParam());
  Verdict verdict = commits_over(store, std::nullopt, {many_states(60, 1'700'000'000)});
  EXPECT_TRUE(verdict.ok()) << verdict.summary();
  RecordProperty("crash_states", std::to_string(verdict.states));
}

// The same commit with sync=off must be caught, for each reason a missing
// fsync gives.
TEST_P(PowerLoss, IsCaughtWithSyncOff) {
  const std::string store = uri("state." + GetParam(), "?sync=off");
  const PersistedState old = many_states(60, 1'700'000'000);
  commit(uri("state." + GetParam()), {}, old);
  Verdict verdict = commits_over(store, old, {next_commit(old, 1)});
  EXPECT_FALSE(verdict.ok());
  // No directory fsync: the rename may not reach the disk.
  EXPECT_FALSE(verdict.lost.empty()) << verdict.summary();
  // No file fsync: the rename may reach the disk before the data, which
  // is then torn or zero-filled...
  EXPECT_FALSE(verdict.damaged.empty()) << verdict.summary();
  // ... or missing: an empty file, which YAML reads as an empty store and
  // JSON refuses.
  if (GetParam() == "yaml") {
    EXPECT_FALSE(verdict.neither.empty()) << verdict.summary();
  } else {
    EXPECT_TRUE(std::any_of(verdict.damaged.begin(), verdict.damaged.end(), [](const auto& d) {
      return d.find("the file is empty") != std::string::npos;
    })) << verdict.summary();
  }
  for (const auto& damage : verdict.damaged) {
    EXPECT_TRUE(damage.starts_with("corrupt: ")) << damage;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, PowerLoss, ::testing::Values("yaml", "json"),
                         [](const auto& info) { return info.param; });

// The model's rules, one at a time: a hand-written replacement of
// write_file_atomically() with one fsync left out or moved, each caught for
// its own reason, and the correct order accepted.
struct Protocol {
  const char* name;
  bool sync_file;
  bool sync_file_before_rename;  // false: after it
  bool sync_directory;
};

void write_with(const Protocol& protocol, const std::filesystem::path& path,
                const std::string& text) {
  const auto& sys = toolkit::sys();
  const std::string tmp = path.string() + ".new";
  int fd = sys.open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(sys.write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  if (protocol.sync_file && protocol.sync_file_before_rename) {
    ASSERT_EQ(sys.fsync(fd), 0);
  }
  ASSERT_EQ(sys.rename(tmp.c_str(), path.c_str()), 0);
  if (protocol.sync_file && !protocol.sync_file_before_rename) {
    ASSERT_EQ(sys.fsync(fd), 0);
  }
  ASSERT_EQ(sys.close(fd), 0);
  if (protocol.sync_directory) {
    int dir = sys.open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    ASSERT_GE(dir, 0);
    ASSERT_EQ(sys.fsync(dir), 0);
    ASSERT_EQ(sys.close(dir), 0);
  }
}

class PowerLossModel : public ::testing::TestWithParam<Protocol> {
 protected:
  Verdict replace_with(const Protocol& protocol) {
    const std::filesystem::path path = temp_ / "state.yml";
    const std::string store = "yaml:" + path.string();
    const PersistedState old = many_states(60, 1'700'000'000);
    const PersistedState next = next_commit(old, 1);
    commit(store, {}, old);
    PowerCut power(temp_.path());
    write_with(protocol, path, yaml_document(next));
    const std::size_t acknowledged = power.operations();
    power.cut();
    return check_every_crash_state(
        power, store, {{"the old document", old, 0, 0}, {"the new one", next, 0, acknowledged}});
  }
  checkpoint::testing::TempDir temp_{"power_loss_test"};
};

TEST_P(PowerLossModel, CatchesEachMissingOrMisplacedFsyncForItsReason) {
  const Protocol& protocol = GetParam();
  Verdict verdict = replace_with(protocol);
  std::cout << protocol.name << ": " << verdict.summary() << std::endl;
  const bool right_order =
      protocol.sync_file && protocol.sync_file_before_rename && protocol.sync_directory;
  EXPECT_EQ(verdict.ok(), right_order) << verdict.summary();
  // Without the directory's fsync the rename may not reach the disk,
  // even after the program went on.
  EXPECT_EQ(verdict.lost.empty(), protocol.sync_directory) << verdict.summary();
  // A rename may reach the disk before data that was not synced before it.
  const bool data_first = protocol.sync_file && protocol.sync_file_before_rename;
  EXPECT_EQ(verdict.damaged.empty(), data_first) << verdict.summary();
  EXPECT_TRUE(verdict.unwritable.empty()) << verdict.summary();
}

INSTANTIATE_TEST_SUITE_P(Protocols, PowerLossModel,
                         ::testing::Values(Protocol{"SyncFileRenameSyncDirectory", true, true,
                                                    true},
                                           Protocol{"NoDirectorySync", true, true, false},
                                           Protocol{"NoFileSync", false, false, true},
                                           Protocol{"FileSyncedAfterTheRename", true, false, true}),
                         [](const auto& info) { return std::string(info.param.name); });

// checkpointctl, in-process: the code of its subcommands.
class CheckpointctlPowerLoss : public ::testing::Test {
 protected:
  std::string uri(const std::string& scheme, const std::string& relative) const {
    return scheme + ":" + (temp_ / relative).string();
  }
  checkpoint::testing::TempDir temp_{"power_loss_test"};
};

TEST_F(CheckpointctlPowerLoss, SetOverAnExistingStore) {
  const std::string store = uri("yaml", "state.yml");
  const PersistedState old = many_states(60, 1'700'000'000);
  commit(store, {}, old);
  PowerCut power(temp_.path());
  std::ostringstream out;
  checkpointctl::SetArgs args{store, "stream-007", 4242, "2024-02-29T12:00:00.5Z", "<set/>"};
  ASSERT_EQ(checkpointctl::cmd_set(args, out), 0);
  const std::size_t acknowledged = power.operations();
  // What set left when it completed: the old states, one changed.
  Loaded done = load(store);
  power.cut();
  ASSERT_TRUE(done.state);
  PersistedState expected = old;
  expected.states[7].record_number = 4242;
  expected.states[7].timestamp = Timestamp::parse("2024-02-29T12:00:00.5Z");
  expected.states[7].bookmark = "<set/>";
  expected.update_time = done.state->update_time;            // Timestamp::now()
  expected.states[7].update_time = done.state->update_time;  // changed by the set
  ASSERT_TRUE(same(*done.state, expected));
  Verdict verdict = check_every_crash_state(
      power, store, {{"the old commit", old, 0, 0}, {"the set", expected, 0, acknowledged}});
  EXPECT_TRUE(verdict.ok()) << verdict.summary();
  RecordProperty("crash_states", std::to_string(verdict.states));
}

TEST_F(CheckpointctlPowerLoss, SetCreatingAStoreInADirectoryThatDoesNotExistYet) {
  const std::string store = uri("json", "new/deeper/state.json");
  PowerCut power(temp_.path());
  std::ostringstream out;
  ASSERT_EQ(checkpointctl::cmd_set({store, "first", 1, std::nullopt, std::nullopt}, out), 0);
  const std::size_t acknowledged = power.operations();
  Loaded done = load(store);
  power.cut();
  ASSERT_TRUE(done.state);
  ASSERT_EQ(done.state->states.size(), 1u);
  EXPECT_EQ(done.state->states[0].name, "first");
  Verdict verdict = check_every_crash_state(
      power, store, {{"no store", std::nullopt, 0, 0}, {"the set", done.state, 0, acknowledged}});
  EXPECT_TRUE(verdict.ok()) << verdict.summary();
  RecordProperty("crash_states", std::to_string(verdict.states));
}

TEST_F(CheckpointctlPowerLoss, ConvertIntoADirectoryThatDoesNotExistYet) {
  const std::string source = uri("yaml", "source.yml");
  const std::string target = uri("json", "converted/state.json");
  const PersistedState states = many_states(60, 1'700'000'000);
  commit(source, {}, states);
  PowerCut power(temp_.path());
  std::ostringstream out;
  ASSERT_EQ(checkpointctl::cmd_convert(source, target, false, out), 0) << out.str();
  const std::size_t acknowledged = power.operations();
  power.cut();
  Verdict verdict = check_every_crash_state(
      power, target,
      {{"no store", std::nullopt, 0, 0}, {"the conversion", states, 0, acknowledged}});
  EXPECT_TRUE(verdict.ok()) << verdict.summary();
  RecordProperty("crash_states", std::to_string(verdict.states));
}

TEST_F(CheckpointctlPowerLoss, ConvertWithForceOverAnExistingStore) {
  const std::string source = uri("json", "source.json");
  const std::string target = uri("yaml", "state.yml");
  const PersistedState old = many_states(40, 1'600'000'000);
  const PersistedState states = next_commit(many_states(60, 1'700'000'000), 1);
  commit(source, {}, states);
  commit(target, {}, old);
  PowerCut power(temp_.path());
  std::ostringstream out;
  ASSERT_EQ(checkpointctl::cmd_convert(source, target, true, out), 0) << out.str();
  const std::size_t acknowledged = power.operations();
  power.cut();
  Verdict verdict = check_every_crash_state(
      power, target, {{"the old store", old, 0, 0}, {"the conversion", states, 0, acknowledged}});
  EXPECT_TRUE(verdict.ok()) << verdict.summary();
  RecordProperty("crash_states", std::to_string(verdict.states));
}

}  // namespace
}  // namespace checkpoint::crash
