// The store behind the whole-file formats (yaml, json): one document per
// file, rewritten at every commit through write_file_atomically(). A format
// supplies only how to write and read its document; this class does the
// file handling, the `sync` option, the writer lock (taken at the first
// commit, see checkpoint/writer_lock.hpp) and the messages, once for all of
// them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "checkpoint/registry.hpp"

namespace checkpoint::detail {

struct DocumentFormat {
  std::string scheme;  // "yaml": messages say "yaml store PATH: ..."
  // The document for these states. A state the format cannot hold:
  // Error{invalid_argument} naming `store`.
  std::function<std::string(Timestamp update_time, const StateMap& states, std::string_view store)>
      emit;
  // Anything not readable exactly: Error{corrupt}
  // naming `store`.
  std::function<PersistedState(std::string_view text, std::string_view store)> parse;
};

// Opens uri.target (required) with option `sync` (default on).
std::unique_ptr<StateStore> open_document_file_store(const StoreUri& uri, DocumentFormat format);

}  // namespace checkpoint::detail
