// The fixture behind every conformance case: a fresh directory, the store
// opened through Store::open(), a model of what it should hold, and
// messages that say which state and which field differ.
#include <stdlib.h>

#include <cstdio>
#include <system_error>

#include "checkpoint/conformance.hpp"
#include "checkpoint/registry.hpp"

namespace checkpoint::conformance {
namespace {

// A value as a C-like string literal, shortened when long, so that a
// failure message shows newlines, tabs and other invisible differences.
std::string quote(std::string_view s) {
  constexpr std::size_t kShown = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  if (s.size() > kShown) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// Where two texts part, for long values whose shortened forms look alike.
std::string text_difference(std::string_view want, std::string_view got) {
  std::size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  std::string out = "committed " + quote(want) + ", loaded " + quote(got);
  if (want.size() > 80 || got.size() > 80) {
    out += " (first difference at byte " + std::to_string(i) + "; lengths " +
           std::to_string(want.size()) + " and " + std::to_string(got.size()) + ")";
  }
  return out;
}

std::string describe(const Timestamp& t) {
  return t.to_string() + " (" + std::to_string(t.unix_seconds()) + " s + " +
         std::to_string(t.nanos()) + " ns)";
}

// The field-by-field differences between two states of the same name.
void compare_state(const EventLogState& want, const EventLogState& got,
                   std::vector<std::string>& problems) {
  const std::string prefix = "state " + quote(want.name) + ": ";
  if (want.record_number != got.record_number) {
    problems.push_back(prefix + "record_number committed " + std::to_string(want.record_number) +
                       ", loaded " + std::to_string(got.record_number));
  }
  if (want.timestamp != got.timestamp) {
    problems.push_back(prefix + "timestamp committed " + describe(want.timestamp) + ", loaded " +
                       describe(got.timestamp));
  }
  if (want.bookmark != got.bookmark) {
    problems.push_back(prefix + "bookmark " + text_difference(want.bookmark, got.bookmark));
  }
}

}  // namespace

void StoreConformance::SetUp() {
  // mkdtemp: a new, empty, private directory whose name no earlier test
  // used, so that stores keyed by path (memory:NAME) start empty too.
  std::string pattern = (std::filesystem::temp_directory_path() / "checkpoint-conformance-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    FAIL() << "cannot create a temporary directory from " << pattern;
  }
  dir_ = pattern;
  uri_ = GetParam().uri_for_dir(dir_);
}

void StoreConformance::TearDown() {
  store_.reset();  // close before removing the files under it
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string StoreConformance::where() const {
  return GetParam().backend + (GetParam().reopen ? "/Reopen" : "/KeepOpen") + " store " + uri_;
}

Store& StoreConformance::store() {
  if (GetParam().reopen) store_.reset();  // the old one closes before the new one opens
  if (!store_) {
    store_ = Store::open(uri_);
    if (!store_) throw std::logic_error(where() + ": Store::open returned null");
  }
  return *store_;
}

std::unique_ptr<Store> StoreConformance::reader() const {
  auto out = Store::open(uri_, {.mode = OpenMode::read});
  if (!out) throw std::logic_error(where() + ": Store::open returned null");
  return out;
}

void StoreConformance::put(EventLogState state) {
  changed_.insert(state.name);
  std::string name = state.name;
  model_.insert_or_assign(std::move(name), std::move(state));
}

void StoreConformance::erase(const std::string& name) {
  changed_.insert(name);
  model_.erase(name);
}

void StoreConformance::commit() {
  // A distinct, nanosecond-precise time for each commit, so that a store
  // that drops a commit or rounds the time is seen.
  ++commits_;
  commit(Timestamp::from_unix(1'512'486'967 + commits_ * 61,
                              static_cast<std::uint32_t>(841'893'001 + commits_ * 7'919)));
}

void StoreConformance::commit(Timestamp update_time) {
  // changed_ is sorted, so both lists are, as Changes requires.
  std::vector<EventLogState> upserted;
  std::vector<std::string> removed;
  for (const auto& name : changed_) {
    if (auto it = model_.find(name); it != model_.end()) {
      upserted.push_back(it->second);
    } else {
      removed.push_back(name);
    }
  }
  store().commit(Changes{update_time, upserted, removed});
  changed_.clear();
  update_time_ = update_time;
}

::testing::AssertionResult StoreConformance::stored() {
  auto through_writer = same(store().load(), model_, update_time_);
  if (!through_writer) return through_writer << "\n(loaded through the store opened for writing)";
  auto through_reader = same(reader()->load(), model_, update_time_);
  if (!through_reader) return through_reader << "\n(loaded through a store opened for reading)";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult StoreConformance::same(const PersistedState& loaded,
                                                  const StateMap& states,
                                                  Timestamp update_time) const {
  std::vector<std::string> problems;
  if (loaded.update_time != update_time) {
    problems.push_back("update_time committed " + describe(update_time) + ", loaded " +
                       describe(loaded.update_time));
  }
  for (std::size_t i = 1; i < loaded.states.size(); ++i) {
    if (!(loaded.states[i - 1].name < loaded.states[i].name)) {
      problems.push_back(
          "load() is not sorted by name with unique names: " + quote(loaded.states[i - 1].name) +
          " comes before " + quote(loaded.states[i].name));
      break;
    }
  }
  StateMap got;
  for (const auto& state : loaded.states) got.emplace(state.name, state);
  for (const auto& [name, want] : states) {
    auto it = got.find(name);
    if (it == got.end()) {
      problems.push_back("state " + quote(name) + " was committed but is missing");
    } else {
      compare_state(want, it->second, problems);
    }
  }
  for (const auto& [name, state] : got) {
    if (!states.contains(name)) {
      problems.push_back("state " + quote(name) + " is loaded but was not committed (or removed)");
    }
  }
  if (problems.empty()) return ::testing::AssertionSuccess();

  constexpr std::size_t kListed = 12;
  auto failure = ::testing::AssertionFailure();
  failure << where() << ": load() returned " << loaded.states.size() << " states, " << states.size()
          << " expected; " << problems.size() << " differences:";
  for (std::size_t i = 0; i < problems.size() && i < kListed; ++i) failure << "\n  " << problems[i];
  if (problems.size() > kListed) failure << "\n  ... and " << problems.size() - kListed << " more";
  return failure;
}

std::string target_name(const ::testing::TestParamInfo<Target>& info) {
  return info.param.reopen ? "Reopen" : "KeepOpen";
}

void PrintTo(const Target& target, std::ostream* os) {
  *os << target.backend << (target.reopen ? ", reopened between steps" : ", kept open");
}

}  // namespace checkpoint::conformance
