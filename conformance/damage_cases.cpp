// Conformance case: damage to a store's files. Whatever the damage (a file
// cut short, NUL bytes over it, random bytes in it), opening and loading
// the store must give Error{corrupt} or exactly one of the commits made
// before, never another exception type, a changed value or a crash. Each
// attempt runs in a child process, so that a crash fails the case instead
// of ending the test program.
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <sstream>

#include "checkpoint/conformance.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "conformance/child.hpp"
#include "conformance/values.hpp"

namespace checkpoint::conformance {

int link_damage_cases() { return 0; }

namespace {

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

struct Damage {
  std::string what;
  std::string bytes;       // the file after the damage
  bool emptied = false;    // the file is now empty: an empty store may load
};

// The damages done to a file of these bytes, each on its own.
std::vector<Damage> damages(const std::string& bytes) {
  const std::size_t n = bytes.size();
  std::vector<Damage> out;
  out.push_back({"cut to 0 bytes", "", true});
  if (n == 0) return out;
  out.push_back({"cut to half its size", bytes.substr(0, n / 2), n / 2 == 0});
  out.push_back({"cut by its last byte", bytes.substr(0, n - 1), n == 1});
  out.push_back({"NUL bytes over all of it", std::string(n, '\0')});
  std::mt19937 random(20171205);
  auto noise = [&](std::size_t count) {
    std::string s(count, '\0');
    for (char& c : s) c = static_cast<char>(random() & 0xFF);
    return s;
  };
  out.push_back({"random bytes over all of it", noise(n)});
  for (int quarter = 1; quarter <= 3; ++quarter) {
    std::size_t at = n * static_cast<std::size_t>(quarter) / 4;
    std::size_t count = std::min<std::size_t>(32, n - at);
    std::string nul = bytes, rnd = bytes;
    nul.replace(at, count, std::string(count, '\0'));
    rnd.replace(at, count, noise(count));
    std::string where = " at byte " + std::to_string(at);
    out.push_back({std::to_string(count) + " NUL bytes" + where, nul});
    out.push_back({std::to_string(count) + " random bytes" + where, rnd});
  }
  for (int ninth = 1; ninth <= 8; ++ninth) {
    std::size_t at = n * static_cast<std::size_t>(ninth) / 9;
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x5A);
    out.push_back({"byte " + std::to_string(at) + " changed", flipped});
  }
  return out;
}

// Every regular file under `top`, and its bytes.
std::map<std::filesystem::path, std::string> files_under(const std::filesystem::path& top) {
  std::map<std::filesystem::path, std::string> out;
  for (const auto& item : std::filesystem::recursive_directory_iterator(top)) {
    if (item.is_regular_file()) out[item.path()] = read_bytes(item.path());
  }
  return out;
}

// Puts back exactly these files: removes any other file, rewrites these.
void restore(const std::filesystem::path& top,
             const std::map<std::filesystem::path, std::string>& files) {
  std::vector<std::filesystem::path> extra;
  for (const auto& item : std::filesystem::recursive_directory_iterator(top)) {
    if (!item.is_directory() && !files.contains(item.path())) extra.push_back(item.path());
  }
  for (const auto& path : extra) std::filesystem::remove(path);
  for (const auto& [path, bytes] : files) write_bytes(path, bytes);
}

TEST_P(StoreConformance, DamagedFilesAreCorruptOrAnEarlierCommit) {
  // Three commits, every one of them an acceptable outcome.
  struct Commit {
    StateMap states;
    Timestamp update_time;
  };
  std::vector<Commit> history;
  for (int i = 0; i < 12; ++i) {
    put(state("stream-" + std::to_string(i), 1'000'000'007ull * static_cast<unsigned>(i + 1),
              Timestamp::from_unix(1'600'000'000 + i, 123'456'789),
              i % 3 == 0 ? "<Bookmark RecordId='" + std::to_string(i) + "'/>" : ""));
  }
  commit();
  history.push_back({model(), update_time()});
  put(state("stream-3", 42, Timestamp::from_unix(1'700'000'000, 1)));
  erase("stream-5");
  commit();
  history.push_back({model(), update_time()});
  put(state("stream-late", 18'446'744'073'709'551'615ull, ts("9999-12-31T23:59:59.999999999Z")));
  commit();
  history.push_back({model(), update_time()});
  close();

  const auto files = files_under(dir());
  if (files.empty()) GTEST_SKIP() << where() << " keeps no files";
  const std::string uri_text = uri();

  // What one attempt ended in: "ok", "corrupt", or what else happened.
  auto judge = [&](const PersistedState& loaded, bool emptied) -> std::string {
    for (const auto& commit : history) {
      if (same(loaded, commit.states, commit.update_time)) return "ok";
    }
    if (emptied && loaded.states.empty() && loaded.update_time.is_zero()) return "ok";
    return "loaded neither of the commits made: " +
           std::string(same(loaded, history.back().states, history.back().update_time).message());
  };
  auto attempt = [&](bool emptied, OpenMode mode) -> std::string {
    try {
      PersistedState loaded = Store::open(uri_text, {.mode = mode})->load();
      return judge(loaded, emptied);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::corrupt) return "corrupt";
      return "Error{" + std::string(to_string(e.code())) + "} where Error{corrupt} was due: " +
             e.what();
    }
  };

  int failures = 0;
  for (const auto& [path, bytes] : files) {
    for (const Damage& damage : damages(bytes)) {
      write_bytes(path, damage.bytes);
      ChildOutcome outcome = run_in_child([&] {
        std::string read = attempt(damage.emptied, OpenMode::read);
        std::string write = attempt(damage.emptied, OpenMode::write);
        if ((read == "ok" || read == "corrupt") && (write == "ok" || write == "corrupt")) {
          return std::string("fine");
        }
        return "opened for reading: " + read + "\n    opened for writing: " + write;
      });
      restore(dir(), files);
      if (outcome.finished && outcome.text == "fine") continue;
      ADD_FAILURE() << where() << ": " << path.filename().string() << " (" << bytes.size()
                    << " bytes) with " << damage.what << ":\n    " << outcome.text;
      if (++failures >= 5) return;  // enough to see the pattern
    }
  }
}

}  // namespace
}  // namespace checkpoint::conformance
