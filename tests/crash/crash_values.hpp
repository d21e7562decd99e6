// The values the crash writer stores, derived from the record number and
// the stream, so that a reader can tell a whole state from a torn one.
#pragma once

#include <cstdint>
#include <string>

#include "checkpoint/state.hpp"
#include "checkpoint/timestamp.hpp"

namespace checkpoint::crash {

inline constexpr int kStreams = 8;

inline std::string stream_name(int stream) { return "stream-" + std::to_string(stream); }

// The state of `stream` at record number `n`. Bookmarks vary in length (up
// to a few KiB), so the stores' files span several pages and shrink and
// grow between commits.
inline EventLogState crash_state(int stream, std::uint64_t n) {
  EventLogState s;
  s.name = stream_name(stream);
  s.record_number = n;
  s.timestamp =
      Timestamp::from_unix(static_cast<std::int64_t>(1'500'000'000 + n),
                           static_cast<std::uint32_t>((n * 7919 + stream) % 1'000'000'000));
  s.bookmark = "<Bookmark Channel='" + s.name + "' RecordId='" + std::to_string(n) + "'/>" +
               std::string((n * 131 + static_cast<std::uint64_t>(stream) * 17) % 3000, 'x');
  return s;
}

}  // namespace checkpoint::crash
