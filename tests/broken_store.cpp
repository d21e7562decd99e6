#include "tests/broken_store.hpp"

#include <charconv>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "checkpoint/documents.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/options.hpp"
#include "checkpoint/toolkit/snapshot_store.hpp"
#include "checkpoint/writer_lock.hpp"

namespace checkpoint::testing {
namespace {

// Every state after a commit, as a PersistedState.
PersistedState whole(Timestamp update_time, const StateMap& states) {
  PersistedState out{update_time, {}};
  for (const auto& [name, state] : states) out.states.push_back(state);
  return out;
}

// The lenient store's own text: no checks, no checksum, numbers read with
// strtoull() wherever they stop.
std::string lenient_text(const PersistedState& state) {
  std::ostringstream out;
  out << state.update_time.unix_seconds() << " " << state.update_time.nanos() << "\n";
  for (const auto& s : state.states) {
    out << s.name << "\t" << s.record_number << "\t" << s.timestamp.unix_seconds() << "\t"
        << s.timestamp.nanos() << "\t" << s.bookmark << "\n";
  }
  return out.str();
}

PersistedState lenient_read(const std::string& text) {
  PersistedState out;
  std::istringstream in(text);
  std::string line;
  auto number = [](const std::string& field) { return std::strtoull(field.c_str(), nullptr, 10); };
  if (std::getline(in, line)) {
    auto space = line.find(' ');
    out.update_time = Timestamp::from_unix(
        static_cast<std::int64_t>(number(line.substr(0, space))) % Timestamp::kMaxSeconds,
        static_cast<std::uint32_t>(number(line.substr(space + 1)) % 1'000'000'000));
  }
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream parts(line);
    for (std::string field; std::getline(parts, field, '\t');) fields.push_back(field);
    if (fields.size() < 4 || fields[0].empty()) continue;
    EventLogState state;
    state.name = fields[0];
    state.record_number = number(fields[1]);
    state.timestamp =
        Timestamp::from_unix(static_cast<std::int64_t>(number(fields[2]) % Timestamp::kMaxSeconds),
                             static_cast<std::uint32_t>(number(fields[3]) % 1'000'000'000));
    state.bookmark = fields.size() > 4 ? fields[4] : "";
    if (!out.states.empty() && !(out.states.back().name < state.name)) continue;
    out.states.push_back(std::move(state));
  }
  return out;
}

class BrokenStore final : public toolkit::SnapshotStore {
 public:
  BrokenStore(std::filesystem::path path, toolkit::FileModes modes, const OpenOptions& options,
              Defect defect)
      : SnapshotStore(defect == Defect::creates_on_read ? OpenMode::write : options.mode,
                      "broken store " + path.string()),
        path_(std::move(path)),
        modes_(defect == Defect::ignores_file_mode ? toolkit::FileModes{} : modes),
        defect_(defect) {
    const bool exists = toolkit::exists(data_file(), label());
    if (mode() == OpenMode::read || !options.create_if_missing) {
      if (!exists && defect_ != Defect::in_memory_only) {
        throw toolkit::store_error(ErrorCode::not_found, label(), "no such store");
      }
    }
    if (mode() == OpenMode::write && defect_ != Defect::no_writer_lock &&
        defect_ != Defect::load_before_lock) {
      lock_ = WriterLock::acquire(path_, label(), modes_);
    }
  }

 protected:
  PersistedState read() override {
    switch (defect_) {
      case Defect::in_memory_only:
        return memory_;
      case Defect::two_files: {
        PersistedState a = read_one(path_.string() + ".a"), b = read_one(path_.string() + ".b");
        a.states.insert(a.states.end(), b.states.begin(), b.states.end());
        std::sort(a.states.begin(), a.states.end(),
                  [](const auto& x, const auto& y) { return x.name < y.name; });
        return a;
      }
      default:
        return read_one(path_);
    }
  }

  void write(Timestamp update_time, const StateMap& states, const Changes& changes) override {
    if (defect_ == Defect::load_before_lock && !lock_.held()) {
      lock_ = WriterLock::acquire(path_, label(), modes_);
    }
    PersistedState out = whole(update_time, states);
    switch (defect_) {
      case Defect::in_memory_only:
        memory_ = out;
        return;
      case Defect::drops_bookmarks:
        for (auto& state : out.states) state.bookmark.clear();
        break;
      case Defect::double_records:
        for (auto& state : out.states) {
          double d = static_cast<double>(state.record_number);
          state.record_number =
              d >= 18446744073709551616.0 ? UINT64_MAX : static_cast<std::uint64_t>(d);
        }
        break;
      case Defect::ignores_removed: {
        // What the file held of the removed names stays.
        StateMap kept = states;
        for (const auto& state : read_one(path_).states) {
          if (std::binary_search(changes.removed.begin(), changes.removed.end(), state.name)) {
            kept.emplace(state.name, state);
          }
        }
        out = whole(update_time, kept);
        break;
      }
      case Defect::upserted_only:
        out.states.assign(changes.upserted.begin(), changes.upserted.end());
        break;
      case Defect::two_files: {
        PersistedState a{update_time, {}}, b{update_time, {}};
        for (const auto& state : out.states) {
          (state.name.back() % 2 == 0 ? a : b).states.push_back(state);
        }
        write_one(path_.string() + ".a", a);
        write_one(path_.string() + ".b", b);
        return;
      }
      default:
        break;
    }
    write_one(path_, out);
  }

 private:
  std::filesystem::path data_file() const {
    return defect_ == Defect::two_files ? path_.string() + ".a" : path_.string();
  }

  PersistedState read_one(const std::filesystem::path& path) const {
    auto text = toolkit::read_file(path, label());
    if (!text || text->empty()) return {};
    if (defect_ == Defect::lenient_values) return lenient_read(*text);
    try {
      return read_json_document(*text, label());
    } catch (const Error& e) {
      if (defect_ == Defect::foreign_exception) throw std::invalid_argument(e.what());
      throw;
    }
  }

  void write_one(const std::filesystem::path& path, const PersistedState& state) const {
    std::string text =
        defect_ == Defect::lenient_values ? lenient_text(state) : json_document(state);
    toolkit::write_file_atomically(path, text, /*sync=*/defect_ != Defect::no_fsync, label(),
                                   modes_);
  }

  std::filesystem::path path_;
  toolkit::FileModes modes_;
  Defect defect_;
  WriterLock lock_;
  PersistedState memory_;  // in_memory_only
};

}  // namespace

std::optional<Defect> defect_named(std::string_view name) {
  static constexpr std::pair<std::string_view, Defect> kNames[] = {
      {"drops_bookmarks", Defect::drops_bookmarks},
      {"double_records", Defect::double_records},
      {"ignores_removed", Defect::ignores_removed},
      {"upserted_only", Defect::upserted_only},
      {"in_memory_only", Defect::in_memory_only},
      {"no_writer_lock", Defect::no_writer_lock},
      {"foreign_exception", Defect::foreign_exception},
      {"lenient_values", Defect::lenient_values},
      {"creates_on_read", Defect::creates_on_read},
      {"load_before_lock", Defect::load_before_lock},
      {"no_fsync", Defect::no_fsync},
      {"two_files", Defect::two_files},
      {"ignores_file_mode", Defect::ignores_file_mode},
  };
  for (const auto& [known, defect] : kNames) {
    if (known == name) return defect;
  }
  return std::nullopt;
}

void BrokenStoreEnvironment::SetUp() {
  const char* name = std::getenv("CHECKPOINT_BROKEN_DEFECT");
  const std::optional<Defect> chosen = defect_named(name ? name : "");
  ASSERT_TRUE(chosen) << "CHECKPOINT_BROKEN_DEFECT names no defect of tests/broken_store.hpp: \""
                      << (name ? name : "") << "\"";
  const Defect defect = *chosen;
  register_backend({"broken",
                    "deliberately broken, for testing the conformance suite",
                    {"file_mode", "dir_mode"},
                    {}},
                   [defect](const StoreUri& uri, const OpenOptions& options) {
                     return std::unique_ptr<Store>(std::make_unique<BrokenStore>(
                         uri.target, toolkit::file_modes_option(uri), options, defect));
                   });
}

}  // namespace checkpoint::testing
