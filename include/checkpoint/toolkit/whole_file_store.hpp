// A store that keeps one document in one file and rewrites it whole at every
// commit (the yaml and json backends are two DocumentFormats): the file is
// replaced with write_file_atomically() (durable_file.hpp), the writer lock
// (checkpoint/writer_lock.hpp) is taken when the store is opened for
// writing, before the file is read, and the states are kept between commits
// by SnapshotStore. A format supplies only its document.
//
// Opening for reading never creates, locks or changes anything; a missing
// file is Error{not_found}. An empty file is an empty store.
//
// A symbolic link at the store's path is followed (follow_symlinks() in
// durable_file.hpp): the file it leads to is read, locked (its PATH.lock
// lies beside it) and atomically replaced at each commit, and the link
// stays, so every name that reaches the file is the same store. A link
// whose target does not exist yet is a store that does not exist yet;
// its first commit creates the target.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/export.h"
#include "checkpoint/registry.hpp"

namespace checkpoint::toolkit {

struct DocumentFormat {
  std::string scheme;  // "yaml": messages say "yaml store PATH: ..."
  // The document for these states. A state the format cannot hold:
  // Error{invalid_argument} naming `store`.
  std::function<std::string(Timestamp update_time, const StateMap& states, std::string_view store)>
      emit;
  // The document's states, sorted by name. Anything not readable exactly:
  // Error{corrupt} naming `store`.
  std::function<PersistedState(std::string_view text, std::string_view store)> parse;
  // Optional: every state of a damaged document that still reads exactly
  // (Store::salvage()). Without it, salvage() gets all or nothing.
  std::function<Salvage(std::string_view text, std::string_view store)> salvage;
};

// The file of the store `uri` names, symlinks followed: a backend's
// BackendInfo::files (registry.hpp).
CHECKPOINT_API std::vector<std::filesystem::path> whole_file_store_files(const StoreUri& uri);

// Opens uri.target (required) with options `sync` (default on; off skips
// the fsyncs and is unsafe), `file_mode` and `dir_mode` (file_modes.hpp;
// a writer gives the file and PATH.lock the file mode when it opens the
// store, and every commit's FILE.new has it) and `lock_timeout_ms`
// (lock_timeout_option() in options.hpp). The backend's BackendInfo must
// list them all (whole_file_options()).
// The options open_whole_file_store() reads, for BackendInfo::options.
CHECKPOINT_API std::vector<std::string> whole_file_options();

CHECKPOINT_API std::unique_ptr<Store> open_whole_file_store(const StoreUri& uri,
                                                            const OpenOptions& options,
                                                            DocumentFormat format);

}  // namespace checkpoint::toolkit
