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

constexpr std::size_t kStreamBatch = 16;  // states a streamed run copies at a time

}  // namespace

std::size_t common_prefix(std::string_view a, std::string_view b) {
  const auto [end_a, end_b] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<std::size_t>(end_a - a.begin());
}

void StateRuns::begin_run(std::size_t capacity) {
  current_ = &runs_.emplace_back();
  current_->entries.reserve(capacity);
}

void StateRuns::begin_stream(Source& source, std::string_view prefix) {
  current_ = &runs_.emplace_back();
  current_->source = &source;
  current_->entries.reserve(kStreamBatch);
  share_prefix(prefix);
}

void StateRuns::share_prefix(std::string_view name) {
  if (!any_) {
    any_ = true;
    first_ = name;
    prefix_ = name.size();
  } else if (!shares_prefix(name)) {
    prefix_ = common_prefix(std::string_view(first_).substr(0, prefix_), name);
    stale_runs_ = runs_.size() - 1;
    stale_entries_ = runs_.back().entries.size();
  }
}

void StateRuns::add(const EventLogState& state) {
  Run& run = *current_;
  Node node = scratch_.extract(scratch_.emplace_hint(scratch_.end(), state.name, state));
  const std::string& name = node.key();
  if (merging_) {
    // A streamed run's next name: after the one before it, and within the
    // shared prefix, or out of the tournament.
    const std::string& before = run.entries.empty() ? run.last : run.entries.back().node.key();
    if (!shares_prefix(name) || (!(run.entries.empty() && run.last.empty()) && !(before < name))) {
      strays_.push_back(std::move(node));
      return;
    }
  } else {
    if (run.sorted && !run.entries.empty() && !(run.entries.back().node.key() < name)) {
      run.sorted = false;
    }
    share_prefix(name);
  }
  const std::uint64_t key = key_of(name, prefix_);
  run.entries.push_back(Entry{std::move(node), key});
}

bool StateRuns::refill(Run& run) {
  if (run.source == nullptr) return false;
  run.entries.clear();
  run.next = 0;
  current_ = &run;
  while (run.entries.empty() && !run.source_done) {
    run.source_done = !run.source->copy(*this, kStreamBatch);
  }
  return !run.entries.empty();
}

StateMap StateRuns::merge() {
  // The keys taken after a longer prefix, taken again after the shortest.
  for (std::size_t r = 0; r <= stale_runs_ && r < runs_.size(); ++r) {
    auto& entries = runs_[r].entries;
    const std::size_t end = r < stale_runs_ ? entries.size() : stale_entries_;
    for (std::size_t i = 0; i < end; ++i) entries[i].key = key_of(entries[i].node.key(), prefix_);
  }
  // Runs gathered whole, each sorted; streamed runs with their first
  // entries.
  merging_ = true;
  std::vector<Run*> runs;
  for (Run& run : runs_) {
    if (run.source != nullptr) {
      if (!refill(run)) continue;
    } else if (run.entries.empty()) {
      continue;
    } else if (!run.sorted) {
      std::stable_sort(run.entries.begin(), run.entries.end(), [](const Entry& a, const Entry& b) {
        return a.key != b.key ? a.key < b.key : a.node.key() < b.node.key();
      });
    }
    runs.push_back(&run);
  }
  StateMap out;
  if (!runs.empty()) tournament(runs, out);
  // Names out of their streamed run's order: placed by a search.
  for (Node& node : strays_) out.insert(std::move(node));
  placed_by_search_ = strays_.size();
  runs_.clear();
  strays_.clear();
  current_ = nullptr;
  merging_ = any_ = false;
  stale_runs_ = stale_entries_ = 0;
  return out;
}

void StateRuns::tournament(const std::vector<Run*>& runs, StateMap& out) {
  // Run r is leaf k + r of a complete binary tree whose inner node j
  // (1 <= j < k) keeps the loser of the match played there. Each run's
  // head key is kept in one array, where the matches read it.
  const std::size_t k = runs.size();
  constexpr std::uint64_t kFinished = ~std::uint64_t{0};
  std::vector<std::uint64_t> head(k);
  auto take_head = [&](std::size_t r) {
    const Run& run = *runs[r];
    head[r] = run.next < run.entries.size() ? run.entries[run.next].key : kFinished;
  };
  for (std::size_t r = 0; r < k; ++r) take_head(r);
  // Whether run a's head comes before run b's; a finished run comes last,
  // and of two equal names, the one of the earlier run first.
  auto before = [&](std::size_t a, std::size_t b) {
    if (head[a] != head[b]) return head[a] < head[b];
    const Run& x = *runs[a];
    const Run& y = *runs[b];
    if (x.next == x.entries.size()) return false;
    if (y.next == y.entries.size()) return true;
    const int order = x.entries[x.next].node.key().compare(y.entries[y.next].node.key());
    return order != 0 ? order < 0 : a < b;
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
  while (runs[first]->next < runs[first]->entries.size()) {
    Run& run = *runs[first];
    // A streamed run's next name must come after its last one.
    if (run.source != nullptr && run.next + 1 == run.entries.size()) {
      run.last = run.entries[run.next].node.key();
    }
    // A name removed and added again while the runs were gathered may come
    // twice: the insert then leaves the second copy in its handle.
    [[maybe_unused]] const auto at = out.insert(out.end(), std::move(run.entries[run.next].node));
    assert(std::next(at) == out.end() && "the tournament gives the names in order");
    if (const std::size_t i = ++run.next; i < run.entries.size()) {
      // The next states of a run gathered whole are in memory nobody
      // touched for a while: ask for the name of the next and the node of
      // the one after.
      __builtin_prefetch(run.entries[i].node.key().data());
      if (i + 1 < run.entries.size()) __builtin_prefetch(&run.entries[i + 1].node.key());
    } else {
      refill(run);
    }
    take_head(first);
    for (std::size_t j = (k + first) / 2; j >= 1; j /= 2) {
      if (before(loser[j], first)) std::swap(loser[j], first);
    }
  }
}

}  // namespace checkpoint::detail
