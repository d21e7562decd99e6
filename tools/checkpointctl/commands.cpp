#include "tools/checkpointctl/commands.hpp"

#include <unistd.h>

#include <iostream>
#include <set>

#include "backends/json/json_format.hpp"
#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "core/durable_file.hpp"
#include "tools/checkpointctl/format.hpp"

namespace checkpointctl {
namespace {

using checkpoint::Commit;
using checkpoint::Error;
using checkpoint::ErrorCode;
using checkpoint::EventLogState;
using checkpoint::PersistedState;
using checkpoint::StateMap;
using checkpoint::Timestamp;

StateMap to_map(PersistedState& loaded) {
  StateMap map;
  for (auto& state : loaded.states) {
    std::string name = state.name;
    map.insert_or_assign(std::move(name), std::move(state));
  }
  return map;
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

int cmd_backends(std::ostream& out) {
  for (const auto& info : checkpoint::registered_backends()) {
    out << info.scheme << "\n  " << info.description << "\n";
    out << "  options:    " << join(info.options) << "\n";
    out << "  extensions: " << join(info.extensions) << "\n";
  }
  return 0;
}

int cmd_dump(const std::string& uri, const std::string& format, std::ostream& out) {
  PersistedState loaded = checkpoint::open_store(uri)->load();
  if (format == "yaml")
    out << yaml_document(loaded);
  else if (format == "json")
    out << json_document(loaded);
  else
    print_table(loaded, out);
  return 0;
}

int cmd_get(const std::string& uri, const std::string& name, std::ostream& out) {
  PersistedState loaded = checkpoint::open_store(uri)->load();
  for (const auto& state : loaded.states) {
    if (state.name == name) {
      print_state(state, out);
      return 0;
    }
  }
  std::cerr << "checkpointctl: " << uri << ": no state named \"" << name << "\"\n";
  return 1;
}

int cmd_set(const SetArgs& args, std::ostream& out) {
  if (args.name.empty()) throw Error(ErrorCode::invalid_argument, "NAME must not be empty");
  auto store = checkpoint::open_store(args.uri);
  PersistedState loaded = store->load();
  StateMap states = to_map(loaded);
  EventLogState state{args.name, args.record_number, {}, {}};
  if (auto it = states.find(args.name); it != states.end()) state = it->second;
  state.record_number = args.record_number;
  if (args.timestamp) {
    state.timestamp =
        *args.timestamp == "now" ? Timestamp::now() : Timestamp::parse(*args.timestamp);
  }
  if (args.bookmark) state.bookmark = *args.bookmark;
  states.insert_or_assign(args.name, state);
  std::vector<std::string> upserted{args.name}, removed;
  store->commit(Commit{Timestamp::now(), states, upserted, removed});
  print_state(state, out);
  return 0;
}

int cmd_rm(const std::string& uri, const std::string& name, std::ostream& out) {
  auto store = checkpoint::open_store(uri);
  PersistedState loaded = store->load();
  StateMap states = to_map(loaded);
  if (states.erase(name) == 0) {
    std::cerr << "checkpointctl: " << uri << ": no state named \"" << name << "\"\n";
    return 1;
  }
  std::vector<std::string> upserted, removed{name};
  store->commit(Commit{Timestamp::now(), states, upserted, removed});
  out << "removed \"" << name << "\"\n";
  return 0;
}

int cmd_verify(const std::string& uri, std::ostream& out) {
  PersistedState loaded;
  try {
    loaded = checkpoint::open_store(uri)->load();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::invalid_config) throw;
    std::cerr << "checkpointctl: verify failed: " << e.what() << "\n";
    return 1;
  }
  // load() promises sorted, unique, non-empty names: check the promise too.
  for (std::size_t i = 0; i < loaded.states.size(); ++i) {
    const auto& name = loaded.states[i].name;
    std::string problem;
    if (name.empty())
      problem = "state " + std::to_string(i) + " has an empty name";
    else if (i > 0 && !(loaded.states[i - 1].name < name)) {
      problem = "state \"" + name + "\" is duplicated or out of order";
    }
    if (!problem.empty()) {
      std::cerr << "checkpointctl: verify failed: " << uri << ": " << problem << "\n";
      return 1;
    }
  }
  out << uri << ": ok, " << loaded.states.size() << " states, update_time "
      << loaded.update_time.to_string() << "\n";
  return 0;
}

namespace {

// Writes `src` into the store at `dst_uri` in one commit, replacing what it
// held (only with `force` if it held states), then reads it back through a
// fresh store and compares state by state.
int write_all(const std::string& dst_uri, const PersistedState& src, bool force,
              Progress& progress) {
  auto dst = checkpoint::open_store(dst_uri);
  PersistedState before = dst->load();
  if (!before.states.empty() && !force) {
    std::cerr << "checkpointctl: " << dst_uri << " already holds " << before.states.size()
              << " states; use --force to replace them\n";
    return 1;
  }

  StateMap states;
  std::vector<std::string> upserted, removed;
  upserted.reserve(src.states.size());
  std::size_t n = 0;
  for (const auto& state : src.states) {
    states.emplace_hint(states.end(), state.name, state);
    upserted.push_back(state.name);
    progress.step("reading", ++n);
  }
  for (const auto& state : before.states) {
    if (!states.contains(state.name)) removed.push_back(state.name);
  }
  dst->commit(Commit{src.update_time, states, upserted, removed});
  dst.reset();

  PersistedState after = checkpoint::open_store(dst_uri)->load();
  if (after.states.size() != src.states.size()) {
    throw Error(ErrorCode::corrupt, dst_uri + ": holds " + std::to_string(after.states.size()) +
                                        " states after writing, expected " +
                                        std::to_string(src.states.size()));
  }
  for (std::size_t i = 0; i < src.states.size(); ++i) {
    if (!(after.states[i] == src.states[i])) {
      throw Error(ErrorCode::corrupt,
                  dst_uri + ": state \"" + src.states[i].name + "\" differs from what was written");
    }
    progress.step("comparing", i + 1);
  }
  if (after.update_time != src.update_time) {
    throw Error(ErrorCode::corrupt, dst_uri + ": update_time differs from what was written");
  }
  return 0;
}

}  // namespace

int cmd_convert(const std::string& src_uri, const std::string& dst_uri, bool force,
                std::ostream& out) {
  PersistedState src = checkpoint::open_store(src_uri)->load();
  Progress progress("convert", src.states.size());
  if (int code = write_all(dst_uri, src, force, progress); code != 0) return code;
  out << "converted " << src.states.size() << " states from " << src_uri << " to " << dst_uri
      << " (verified)\n";
  return 0;
}

int cmd_salvage(const std::string& src_uri, const std::string& dst_uri, bool force,
                std::ostream& out) {
  checkpoint::StoreUri src = checkpoint::parse_store_uri(src_uri);
  if (src.scheme != "yaml" && src.scheme != "json") {
    throw Error(ErrorCode::invalid_argument,
                "salvage reads yaml and json files; " + src_uri + " is a " + src.scheme +
                    " store (for SQLite, the sqlite3 shell's .recover command does this job)");
  }
  std::optional<std::string> text = checkpoint::detail::read_file(src.target, src_uri);
  if (!text) throw Error(ErrorCode::not_found, src_uri + ": no such file");
  checkpoint::detail::Salvaged salvaged = src.scheme == "yaml"
                                              ? checkpoint::backends::salvage_yaml_document(*text)
                                              : checkpoint::backends::salvage_json_document(*text);
  Progress progress("salvage", salvaged.state.states.size());
  if (int code = write_all(dst_uri, salvaged.state, force, progress); code != 0) return code;
  out << "salvaged " << salvaged.state.states.size() << " states from " << src_uri << " to "
      << dst_uri << " (verified)\n";
  if (salvaged.problems.empty()) {
    out << "nothing was damaged\n";
  } else {
    out << "could not read " << salvaged.problems.size() << ":\n";
    for (const auto& problem : salvaged.problems) out << "  " << problem << "\n";
  }
  return 0;
}

}  // namespace checkpointctl
