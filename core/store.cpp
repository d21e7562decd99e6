// What every Store gets without writing it: load(), and the default check()
// and salvage() of the contract (checkpoint/store.hpp).
#include "checkpoint/store.hpp"

#include "checkpoint/error.hpp"
#include "core/scan_check.hpp"

namespace checkpoint {

PersistedState Store::load() {
  PersistedState out;
  out.update_time = scan([&](EventLogState&& state) { out.states.push_back(std::move(state)); });
  return out;
}

// What salvage() could read, with each state held to the contract.
CheckReport Store::check() {
  Salvage read = salvage();
  CheckReport report;
  report.update_time = read.readable.update_time;
  detail::ScanCheck order("the store");
  for (const auto& state : read.readable.states) {
    if (auto problem = order.problem(state)) {
      report.problems.push_back(*problem);
    } else {
      report.states++;
    }
  }
  for (const auto& damage : read.damage) {
    report.problems.push_back(damage.where.empty() ? damage.what
                                                   : damage.where + ": " + damage.what);
  }
  return report;
}

void Store::compact() {}

Salvage Store::salvage() {
  Salvage out;
  try {
    out.readable = load();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::corrupt) throw;
    out.readable = {};
    const ErrorDetails& details = e.details();
    Damage damage;
    if (details.line) damage.where = "line " + std::to_string(*details.line);
    damage.what = details.reason.empty() ? e.what() : details.reason;
    out.damage.push_back(std::move(damage));
  }
  return out;
}

}  // namespace checkpoint
