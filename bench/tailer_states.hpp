// The states of a file tailer, the benchmarks' model of a shipper's streams:
// ~40-byte names, one in four with a 120-byte XML bookmark (bench/go_checkpoint
// makes the same for the Go original). Header-only, on API that every
// version of the library has, so that scripts/bench-compare.sh can build
// the benchmarks that use it against older revisions.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include "checkpoint/state.hpp"
#include "checkpoint/timestamp.hpp"

namespace bench {

// State number `i`.
inline checkpoint::EventLogState tailer_state(std::size_t i) {
  char name[64];
  std::snprintf(name, sizeof name, "/var/log/containers/app-%08zu_default_web.log", i);
  std::string bookmark;
  if (i % 4 == 0) {
    char xml[160];
    std::snprintf(xml, sizeof xml,
                  "<BookmarkList><Bookmark Channel='Application' RecordId='%010zu' "
                  "IsCurrent='true'/></BookmarkList>   ",
                  i * 7);
    bookmark = xml;
  }
  return {name, i * 1000 + 7,
          checkpoint::Timestamp::from_unix(1'714'979'289 + static_cast<long>(i), 100), bookmark};
}

}  // namespace bench
