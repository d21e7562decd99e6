#include "core/salvage.hpp"

#include <algorithm>

#include "checkpoint/error.hpp"

namespace checkpoint::detail {
namespace {

constexpr std::string_view kLabel = "salvage";

// What the parser found wrong, without its label or a line number within
// the one-state document (the collector names the file's line).
std::string reason(const Error& e) {
  if (!e.details().reason.empty()) return e.details().reason;
  std::string what = e.what();
  if (what.starts_with(std::string(kLabel) + ": ")) what.erase(0, kLabel.size() + 2);
  return what;
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
      damage_.emplace_back(
          offset, Damage{where(offset), "repeats an earlier state; kept the first", state.name});
      return;
    }
    result_.readable.states.push_back(std::move(state));
  } catch (const Error& e) {
    problem(offset, reason(e));
  }
}

void SalvageCollector::update_time(const std::string& document, std::size_t offset) {
  try {
    result_.readable.update_time = parse_(document, kLabel).update_time;
  } catch (const Error& e) {
    problem(offset, "update_time: " + reason(e));
  }
}

void SalvageCollector::problem(std::size_t offset, const std::string& what) {
  damage_.emplace_back(offset, Damage{where(offset), what, ""});
}

Salvage SalvageCollector::finish() {
  // Damage between states (in the header, say) reaches no state: the strict
  // parser on the whole text tells of it.
  if (damage_.empty()) {
    try {
      parse_(text_, kLabel);
    } catch (const Error& e) {
      Damage damage{"", "the document: " + reason(e), ""};
      if (e.details().line) damage.where = "line " + std::to_string(*e.details().line);
      damage_.emplace_back(SIZE_MAX, std::move(damage));
    }
  }
  std::stable_sort(damage_.begin(), damage_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, damage] : damage_) result_.damage.push_back(std::move(damage));
  std::sort(result_.readable.states.begin(), result_.readable.states.end(),
            [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; });
  return std::move(result_);
}

}  // namespace checkpoint::detail
