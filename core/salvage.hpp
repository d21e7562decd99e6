// Salvage of the whole-file formats: reading what can still be read from a
// damaged document.
//
// A damaged store is refused by a load with Error{corrupt}; that is the
// default, since a silently shortened state would make a shipper re-read or
// skip data. Salvage is the operator's explicit choice (Store::salvage(),
// checkpointctl salvage): a format cuts its damaged document into the
// pieces that each held one state, and this collector reads each piece on
// its own with the format's strict parser, keeping those that read back
// and reporting the rest.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checkpoint/store.hpp"

namespace checkpoint::detail {

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
  void problem(const std::string& what) { damage_.emplace_back(SIZE_MAX, Damage{"", what, ""}); }

  Salvage finish();

 private:
  std::string where(std::size_t offset) const;

  std::string_view text_;
  Parse parse_;
  std::set<std::string> seen_;
  std::vector<std::pair<std::size_t, Damage>> damage_;  // by offset
  Salvage result_;
};

}  // namespace checkpoint::detail
