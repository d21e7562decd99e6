// The documents of the yaml and json backends, for programs that print or
// exchange states in those formats (checkpointctl dump --format yaml|json
// prints them; what they print is a valid yaml: or json: store). In a build
// without that backend (CHECKPOINT_WITH_YAML or _JSON off), each throws
// Error{unsupported}.
#pragma once

#include <string>
#include <string_view>

#include "checkpoint/export.h"
#include "checkpoint/state.hpp"

namespace checkpoint {

// Winlogbeat's .winlogbeat.yml document for `state` (as the yaml backend
// writes it). A state it cannot hold (an empty name, invalid UTF-8):
// Error{invalid_argument}.
CHECKPOINT_API std::string yaml_document(const PersistedState& state);

// The same document in JSON (as the json backend writes it).
CHECKPOINT_API std::string json_document(const PersistedState& state);

// Reads a document as the backends do. Anything that cannot be read back
// exactly: Error{corrupt} naming `source`.
CHECKPOINT_API PersistedState read_yaml_document(std::string_view text, std::string_view source);
CHECKPOINT_API PersistedState read_json_document(std::string_view text, std::string_view source);

}  // namespace checkpoint
