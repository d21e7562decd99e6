// Copies of states gathered in runs, each in name order (or sorted once
// gathered), and merged into one StateMap: how states() copies the shards
// (see checkpoint.cpp).
//
// Each copy is made straight into a map node, so a state's strings are
// copied once, while they are in the cache, and the merge moves nodes, not
// strings. The merge is a tournament (a loser tree: log2(runs) comparisons
// a state) on an integer key per state, the 8 bytes of its name that follow
// the prefix every name shares, taken as the state is copied; names are
// compared whole only when those bytes are equal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

class StateRuns {
 public:
  // Starts the next run; `capacity` is how many states it will likely get.
  void begin_run(std::size_t capacity);

  // Appends a copy of `state` to the current run.
  void add(const EventLogState& state);

  // Every run merged, in name order. A name that comes more than once keeps
  // its first copy. Leaves the runs empty.
  StateMap merge();

 private:
  using Node = StateMap::node_type;
  struct Entry {
    Node node;
    std::uint64_t key;  // of the name's bytes after the prefix known when it was added
  };
  struct Run {
    std::vector<Entry> entries;
    bool sorted = true;
  };
  std::vector<Run> runs_;
  StateMap scratch_;   // makes the nodes
  bool any_ = false;   // a state was added
  std::string first_;  // the first name added
  // The length of the prefix every name added shares, and the run and
  // entry added when it last got shorter: the keys of the entries before
  // that were taken after a longer prefix.
  std::size_t prefix_ = 0;
  std::size_t stale_runs_ = 0, stale_entries_ = 0;
};

}  // namespace checkpoint::detail
