// DEPRECATED: the version 1 backend contract, kept so that backends written
// against it keep compiling and working. Write new backends against Store
// (store.hpp); port old ones when convenient (docs/writing-a-backend.md).
//
// A StateStore's commit() receives every state, so the adapter that serves
// it keeps a copy of all of them, and its lock is taken when the store
// itself takes it (usually at the first commit, after the load): the
// guarantees of a version 2 store (lock before load, no second copy, read
// mode, check, salvage) are not available through it. A StateStore
// registered with register_backend() is opened through that adapter: for
// reading, its load() is called; for writing, its load() and commit().
//
// open_store(uri) keeps its version 1 signature: it opens any store for
// writing (taking the lock at once, for a version 2 backend) and serves it
// as a StateStore.
#pragma once

#include <string>
#include <vector>

#include "checkpoint/export.h"
#include "checkpoint/state.hpp"

namespace checkpoint {

// What one version 1 commit must make durable. The references are valid
// only during the call to StateStore::commit().
struct Commit {
  Timestamp update_time;
  const StateMap& states;                    // every state after this commit
  const std::vector<std::string>& upserted;  // added or changed since the last successful commit
  const std::vector<std::string>& removed;   // removed since the last successful commit
};

class CHECKPOINT_API StateStore {
 public:
  virtual ~StateStore() = default;
  // Everything committed so far, sorted by name. Nothing stored yet: an
  // empty PersistedState, not an error. Unreadable data: Error{corrupt}.
  virtual PersistedState load() = 0;
  // Makes commit.states durable, atomically; see Store::commit().
  virtual void commit(const Commit& commit) = 0;
};

}  // namespace checkpoint
