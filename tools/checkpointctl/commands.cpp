// The subcommands, written against the installed public headers only: a
// store is opened for reading (dump, get, verify, and the source of convert
// and salvage) or for writing (set, rm, and the destination of convert and
// salvage), and everything else is the backend contract of
// checkpoint/store.hpp.
#include "commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <checkpoint/documents.hpp>
#include <checkpoint/error.hpp>
#include <checkpoint/registry.hpp>
#include <checkpoint/store.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "format.hpp"

namespace checkpointctl {
namespace {

using checkpoint::Changes;
using checkpoint::Error;
using checkpoint::ErrorCode;
using checkpoint::EventLogState;
using checkpoint::OpenMode;
using checkpoint::OpenOptions;
using checkpoint::PersistedState;
using checkpoint::Store;
using checkpoint::Timestamp;

std::unique_ptr<Store> open_for_reading(const std::string& uri) {
  return Store::open(uri, {.mode = OpenMode::read});
}

std::unique_ptr<Store> open_for_writing(const std::string& uri, bool create) {
  return Store::open(uri, {.mode = OpenMode::write, .create_if_missing = create});
}

// A config string as it may be printed: any password in it as "***".
std::string shown(const std::string& uri) {
  try {
    return checkpoint::parse_store_uri(uri).text;
  } catch (const Error&) {
    return "the config string";  // opening it failed first, with a message of its own
  }
}

const EventLogState* find(const std::vector<EventLogState>& states, const std::string& name) {
  auto it = std::lower_bound(
      states.begin(), states.end(), name,
      [](const EventLogState& state, const std::string& n) { return state.name < n; });
  return it != states.end() && it->name == name ? &*it : nullptr;
}

const EventLogState* find(const PersistedState& loaded, const std::string& name) {
  return find(loaded.states, name);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Says that `name` is not in the store, suggesting a name that differs only
// in case ("security" for "Security").
int not_found(const std::string& uri, const std::string& name,
              const std::vector<EventLogState>& states) {
  std::cerr << "checkpointctl: " << escaped(shown(uri), false) << ": no state named \""
            << escaped(name) << "\"";
  const std::string wanted = lower(name);
  for (const auto& state : states) {
    if (lower(state.name) == wanted) {
      std::cerr << "; did you mean \"" << escaped(state.name) << "\"?";
      break;
    }
  }
  std::cerr << "\n";
  return kFailed;
}

// JSON text of `value`, indented; bytes that are not UTF-8 (in messages
// quoting damaged data) replaced by U+FFFD.
std::string json_text(const nlohmann::ordered_json& value) {
  return value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

nlohmann::ordered_json json_of(const EventLogState& state) {
  return {{"name", state.name},
          {"record_number", state.record_number},
          {"timestamp", state.timestamp.to_string()},
          {"bookmark", state.bookmark},
          {"update_time", state.update_time.to_string()}};
}

// Prints progress on stderr for big jobs, only when a person watches it.
class Progress {
 public:
  Progress(std::string what, std::size_t total)
      : what_(std::move(what)), total_(total), shown_(total >= 100'000 && ::isatty(2)) {}
  void step(const char* phase, std::size_t done) {
    if (!shown_ || (done % 10'000 != 0 && done != total_)) return;
    std::cerr << "\r" << what_ << ": " << phase << " " << done << "/" << total_ << "   "
              << std::flush;
  }
  ~Progress() {
    if (shown_) std::cerr << "\n";
  }

 private:
  std::string what_;
  std::size_t total_;
  bool shown_;
};

}  // namespace

int cmd_backends(Output output, std::ostream& out) {
  if (output == Output::json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& info : checkpoint::registered_backends()) {
      list.push_back({{"scheme", info.scheme},
                      {"description", info.description},
                      {"options", info.options},
                      {"extensions", info.extensions},
                      {"origin", info.origin}});
    }
    out << json_text(list);
    return kOk;
  }
  for (const auto& info : checkpoint::registered_backends()) {
    out << info.scheme << "\n  " << info.description << "\n";
    out << "  options:    " << join(info.options) << "\n";
    out << "  extensions: " << join(info.extensions) << "\n";
    out << "  from:       " << info.origin << "\n";
  }
  return 0;
}

int cmd_dump(const std::string& uri, const std::string& format, std::ostream& out) {
  PersistedState loaded = open_for_reading(uri)->load();
  if (format == "yaml")
    out << checkpoint::yaml_document(loaded);
  else if (format == "json")
    out << checkpoint::json_document(loaded);
  else
    print_table(loaded, out);
  return 0;
}

int cmd_get(const std::string& uri, const std::string& name, Output output, std::ostream& out) {
  PersistedState loaded = open_for_reading(uri)->load();
  const EventLogState* state = find(loaded, name);
  if (state == nullptr) return not_found(uri, name, loaded.states);
  if (output == Output::json) {
    out << json_text(json_of(*state));
  } else {
    print_state(*state, out);
  }
  return kOk;
}

int cmd_set(const SetArgs& args, std::ostream& out) {
  if (args.name.empty()) throw Error(ErrorCode::invalid_argument, "NAME must not be empty");
  // Opened for writing first: the lock is held before the load, so no
  // writer can commit between what this reads and what it writes.
  auto store = open_for_writing(args.uri, true);
  PersistedState loaded = store->load();
  EventLogState state{args.name, 0, Timestamp::now(), {}};  // a new state: read now
  if (const EventLogState* current = find(loaded, args.name)) {
    state = *current;
  } else if (!args.record_number) {
    std::cerr << "checkpointctl: " << escaped(shown(args.uri), false) << ": no state named \""
              << escaped(args.name) << "\" to change; a new state needs --record-number\n";
    return kUsage;
  }
  if (args.record_number) state.record_number = *args.record_number;
  if (args.timestamp) {
    state.timestamp =
        *args.timestamp == "now" ? Timestamp::now() : Timestamp::parse(*args.timestamp);
  }
  if (args.bookmark) state.bookmark = *args.bookmark;
  const Timestamp now = Timestamp::now();
  state.update_time = now;  // changed by this commit
  store->commit(Changes{now, {&state, 1}, {}});
  print_state(state, out);
  return 0;
}

int cmd_rm(const std::string& uri, const std::string& name, std::ostream& out) {
  auto store = open_for_writing(uri, false);
  // What salvage() reads, so that a state whose row is damaged (and makes
  // the store unloadable) can be removed too.
  checkpoint::Salvage read = store->salvage();
  bool present = find(read.readable, name) != nullptr ||
                 std::any_of(read.damage.begin(), read.damage.end(),
                             [&](const checkpoint::Damage& d) { return d.name == name; });
  if (!present) return not_found(uri, name, read.readable.states);
  const std::string removed[] = {name};
  store->commit(Changes{Timestamp::now(), {}, removed});
  out << "removed \"" << escaped(name) << "\"\n";
  return 0;
}

std::chrono::seconds parse_duration(const std::string& text) {
  // A whole number and one unit: 30d, 12h, 90m, 45s.
  std::uint64_t count = 0;
  const char* end = text.data() + text.size();
  auto [unit, ec] = std::from_chars(text.data(), end, count);
  std::uint64_t per = 0;
  if (ec == std::errc() && unit + 1 == end && unit != text.data()) {
    per = *unit == 'd' ? 86'400 : *unit == 'h' ? 3'600 : *unit == 'm' ? 60 : *unit == 's' ? 1 : 0;
  }
  // At most 10,000 years: any later cutoff is before the year 1.
  constexpr std::uint64_t kLongest = 10'000ull * 366 * 86'400;
  if (per == 0 || count == 0 || count > kLongest / per) {
    throw Error(ErrorCode::invalid_argument,
                "--older-than \"" + text +
                    "\": expected a positive whole number and a unit (d, h, m or s), such as "
                    "30d, 12h or 90m");
  }
  return std::chrono::seconds(count * per);
}

int cmd_prune(const std::string& uri, std::chrono::seconds older_than, bool dry_run,
              std::ostream& out) {
  // A dry run only reads (beside a writer, too); pruning is a write, which
  // a running writer's lock refuses.
  auto store = dry_run ? open_for_reading(uri) : open_for_writing(uri, false);
  const PersistedState loaded = store->load();
  const Timestamp now = Timestamp::now();
  const std::int64_t cutoff_seconds = now.unix_seconds() - older_than.count();
  const Timestamp cutoff = cutoff_seconds < Timestamp::kMinSeconds
                               ? Timestamp()
                               : Timestamp::from_unix(cutoff_seconds, now.nanos());
  std::vector<std::string> removed;
  for (const auto& state : loaded.states) {
    if (state.update_time < cutoff) {
      out << (dry_run ? "would remove \"" : "removed \"") << escaped(state.name)
          << "\" (last changed " << state.update_time.to_string() << ")\n";
      removed.push_back(state.name);
    }
  }
  if (!dry_run && !removed.empty()) store->commit(Changes{now, {}, removed});
  out << (dry_run ? "would remove " : "removed ") << removed.size() << " of "
      << loaded.states.size() << " states not changed since " << cutoff.to_string() << "\n";
  return kOk;
}

int cmd_verify(const std::string& uri, Output output, std::ostream& out) {
  checkpoint::CheckReport report;
  try {
    report = open_for_reading(uri)->check();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::invalid_config) throw;
    if (output == Output::json) {
      out << json_text({{"store", shown(uri)},
                        {"ok", false},
                        {"error", std::string(checkpoint::to_string(e.code()))},
                        {"problems", {e.what()}}});
    }
    std::cerr << "checkpointctl: verify failed: " << escaped(e.what(), false) << "\n";
    return kFailed;
  }
  if (output == Output::json) {
    out << json_text({{"store", shown(uri)},
                      {"ok", report.ok()},
                      {"states", report.states},
                      {"update_time", report.update_time.to_string()},
                      {"problems", report.problems}});
    return report.ok() ? kOk : kFailed;
  }
  if (!report.ok()) {
    std::cerr << "checkpointctl: verify failed: " << escaped(shown(uri), false) << ": "
              << report.problems.size() << (report.problems.size() == 1 ? " problem" : " problems")
              << "\n";
    for (const auto& problem : report.problems) {
      std::cerr << "  " << escaped(problem, false) << "\n";
    }
    return 1;
  }
  out << escaped(shown(uri), false) << ": ok, " << report.states << " states, update_time "
      << report.update_time.to_string() << "\n";
  return 0;
}

namespace {

// Writes `src` into the store at `dst_uri` in one commit, replacing what it
// held (only with `force` if it held states), then reads it back through a
// store opened anew and compares state by state.
int write_all(const std::string& dst_uri, const PersistedState& src, bool force,
              Progress& progress) {
  {
    auto dst = open_for_writing(dst_uri, true);
    PersistedState before = dst->load();
    if (!before.states.empty() && !force) {
      std::cerr << "checkpointctl: " << escaped(shown(dst_uri), false) << " already holds "
                << before.states.size() << " states; use --force to replace them\n";
      return 1;
    }
    std::vector<std::string> removed;
    for (const auto& state : before.states) {
      if (find(src, state.name) == nullptr) removed.push_back(state.name);
    }
    progress.step("writing", src.states.size());
    dst->commit(Changes{src.update_time, src.states, removed});
  }  // closed, and its lock released, before it is read back

  PersistedState after = open_for_reading(dst_uri)->load();
  if (after.states.size() != src.states.size()) {
    throw Error(ErrorCode::corrupt,
                shown(dst_uri) + ": holds " + std::to_string(after.states.size()) +
                    " states after writing, expected " + std::to_string(src.states.size()));
  }
  for (std::size_t i = 0; i < src.states.size(); ++i) {
    if (!(after.states[i] == src.states[i])) {
      throw Error(ErrorCode::corrupt, shown(dst_uri) + ": state \"" + src.states[i].name +
                                          "\" differs from what was written");
    }
    progress.step("comparing", i + 1);
  }
  if (after.update_time != src.update_time) {
    throw Error(ErrorCode::corrupt, shown(dst_uri) + ": update_time differs from what was written");
  }
  return 0;
}

}  // namespace

int cmd_convert(const std::string& src_uri, const std::string& dst_uri, bool force,
                std::ostream& out) {
  PersistedState src = open_for_reading(src_uri)->load();
  Progress progress("convert", src.states.size());
  if (int code = write_all(dst_uri, src, force, progress); code != 0) return code;
  out << "converted " << src.states.size() << " states from " << escaped(shown(src_uri), false)
      << " to " << escaped(shown(dst_uri), false) << " (verified)\n";
  return 0;
}

int cmd_salvage(const std::string& src_uri, const std::string& dst_uri, bool force, Output output,
                std::ostream& out) {
  checkpoint::Salvage salvaged = open_for_reading(src_uri)->salvage();
  Progress progress("salvage", salvaged.readable.states.size());
  if (int code = write_all(dst_uri, salvaged.readable, force, progress); code != 0) return code;
  const int code = salvaged.damage.empty() ? kOk : kLostSome;
  if (output == Output::json) {
    auto damage = nlohmann::ordered_json::array();
    for (const auto& d : salvaged.damage) {
      damage.push_back({{"name", d.name}, {"where", d.where}, {"what", d.what}});
    }
    out << json_text({{"from", shown(src_uri)},
                      {"to", shown(dst_uri)},
                      {"salvaged", salvaged.readable.states.size()},
                      {"update_time", salvaged.readable.update_time.to_string()},
                      {"damage", damage}});
    return code;
  }
  out << "salvaged " << salvaged.readable.states.size() << " states from "
      << escaped(shown(src_uri), false) << " to " << escaped(shown(dst_uri), false)
      << " (verified)\n";
  if (salvaged.damage.empty()) {
    out << "nothing was damaged\n";
  } else {
    out << "could not read " << salvaged.damage.size() << ":\n";
    for (const auto& damage : salvaged.damage) {
      out << "  " << escaped((damage.where.empty() ? "" : damage.where + ": ") + damage.what, false)
          << "\n";
    }
  }
  return code;
}

int cmd_stores(const std::string& uri, Output output, std::ostream& out) {
  std::vector<checkpoint::StoreSummary> stores = checkpoint::list_stores(uri);
  if (output == Output::json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& store : stores) {
      list.push_back({{"name", store.name},
                      {"states", store.states},
                      {"update_time", store.update_time.to_string()},
                      {"holder", store.holder}});
    }
    out << json_text(list);
    return kOk;
  }
  if (stores.empty()) {
    out << "no stores in " << escaped(shown(uri), false) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATES", "UPDATE_TIME", "HOLDER"}};
  for (const auto& store : stores) {
    rows.push_back({escaped(store.name), std::to_string(store.states),
                    store.update_time.is_zero() ? "-" : store.update_time.to_string(),
                    store.holder.empty() ? "-" : escaped(store.holder)});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
  return 0;
}

}  // namespace checkpointctl
