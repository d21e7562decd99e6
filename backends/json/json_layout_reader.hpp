// A fast reader for the one layout emit_json_document() writes, byte for
// byte (two-space indentation, keys in the order update_time, event_logs,
// and name, record_number, timestamp, bookmark; bookmark only when not
// empty; see json_format.hpp).
//
// nlohmann::json needs about 4 us per state for our documents, read twice
// (once to find repeated keys, once to build the tree); this reader about
// 0.2 us (bench/format_bench: parse/json-compact against parse/json). It is
// strict: anything that is not exactly this layout, or a string with an
// escape other than those the writer uses (\" \\ \b \f \n \r \t \uXXXX
// outside the surrogates), makes it give up, and the caller then reads the
// text with nlohmann::json and its checks, which is how documents from
// elsewhere and damaged ones are read and reported. So for every text it
// accepts it returns what the general reader returns
// (json_layout_reader_test checks this on mutated documents).
#pragma once

#include <optional>
#include <string_view>

#include "checkpoint/state.hpp"

namespace checkpoint::backends {

// The states of `text` if it is exactly in our layout, with valid values
// and no repeated name; otherwise nullopt (never throws for bad text).
std::optional<PersistedState> read_json_layout(std::string_view text);

}  // namespace checkpoint::backends
