// What the front end remembers between two commits: each name changed
// since the commit side last took the changes, and whether it was removed
// (see checkpoint.cpp, which keeps one change set per shard). The value of
// a change is its slot's: the commit reads it there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "checkpoint/state.hpp"
#include "core/chunked_vector.hpp"

namespace checkpoint::detail {

struct Slot;

// One name's change: an upsert, whose value is that of `slot` (read under
// its lock), or a removal, which has no slot.
struct Change {
  std::string name;
  bool removed = false;
  Slot* slot = nullptr;
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
  ChunkedVector<Change, 64> entries;
  std::size_t size = 0;
  // Names removed in this set, with their entry: a name persisted again
  // takes its entry back rather than getting a second one.
  std::unordered_map<std::string, Change*, TransparentHash, std::equal_to<>> removed;

  // A new entry for `name`.
  Change& add(std::string_view name) {
    if (size == entries.size()) entries.emplace_back();
    Change& change = entries[size++];
    change.name.assign(name);
    change.slot = nullptr;
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
