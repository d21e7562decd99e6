// Copies of states gathered in runs, each in name order (or sorted once
// gathered), and merged into one StateMap: how states() puts together the
// copies of the shards (see core/state_copies.hpp).
//
// Each copy is made straight into a map node, so a state's strings are
// copied once, while they are in the cache, and the merge moves nodes, not
// strings. The merge is a tournament (a loser tree: log2(runs) comparisons
// a state) on an integer key per state, the 8 bytes of its name that follow
// the prefix every name shares; names are compared whole only when those
// bytes are equal.
//
// A run is gathered whole before the merge (begin_run(), add()), or, when
// its source gives its states in name order, copied a few states at a time
// as the merge needs them (begin_stream()): each node is then linked into
// the map while it is still in the cache, where a run gathered whole has
// left it long before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

// How many bytes `a` and `b` begin with alike.
std::size_t common_prefix(std::string_view a, std::string_view b);

class StateRuns {
 public:
  // The states of a streamed run, in name order.
  class Source {
   public:
    virtual ~Source() = default;
    // Hands at most `limit` of its next states to runs.add(); whether any
    // are left.
    virtual bool copy(StateRuns& runs, std::size_t limit) = 0;
  };

  // Starts the next run, gathered whole; `capacity` is how many states it
  // will likely get.
  void begin_run(std::size_t capacity);

  // Appends a copy of `state` to the current run (gathered whole, or the
  // streamed one merge() is asking for more).
  void add(const EventLogState& state);

  // Starts the next run, streamed from `source` during merge(), whose
  // names all begin with `prefix`. A name it gives that does not, or that
  // does not come after the one it gave before (the source changed
  // meanwhile), is placed by a plain map insert instead of the tournament.
  void begin_stream(Source& source, std::string_view prefix);

  // Every run merged, in name order. A name that comes more than once keeps
  // its first copy, in the runs' order (one placed by a plain insert loses
  // to one already there). Leaves the runs empty.
  StateMap merge();

  // How many names the last merge() placed by a plain insert (see
  // begin_stream()).
  std::size_t placed_by_search() const { return placed_by_search_; }

 private:
  using Node = StateMap::node_type;
  struct Entry {
    Node node;
    std::uint64_t key;  // of the name's bytes after the prefix known when it was added
  };
  struct Run {
    std::vector<Entry> entries;
    std::size_t next = 0;      // the first entry not merged yet
    bool sorted = true;        // gathered whole: its entries are in name order
    Source* source = nullptr;  // streamed: where more entries come from
    bool source_done = false;
    std::string last;  // streamed: the last name of the entries merged before these
  };

  // Shortens the shared prefix to `name`'s share of it.
  void share_prefix(std::string_view name);
  // Whether `name` begins with the shared prefix.
  bool shares_prefix(std::string_view name) const {
    return name.compare(0, prefix_, first_, 0, prefix_) == 0;
  }
  // Refills a streamed run's entries once they are all merged; false if it
  // has none left.
  bool refill(Run& run);
  // Merges `runs`, each in name order with an entry to merge, into `out`.
  void tournament(const std::vector<Run*>& runs, StateMap& out);

  std::vector<Run> runs_;
  Run* current_ = nullptr;  // where add() appends
  bool merging_ = false;    // streamed runs are being refilled: the prefix is fixed
  std::vector<Node> strays_;
  std::size_t placed_by_search_ = 0;
  StateMap scratch_;   // makes the nodes
  bool any_ = false;   // a name was seen
  std::string first_;  // the first name seen
  // The length of the prefix every name seen shares, and the run and entry
  // added when it last got shorter: the keys of the entries before that
  // were taken after a longer prefix.
  std::size_t prefix_ = 0;
  std::size_t stale_runs_ = 0, stale_entries_ = 0;
};

}  // namespace checkpoint::detail
