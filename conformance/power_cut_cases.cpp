// Conformance cases: power cuts (checkpoint/power_cut.hpp), for stores that
// do their file I/O through checkpoint/toolkit. The calls of opening a
// store and committing are recorded once; then every state a power cut
// could leave (un-synced writes lost, zero-filled or torn, un-synced
// directory entries lost or kept, in any combination) is written back and
// loaded. A commit that returned survives; a power cut at any point of
// opening and committing leaves the previous commit or the new one, never
// a mix, never damage. Stores that write their files by other means
// (SQLite, LMDB) are skipped: the model cannot see their writes.
#include <optional>
#include <string>

#include "checkpoint/conformance.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/power_cut.hpp"
#include "checkpoint/registry.hpp"
#include "conformance/values.hpp"

namespace checkpoint::conformance {

int link_power_cut_cases() { return 0; }

namespace {

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

// What a reader loads, or the error it throws, for messages.
struct Loaded {
  std::optional<PersistedState> state;
  std::string error;
};

// Opening may throw as well as loading (the store may be gone).
template <typename Open>
Loaded load_with(Open open) {
  try {
    return {open()->load(), {}};
  } catch (const Error& e) {
    return {std::nullopt, e.what()};
  }
}

TEST_P(StoreConformance, ACommitThatReturnedSurvivesAPowerCut) {
  // Named, not bound: the lambdas below capture them.
  const auto versions = two_versions();
  const Version& old_version = versions.first;
  const Version& new_version = versions.second;
  commit_version(*Store::open(uri()), old_version);
  std::size_t during_commit = 0, acknowledged = 0;
  std::string log;
  PowerCut power(dir());
  {
    auto writer = Store::open(uri());
    const std::size_t before = power.operations();
    commit_version(*writer, new_version);
    acknowledged = power.operations();
    during_commit = acknowledged - before;
    power.cut();
    log = power.log();
  }  // the process dies with the power
  if (during_commit == 0) {
    GTEST_SKIP() << where() << " does its file I/O without checkpoint/toolkit";
  }
  // Every state the disk may hold once the commit returned.
  power.for_each_crash_state(
      [&](const CrashState& crash) {
        Loaded loaded = load_with([&] { return reader(); });
        if (!loaded.state) {
          ADD_FAILURE() << where() << ": after a power cut right after a commit returned ("
                        << crash.description << "): " << loaded.error
                        << "\n  the commit was not durable; the toolkit calls were:" << log;
          return false;
        }
        auto same_new = same(*loaded.state, new_version.states, new_version.update_time);
        if (!same_new) {
          ADD_FAILURE() << same_new.message() << "\n(after a power cut right after the commit"
                        << " returned: the commit was not durable)\n  " << crash.description
                        << "\n  the toolkit calls were:" << log;
          return false;
        }
        return true;
      },
      acknowledged);
}

TEST_P(StoreConformance, APowerCutDuringACommitLeavesTheOldOrTheNew) {
  // Named, not bound: the lambdas below capture them.
  const auto versions = two_versions();
  const Version& old_version = versions.first;
  const Version& new_version = versions.second;
  commit_version(*Store::open(uri()), old_version);
  std::size_t during_commit = 0, acknowledged = 0;
  std::string log;
  PowerCut power(dir());
  {
    auto writer = Store::open(uri());
    const std::size_t before = power.operations();
    commit_version(*writer, new_version);
    acknowledged = power.operations();
    during_commit = acknowledged - before;
    power.cut();
    log = power.log();
  }
  if (during_commit == 0) {
    GTEST_SKIP() << where() << " does its file I/O without checkpoint/toolkit";
  }
  // Every state a power cut at any point of opening and committing may
  // leave (checkpoint/power_cut.hpp says which).
  std::size_t states = power.for_each_crash_state([&](const CrashState& crash) {
    Loaded loaded = load_with([&] { return reader(); });
    if (!loaded.state) {
      ADD_FAILURE() << where() << ": after a power cut (" << crash.description
                    << "),\n  the store holds neither the old commit nor the new one: "
                    << loaded.error << "\n  the toolkit calls were:" << log;
      return false;
    }
    const bool old_one = same(*loaded.state, old_version.states, old_version.update_time);
    const bool new_one = same(*loaded.state, new_version.states, new_version.update_time);
    if (!old_one && !new_one) {
      ADD_FAILURE() << where() << ": after a power cut (" << crash.description
                    << "),\n  the store holds neither the old commit nor the new one:\n"
                    << same(*loaded.state, new_version.states, new_version.update_time).message()
                    << "\n  the toolkit calls were:" << log;
      return false;
    }
    if (crash.latest >= acknowledged && !new_one) {
      ADD_FAILURE() << where() << ": after a power cut (" << crash.description
                    << "),\n  the commit had returned but was lost\n  the toolkit calls were:"
                    << log;
      return false;
    }
    return true;
  });
  RecordProperty("crash_states", std::to_string(states));
}

}  // namespace
}  // namespace checkpoint::conformance
