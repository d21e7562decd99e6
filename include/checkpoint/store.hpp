// The backend contract. A Store holds one set of states durably.
//
// A store is opened for reading or for writing (Store::open(), or a backend's
// factory, see registry.hpp):
//
// - Reading never creates, modifies, locks or changes a setting of anything,
//   and works on a read-only file system. A store that does not exist is
//   Error{not_found} naming it. Readers may load while a writer runs.
// - Writing takes the store's writer lock first, then reads what it needs:
//   what a writer loads is what it will overwrite, since no other writer can
//   commit in between. A second writer, in this process or another, is
//   Error{locked} naming the store. A missing store is made when
//   OpenOptions::create_if_missing is set (the default), and is
//   Error{not_found} otherwise.
//
// A commit carries only the changes: the states added or changed and the
// names removed, never the whole set. A store that rewrites everything (a
// whole-file format) keeps the states itself; checkpoint/toolkit/
// whole_file_store.hpp does that for any document format.
//
// A store is used by one thread at a time (the Checkpoint front end
// serialises its calls); it need not be thread-safe. The conformance suite
// (checkpoint/conformance.hpp) is the executable definition of this
// contract. The version 1 contract (StateStore, whose commits carried every
// state) still works through an adapter: see legacy_store.hpp.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/export.h"
#include "checkpoint/state.hpp"

namespace checkpoint {

enum class OpenMode { read, write };

struct OpenOptions {
  OpenMode mode = OpenMode::write;
  // Writers only: make the store if it does not exist (with its directory),
  // as Winlogbeat creates its file. Off: a missing store is Error{not_found}.
  bool create_if_missing = true;
};

// What one commit changes. The spans are valid only during the call to
// Store::commit().
struct Changes {
  Timestamp update_time;                    // the store's update_time after this commit
  std::span<const EventLogState> upserted;  // added or changed; sorted by name, names unique
  std::span<const std::string> removed;     // sorted, unique, none of them in `upserted`;
                                            // a name the store never held is not an error
};

// Receives the states a store reads, one at a time, in name order. It may
// move from the state it is given.
using StateSink = std::function<void(EventLogState&& state)>;

// What Store::check() found.
struct CheckReport {
  std::size_t states = 0;             // states that read back exactly
  Timestamp update_time;              // zero if it could not be read
  std::vector<std::string> problems;  // one line per problem; empty: intact
  bool ok() const { return problems.empty(); }
};

// One thing that Store::salvage() could not read.
struct Damage {
  std::string where;  // where in the store: "line 12", "table states, row 7", "page 31"
  std::string what;   // what is wrong there
  std::string name;   // the state's name, where it could still be read; empty otherwise
};

// What Store::salvage() could read.
struct Salvage {
  PersistedState readable;     // every state that reads back exactly; update_time zero if lost
  std::vector<Damage> damage;  // what could not be read; empty: nothing was lost
};

class CHECKPOINT_API Store {
 public:
  virtual ~Store() = default;

  // Opens the store a config string names (see registry.hpp): checks the
  // scheme and options against the registry, then calls the backend.
  // Unknown scheme or option: Error{invalid_config} listing what is known.
  static std::unique_ptr<Store> open(std::string_view uri, OpenOptions options = {});

  // REQUIRED. Calls `sink` with every committed state, in name order with
  // unique, non-empty names, and returns the update_time of the last commit.
  // Nothing stored yet: no call, and a zero update_time. Unreadable data:
  // Error{corrupt} naming the store and what is wrong (never another
  // exception type, never a different value); a newer format version:
  // Error{unsupported}. What `sink` throws passes through.
  virtual Timestamp scan(const StateSink& sink) = 0;

  // REQUIRED for stores opened for writing. Makes `changes` durable,
  // atomically: after a crash or power cut, a load gives either this commit
  // or the previous one, never a mix. Returns only when the data is on
  // stable storage (unless the user chose an unsafe option such as
  // sync=off). On failure throws Error (usually Error{io}) and the previous
  // commit stays intact; a value the store cannot hold is an Error, never a
  // quiet change. On a store opened for reading: Error{invalid_argument}.
  virtual void commit(const Changes& changes) = 0;

  // Deep verification, what `checkpointctl verify` prints. A store may check
  // more than salvage() reads (SQLite's integrity check of its pages).
  // Damage is reported in the result, not thrown; other failures (Error{io},
  // Error{unsupported}) are thrown. By default: what salvage() could not
  // read, and each state it read held to the contract (name order, unique
  // UTF-8 names).
  virtual CheckReport check();

  // Every state that can still be read exactly, and what could not, for
  // `checkpointctl salvage`. Never throws Error{corrupt}. By default: all of
  // scan(), or nothing with one Damage when scan() throws Error{corrupt}.
  virtual Salvage salvage();

  // OPTIONAL, for `checkpointctl compact`; on a store opened for writing.
  // Rewrites the store to its minimal size, crash-safely: after a crash or
  // power cut at any point, a load gives the same states. By default
  // nothing: a store that rewrites itself whole at every commit (yaml,
  // json) is minimal already. The file backends refuse it on a store opened
  // for reading: Error{invalid_argument}.
  virtual void compact();

  // scan() collected into a PersistedState.
  PersistedState load();
};

}  // namespace checkpoint

#include "checkpoint/legacy_store.hpp"
