// The JSON document: the YAML format's document in JSON.
//
//   {
//     "update_time": "2017-12-05T15:16:07.841893Z",
//     "event_logs": [
//       {"name": "Application", "record_number": 250502,
//        "timestamp": "2017-12-05T15:16:02.6721303Z"},
//       {"name": "...", "record_number": 204, "timestamp": "...", "bookmark": "<BookmarkList>..."}
//     ]
//   }
//
// record_number is a JSON integer (0 .. 2^64-1, never a float); bookmark
// appears only when non-empty.
#pragma once

#include <string>
#include <string_view>

#include "checkpoint/state.hpp"
#include "checkpoint/store.hpp"
#include "core/salvage.hpp"

namespace checkpoint::backends {

// The document for `states`, two-space indented. A state that cannot be
// stored (empty name, invalid UTF-8): Error{invalid_argument} naming `store`.
std::string emit_json_document(Timestamp update_time, const StateMap& states,
                               std::string_view store);

// Reads a document strictly: anything that cannot be read back exactly (not
// JSON, NUL bytes, wrong types, repeated keys or names, missing or unknown
// fields): Error{corrupt} naming `store` and where in the document.
PersistedState parse_json_document(std::string_view text, std::string_view store);

// Reads each state of a damaged document on its own (see core/salvage.hpp),
// for checkpointctl salvage. Never throws Error{corrupt}.
Salvage salvage_json_document(std::string_view text);

}  // namespace checkpoint::backends
