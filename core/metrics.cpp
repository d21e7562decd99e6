#include "checkpoint/metrics.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <set>
#include <string_view>

#include "checkpoint/error.hpp"
#include "core/utf8.hpp"

namespace checkpoint {
namespace {

bool valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// The label set, "{a=\"x\",b=\"y\"}", or "" without labels.
std::string label_set(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::set<std::string_view> seen;
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    const std::string where = "prometheus_text(): label \"" + name + "\"";
    if (!valid_label_name(name)) {
      throw Error(ErrorCode::invalid_argument,
                  where + " is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    }
    if (name.starts_with("__")) {
      throw Error(ErrorCode::invalid_argument,
                  where + ": names starting with \"__\" are reserved by Prometheus");
    }
    if (!seen.insert(name).second) throw Error(ErrorCode::invalid_argument, where + " given twice");
    if (!detail::is_valid_utf8(value)) {
      throw Error(ErrorCode::invalid_argument, where + ": the value is not valid UTF-8");
    }
    if (out.size() > 1) out += ',';
    out += name;
    out += "=\"";
    for (char c : value) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string number(std::uint64_t value) { return std::to_string(value); }

// Seconds, as the shortest decimal that reads back to the same double.
std::string seconds(std::chrono::nanoseconds value) {
  const double s = static_cast<double>(value.count()) / 1e9;
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, s);
  return std::string(buf, end);
}

std::string unix_seconds(const Timestamp& t) {
  if (t.is_zero()) return "0";
  return seconds(std::chrono::seconds(t.unix_seconds()) + std::chrono::nanoseconds(t.nanos()));
}

}  // namespace

std::string prometheus_text(const Stats& stats, const MetricLabels& labels) {
  const std::string set = label_set(labels);
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help,
                    const std::string& value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += set;
    out += ' ';
    out += value;
    out += '\n';
  };
  metric("checkpoint_commits_total", "counter", "Successful store commits.", number(stats.commits));
  metric("checkpoint_failed_commits_total", "counter", "Failed store commits.",
         number(stats.failed_commits));
  metric("checkpoint_last_commit_failed", "gauge", "1 while the last store commit failed, else 0.",
         stats.last_error.empty() ? "0" : "1");
  metric("checkpoint_states", "gauge", "States (streams) held.", number(stats.states));
  metric("checkpoint_pending_changes", "gauge", "Changed names not committed yet.",
         number(stats.pending));
  metric("checkpoint_in_flight_records", "gauge", "Records tracked and not acknowledged yet.",
         number(stats.in_flight));
  metric("checkpoint_acked_waiting_records", "gauge",
         "Acknowledged records held back by an earlier record of their stream.",
         number(stats.acked_waiting));
  metric("checkpoint_expired_states_total", "counter",
         "States removed by Options::expire_after since the start.", number(stats.expired));
  metric("checkpoint_last_commit_duration_seconds", "gauge",
         "Duration of the last store commit, failed or not.", seconds(stats.last_commit_duration));
  metric("checkpoint_max_commit_duration_seconds", "gauge",
         "Duration of the longest store commit since the start.",
         seconds(stats.max_commit_duration));
  metric("checkpoint_last_commit_timestamp_seconds", "gauge",
         "Unix time of the last successful store commit (0 before the first).",
         unix_seconds(stats.last_commit_time));
  metric("checkpoint_oldest_change_age_seconds", "gauge",
         "Age of the oldest change not committed yet (0 if none is pending).",
         seconds(stats.oldest_change_age));
  metric("checkpoint_corrupt_recovered", "gauge",
         "1 if the store was damaged at opening and moved aside (Options::on_corrupt), else 0.",
         stats.corrupt_recovery.empty() ? "0" : "1");
  metric("checkpoint_corrupt_salvaged_states", "gauge",
         "States salvaged from the damaged store moved aside at opening.",
         number(stats.corrupt_salvaged));
  metric("checkpoint_corrupt_lost_items", "gauge",
         "What could not be read from the damaged store moved aside at opening.",
         number(stats.corrupt_lost));
  return out;
}

}  // namespace checkpoint
