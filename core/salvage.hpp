// Salvage: reading what can still be read from a damaged whole-file store.
//
// A damaged store is refused by load() with Error{corrupt}; that is the
// default, since a silently shortened state would make a shipper re-read or
// skip data. Salvage is the operator's explicit choice (checkpointctl
// salvage): a format cuts its damaged document into the pieces that each
// held one state, and this collector reads each piece on its own with the
// format's strict parser, keeping those that read back and reporting the
// rest.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

struct Salvaged {
  PersistedState state;               // what could be read; update_time zero if unreadable
  std::vector<std::string> problems;  // one line for each thing that could not be read
};

class SalvageCollector {
 public:
  // A format's strict document parser (text, store label).
  using Parse = PersistedState (*)(std::string_view, std::string_view);

  SalvageCollector(std::string_view text, Parse parse) : text_(text), parse_(parse) {}

  // `document` is a whole one-state document built around the piece of the
  // text that starts at `offset`. Keeps the first of repeated names.
  void state(const std::string& document, std::size_t offset);
  // `document` holds the update_time found at `offset`.
  void update_time(const std::string& document, std::size_t offset);
  void problem(std::size_t offset, const std::string& what);
  // A problem with no place in the text is listed last.
  void problem(const std::string& what) { problems_.emplace_back(SIZE_MAX, what); }

  Salvaged finish();

 private:
  std::string where(std::size_t offset) const;

  std::string_view text_;
  Parse parse_;
  std::set<std::string> seen_;
  std::vector<std::pair<std::size_t, std::string>> problems_;  // by offset
  Salvaged result_;
};

}  // namespace checkpoint::detail
