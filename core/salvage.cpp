#include "core/salvage.hpp"

#include <algorithm>
#include <regex>

#include "checkpoint/error.hpp"

namespace checkpoint::detail {
namespace {

constexpr std::string_view kLabel = "salvage";

// The parser's message without the label it puts first, nor a line number
// within the one-state document (the collector names the file's line).
std::string reason(const Error& e) {
  std::string what = e.what();
  if (what.starts_with(std::string(kLabel) + ": ")) what.erase(0, kLabel.size() + 2);
  if (what.starts_with("line ")) {
    auto colon = what.find(": ");
    if (colon != std::string::npos) what.erase(0, colon + 2);
  }
  return std::regex_replace(what, std::regex(" at offset [0-9]+"), "");
}

}  // namespace

std::string SalvageCollector::where(std::size_t offset) const {
  auto end = text_.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text_.size()));
  return "line " + std::to_string(1 + std::count(text_.begin(), end, '\n'));
}

void SalvageCollector::state(const std::string& document, std::size_t offset) {
  try {
    PersistedState one = parse_(document, kLabel);
    if (one.states.size() != 1) {
      problem(offset, "not one state");
      return;
    }
    EventLogState& state = one.states.front();
    if (!seen_.insert(state.name).second) {
      problem(offset, "\"" + state.name + "\" repeats an earlier state; kept the first");
      return;
    }
    result_.state.states.push_back(std::move(state));
  } catch (const Error& e) {
    problem(offset, reason(e));
  }
}

void SalvageCollector::update_time(const std::string& document, std::size_t offset) {
  try {
    result_.state.update_time = parse_(document, kLabel).update_time;
  } catch (const Error& e) {
    problem(offset, "update_time: " + reason(e));
  }
}

void SalvageCollector::problem(std::size_t offset, const std::string& what) {
  problems_.emplace_back(offset, where(offset) + ": " + what);
}

Salvaged SalvageCollector::finish() {
  // Damage between states (in the header, say) reaches no state: the strict
  // parser on the whole text tells of it.
  if (problems_.empty()) {
    try {
      parse_(text_, kLabel);
    } catch (const Error& e) {
      problem("the document: " + reason(e));
    }
  }
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, what] : problems_) result_.problems.push_back(std::move(what));
  std::sort(result_.state.states.begin(), result_.state.states.end(),
            [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; });
  return std::move(result_);
}

}  // namespace checkpoint::detail
