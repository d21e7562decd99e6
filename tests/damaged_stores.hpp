// What the damaged-store tests start from, shared by damaged_store_test.cpp
// (damage of every kind, loaded) and on_corrupt_test.cpp (damaged stores
// that Options::on_corrupt moves aside): the states the stores held, and
// the database formats with the files they keep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "checkpoint/state.hpp"
#include "checkpoint/timestamp.hpp"

namespace checkpoint::damaged {

inline constexpr std::uint64_t kMaxRecord = std::numeric_limits<std::uint64_t>::max();

// ---- The states every damaged file started from ------------------------------

inline const Timestamp kUpdateTime = Timestamp::parse("2024-02-29T12:34:56.123456789Z");

// Sorted by name, as load() returns them.
inline const std::vector<EventLogState> kStates = {
    {"123", kMaxRecord - 1, Timestamp::parse("1970-01-01T00:00:00Z"), "~"},
    {"Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"), ""},
    {"Microsoft-Windows-Sysmon/Operational", kMaxRecord,
     Timestamp::parse("2017-11-28T00:27:30.1588877Z"),
     "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
     "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>"},
    {"key: \"value\" # not a comment\n\tnext line", 123,
     Timestamp::parse("9999-12-31T23:59:59.999999999Z"),
     std::string("\u00fcn\u00efc\u00f8d\u00e9 \u65e5\u672c\u8a9e and a NUL \0 byte", 35)},
    {"null", 1, Timestamp::parse("2000-02-29T23:59:59.000000001+05:30"), "yes"},
    {"yes", 0, Timestamp(), ""},
};

// ---- Databases ---------------------------------------------------------------

struct DatabaseFormat {
  std::string scheme;
  std::string extension;
  std::vector<std::string> side_files;  // suffixes of the files the database keeps beside it
  // A log of recent commits beside the data file, if any: its suffix, the
  // size of its header and of each frame (one page and its header).
  std::string log;
  std::size_t log_header = 0, log_frame = 0;
  // Options that skip fsync, for the damaged copies thrown away after loading.
  std::string no_sync;
};

inline constexpr std::size_t kPageSize = 4096;  // both formats' page size on Linux

inline void PrintTo(const DatabaseFormat& format, std::ostream* out) { *out << format.scheme; }

inline const DatabaseFormat kDatabaseFormats[] = {
    {"sqlite", ".db", {"-wal", "-shm", "-journal"}, "-wal", 32, 24 + kPageSize, "?synchronous=off"},
    {"lmdb", ".lmdb", {"-lock"}, "", 0, 0, "?sync=off"},
};

// update_time and every state after one commit.
struct Snapshot {
  Timestamp update_time;
  StateMap states;
};

// kStates, 2000 streams, and a 64 KiB bookmark (SQLite overflow pages,
// LMDB overflow pages).
inline Snapshot many_states() {
  Snapshot s{kUpdateTime, {}};
  for (const auto& state : kStates) s.states.emplace(state.name, state);
  for (int i = 0; i < 2000; ++i) {
    std::string name = "stream-" + std::to_string(i);
    s.states.emplace(name, EventLogState{name, static_cast<std::uint64_t>(i) * 7919,
                                         Timestamp::from_unix(1'500'000'000 + i, i),
                                         "<Bookmark RecordId='" + std::to_string(i) + "'/>"});
  }
  std::string big;
  while (big.size() < 64 * 1024) big += "<Bookmark Channel='big' RecordId='1'/>\r\n";
  s.states.emplace("big", EventLogState{"big", 1, Timestamp(), big});
  return s;
}

}  // namespace checkpoint::damaged
