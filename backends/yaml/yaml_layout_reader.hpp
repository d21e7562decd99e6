// A fast reader for the one layout emit_yaml_document() writes, byte for
// byte:
//
//   ---
//   update_time: TIMESTAMP
//   event_logs:                    ("event_logs: []" when there are none)
//   - name: "DOUBLE-QUOTED"
//     record_number: DIGITS
//     timestamp: TIMESTAMP
//     bookmark: "DOUBLE-QUOTED"    (only when not empty)
//   ...
//
// yaml-cpp needs about 30 us per state (3 s for 100,000 states, almost
// all of it in building and walking its node tree); this reader about
// 0.2 us (bench/format_bench: parse/yaml-winlogbeat against parse/yaml).
// It is strict: anything that is not exactly this layout, with only the
// escapes the writer uses (\t \n \r \" \\ \xHH \uHHHH) and only characters
// the writer leaves unescaped, makes it give up, and the caller then reads
// the text with yaml-cpp, which is how files written by Winlogbeat or
// edited by hand, and damaged files, are read and reported. So for every
// text it accepts, it returns what the yaml-cpp reader returns
// (yaml_layout_reader_test checks this on mutated documents).
#pragma once

#include <optional>
#include <string_view>

#include "checkpoint/state.hpp"

namespace checkpoint::backends {

// The states of `text` if it is exactly in our layout, with valid values
// and no repeated name; otherwise nullopt (never throws for bad text).
// With `cut`, nullopt also tells whether the text ran out while everything
// up to its end matched the layout (*cut true): the start of one of our
// files, cut short, rather than a document in another layout. A text cut
// inside a value's line counts when the line holds no control character
// and could start such a value.
std::optional<PersistedState> read_yaml_layout(std::string_view text, bool* cut = nullptr);

}  // namespace checkpoint::backends
