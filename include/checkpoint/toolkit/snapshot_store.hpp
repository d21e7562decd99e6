// SnapshotStore: the adapter for stores that write every state at each
// commit (a whole-file format, a legacy StateStore), so that they need not
// keep the states themselves while the front end hands them only changes.
//
// A subclass says how to read everything (read()) and how to write
// everything (write()). SnapshotStore keeps the states of a store opened
// for writing in memory, applies each commit's changes to them and passes
// the whole set to write(); if write() fails, the changes are taken back, so
// the kept states always match what the store holds. The states are read
// at the first scan() or commit(); a writer must hold its lock by then (take
// it in the constructor), so that what it read is what it overwrites.
#pragma once

#include "checkpoint/export.h"
#include "checkpoint/store.hpp"

namespace checkpoint::toolkit {

class CHECKPOINT_API SnapshotStore : public Store {
 public:
  // `label` names the store in messages: "yaml store /var/lib/x.yml".
  SnapshotStore(OpenMode mode, std::string label);

  // read(), in name order. A store opened for writing keeps what it read.
  Timestamp scan(const StateSink& sink) override;
  // Applies `changes` to the kept states and write()s them all.
  void commit(const Changes& changes) override;

 protected:
  // REQUIRED. Everything the store holds, states sorted by name with
  // unique names (else Error{corrupt}). Nothing stored: empty.
  virtual PersistedState read() = 0;
  // REQUIRED for writers. Makes `states`, every state after this commit,
  // durable atomically, as Store::commit() requires. `changes` says what
  // changed since the last successful write(), for stores that can use it.
  virtual void write(Timestamp update_time, const StateMap& states, const Changes& changes) = 0;

  OpenMode mode() const { return mode_; }
  const std::string& label() const { return label_; }

 private:
  void keep(PersistedState&& loaded);

  OpenMode mode_;
  std::string label_;
  bool kept_ = false;  // states_ holds what the store holds
  StateMap states_;
};

}  // namespace checkpoint::toolkit
