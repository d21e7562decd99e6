// The adapters between the version 1 contract (StateStore, whose commits
// carry every state; checkpoint/legacy_store.hpp) and the version 2 one
// (Store, whose commits carry only the changes).
#pragma once

#include <memory>
#include <string>

#include "checkpoint/store.hpp"

namespace checkpoint::detail {

// A version 1 store served as a Store. It keeps every state (SnapshotStore)
// to hand the whole set to StateStore::commit(). Opened for reading, it
// only loads. `label` names it in messages.
std::unique_ptr<Store> from_legacy(std::unique_ptr<StateStore> store, OpenMode mode,
                                   std::string label);

// A Store served as a version 1 StateStore, for open_store(): a Commit's
// upserted and removed names are looked up in Commit::states (which
// decides: a name in both lists ends as the states say).
std::unique_ptr<StateStore> to_legacy(std::unique_ptr<Store> store);

}  // namespace checkpoint::detail
