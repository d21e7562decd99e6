// What the front end remembers between two commits: for each name changed
// since the commit side last took the changes, its latest value or its
// removal (see checkpoint.cpp, which keeps one change set per shard).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "checkpoint/state.hpp"
#include "core/chunked_vector.hpp"

namespace checkpoint::detail {

// One name's change: its latest value, or its removal.
struct Change {
  EventLogState state;  // state.name is always set
  bool removed = false;
};

struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// The changes since the commit side last took them, one entry per name.
// Entries from `size` on are spare: they keep their string buffers, so once
// the set has grown to its working size, updates allocate nothing. Entries
// never move, so a growing set never makes persist() copy it.
struct ChangeSet {
  ChunkedVector<Change> entries;
  std::size_t size = 0;
  // Names removed in this set, with their entry: a name persisted again
  // takes its entry back rather than getting a second one.
  std::unordered_map<std::string, std::uint32_t, TransparentHash, std::equal_to<>> removed;

  // A new entry for `name`; its index is stored in `index`.
  Change& add(std::string_view name, std::uint32_t& index) {
    if (size == entries.size()) entries.emplace_back();
    index = static_cast<std::uint32_t>(size++);
    Change& change = entries[index];
    change.state.name.assign(name);
    return change;
  }

  void swap(ChangeSet& other) noexcept {  // O(1)
    entries.swap(other.entries);
    std::swap(size, other.size);
    removed.swap(other.removed);
  }

  void clear() {  // keeps the spare entries
    size = 0;
    removed.clear();
  }
};

}  // namespace checkpoint::detail
