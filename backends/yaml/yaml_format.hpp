// The YAML document that Winlogbeat keeps in .winlogbeat.yml:
//
//   ---
//   update_time: 2017-12-05T15:16:07.841893Z
//   event_logs:
//   - name: "Application"
//     record_number: 250502
//     timestamp: 2017-12-05T15:16:02.6721303Z
//     bookmark: "<BookmarkList>\r\n</BookmarkList>"
//   checksum: "5f1c9a0e"
//   ...
//
// We write names and bookmarks double-quoted (so `yes`, `null`, `123` and
// `key: value` stay strings in every YAML reader, Go's gopkg.in/yaml.v2
// included), timestamps as plain RFC 3339 scalars and record numbers as plain
// decimal integers, which is what Winlogbeat writes and reads.
//
// The "---" and "..." lines are YAML's document start and end markers; YAML
// readers, Winlogbeat's included, ignore them. We add them so a truncated
// file is detected: a document that starts with "---" must end with "...".
// Before the end marker, a "checksum:" line holds the CRC-32C of everything
// above it (core/document_checksum.hpp), so that damage never reads back as
// another value; Winlogbeat ignores the key. Files without markers or
// checksum (as Winlogbeat writes them) load as well.
#pragma once

#include <string>
#include <string_view>

#include "checkpoint/state.hpp"
#include "checkpoint/store.hpp"
#include "core/salvage.hpp"

namespace checkpoint::backends {

// The document for `states` (written in map order). A name that is empty or
// differs from its key, or a name or bookmark that is not valid UTF-8:
// Error{invalid_argument} naming `store`.
std::string emit_yaml_document(Timestamp update_time, const StateMap& states,
                               std::string_view store);

// Reads a document as written by emit_yaml_document() or by Winlogbeat.
// Empty text: an empty PersistedState. Anything that cannot be read back as
// states exactly (malformed or truncated YAML, NUL bytes, wrong types,
// missing or duplicate names): Error{corrupt} naming `store`, the line and
// what is wrong. A top level with keys other than update_time, event_logs
// and checksum is not a checkpoint file: Error{corrupt}, so that it is never
// overwritten. Unknown keys of a state are ignored, as Winlogbeat does. A
// checksum line (core/document_checksum.hpp) must match.
PersistedState parse_yaml_document(std::string_view text, std::string_view store);

// Reads each state of a damaged document on its own (see core/salvage.hpp),
// for checkpointctl salvage. Never throws Error{corrupt}.
Salvage salvage_yaml_document(std::string_view text);

}  // namespace checkpoint::backends
