// What every state a store reads must be: a non-empty name in UTF-8, in
// name order after the previous one, and a UTF-8 bookmark. The front end and
// Store's default check() hold each scanned state to it, so that a backend
// that breaks the contract is caught where it does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

class ScanCheck {
 public:
  // `store` names the store in the problems it reports.
  explicit ScanCheck(std::string store) : store_(std::move(store)) {}

  // Why `state`, read after the states seen so far, breaks the contract; or
  // nullopt if it does not. Remembers its name for the next one.
  std::optional<std::string> problem(const EventLogState& state);

  std::size_t count() const { return count_; }

 private:
  std::string store_;
  std::string previous_;
  std::size_t count_ = 0;
};

}  // namespace checkpoint::detail
