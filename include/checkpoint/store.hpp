// The backend contract. A StateStore holds one set of states durably.
//
// A store is used by one thread at a time (the Checkpoint front end
// serialises calls); it need not be thread-safe. The conformance suite
// (checkpoint/conformance.hpp) is the executable definition of this contract.
#pragma once

#include <string>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint {

// What one commit must make durable. The references are valid only during
// the call to StateStore::commit().
struct Commit {
  Timestamp update_time;
  const StateMap& states;  // every state after this commit
  const std::vector<std::string>&
      upserted;  // names added or changed since the last successful commit
  const std::vector<std::string>& removed;  // names removed since the last successful commit
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Everything committed so far. Nothing stored yet: an empty PersistedState
  // (zero update_time, no states), not an error. Unreadable data:
  // Error{corrupt} naming the store and what is wrong.
  virtual PersistedState load() = 0;

  // Make commit.states durable, atomically: after a crash, load() returns
  // either this commit or the previous one, never a mix. Returns only when
  // the data is on stable storage (unless the user chose an unsafe option).
  // A store may write only `upserted` and `removed`, or rewrite everything
  // from `states`; both must give the same load(). On failure throws Error
  // (usually Error{io}) and the previous commit stays intact.
  virtual void commit(const Commit& commit) = 0;
};

}  // namespace checkpoint
