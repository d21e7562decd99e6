#include "core/state_runs.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <string_view>
#include <utility>

namespace checkpoint::detail {
namespace {

// The 8 bytes of `name` from `offset` on, as a big-endian number (missing
// bytes count as zero): names whose keys differ compare as their keys do.
std::uint64_t key_of(std::string_view name, std::size_t offset) {
  std::uint64_t key = 0;
  for (std::size_t i = offset; i < offset + 8; ++i) {
    key = key << 8 | (i < name.size() ? static_cast<unsigned char>(name[i]) : 0u);
  }
  return key;
}

std::size_t common_prefix(std::string_view a, std::string_view b) {
  const auto [end_a, end_b] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<std::size_t>(end_a - a.begin());
}

}  // namespace

void StateRuns::begin_run(std::size_t capacity) { runs_.emplace_back().entries.reserve(capacity); }

void StateRuns::add(const EventLogState& state) {
  Run& run = runs_.back();
  Node node = scratch_.extract(scratch_.emplace_hint(scratch_.end(), state.name, state));
  const std::string& name = node.key();
  if (run.sorted && !run.entries.empty() && !(run.entries.back().node.key() < name)) {
    run.sorted = false;
  }
  if (!any_) {
    any_ = true;
    first_ = name;
    prefix_ = name.size();
  } else if (name.compare(0, prefix_, first_, 0, prefix_) != 0) {
    prefix_ = common_prefix(std::string_view(first_).substr(0, prefix_), name);
    stale_runs_ = runs_.size() - 1;
    stale_entries_ = run.entries.size();
  }
  const std::uint64_t key = key_of(name, prefix_);
  run.entries.push_back(Entry{std::move(node), key});
}

StateMap StateRuns::merge() {
  // The keys taken after a longer prefix, taken again after the shortest.
  for (std::size_t r = 0; r <= stale_runs_ && r < runs_.size(); ++r) {
    auto& entries = runs_[r].entries;
    const std::size_t end = r < stale_runs_ ? entries.size() : stale_entries_;
    for (std::size_t i = 0; i < end; ++i) entries[i].key = key_of(entries[i].node.key(), prefix_);
  }
  // Runs with states, each sorted.
  std::vector<std::vector<Entry>> runs;
  for (Run& run : runs_) {
    if (run.entries.empty()) continue;
    if (!run.sorted) {
      std::stable_sort(run.entries.begin(), run.entries.end(),
                       [](const Entry& a, const Entry& b) { return a.node.key() < b.node.key(); });
    }
    runs.push_back(std::move(run.entries));
  }
  runs_.clear();
  any_ = false;
  stale_runs_ = stale_entries_ = 0;
  StateMap out;
  if (runs.empty()) return out;

  // The tournament: run r is leaf k + r of a complete binary tree whose
  // inner node j (1 <= j < k) keeps the loser of the match played there.
  const std::size_t k = runs.size();
  std::vector<std::size_t> next(k, 0);  // each run's head
  // Whether run a's head comes before run b's; a finished run comes last.
  auto before = [&](std::size_t a, std::size_t b) {
    if (next[a] == runs[a].size()) return false;
    if (next[b] == runs[b].size()) return true;
    const Entry& x = runs[a][next[a]];
    const Entry& y = runs[b][next[b]];
    if (x.key != y.key) return x.key < y.key;
    return x.node.key() < y.node.key();
  };
  std::vector<std::size_t> loser(k), winner(2 * k);
  for (std::size_t r = 0; r < k; ++r) winner[k + r] = r;
  for (std::size_t j = k - 1; j >= 1; --j) {
    std::size_t a = winner[2 * j], b = winner[2 * j + 1];
    if (before(b, a)) std::swap(a, b);
    winner[j] = a;
    loser[j] = b;
  }
  std::size_t first = k == 1 ? 0 : winner[1];
  while (next[first] < runs[first].size()) {
    // A name removed and added again while the runs were gathered may come
    // twice: the insert then leaves the second copy in its handle.
    std::vector<Entry>& run = runs[first];
    [[maybe_unused]] const auto at = out.insert(out.end(), std::move(run[next[first]].node));
    assert(std::next(at) == out.end() && "the tournament gives the names in order");
    // The next states of this run are in memory nobody touched for a
    // while: ask for the name of the next and the node of the one after.
    if (const std::size_t i = ++next[first]; i < run.size()) {
      __builtin_prefetch(run[i].node.key().data());
      if (i + 1 < run.size()) __builtin_prefetch(&run[i + 1].node.key());
    }
    for (std::size_t j = (k + first) / 2; j >= 1; j /= 2) {
      if (before(loser[j], first)) std::swap(loser[j], first);
    }
  }
  return out;
}

}  // namespace checkpoint::detail
