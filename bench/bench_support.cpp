#include "bench/bench_support.hpp"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>

#include "checkpoint/registry.hpp"

namespace bench {
namespace {

namespace fs = std::filesystem;
using namespace checkpoint;

class RunDir {
 public:
  RunDir() {
    std::string pattern = (fs::temp_directory_path() / "checkpoint_bench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~RunDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

[[noreturn]] void sys_fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::to_string(errno));
}

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t done = ::write(fd, p, n);
    if (done < 0) sys_fail("write");
    p += done;
    n -= static_cast<std::size_t>(done);
  }
}

}  // namespace

EventLogState make_state(std::size_t i) {
  char name[40], bookmark[128];
  std::snprintf(name, sizeof name, "Channel-%010zu/Operational", i);
  const std::uint64_t record = 1'000'000'000 + i;
  std::snprintf(bookmark, sizeof bookmark,
                "<BookmarkList><Bookmark Channel='%010zu' RecordId='%010llu' "
                "IsCurrent='true'/></BookmarkList>",
                i, static_cast<unsigned long long>(record));
  const std::int64_t base = 1'714'979'289;  // 2024-05-06T07:08:09Z
  return EventLogState{
      name, record,
      Timestamp::from_unix(base + static_cast<std::int64_t>(i),
                           static_cast<std::uint32_t>(i * 7919 % 10'000'000 * 100)),
      bookmark};
}

DataSet& data_set(std::size_t size) {
  static std::map<std::size_t, std::unique_ptr<DataSet>> cache;
  auto& slot = cache[size];
  if (!slot) {
    slot = std::make_unique<DataSet>();
    slot->names.reserve(size);
    for (std::size_t i = 0; i < size; ++i) {
      EventLogState state = make_state(i);
      slot->names.push_back(state.name);
      slot->states.emplace_hint(slot->states.end(), state.name, std::move(state));
    }
  }
  return *slot;
}

void advance(EventLogState& state) {
  state.record_number += 1;
  state.timestamp =
      Timestamp::from_unix(state.timestamp.unix_seconds() + 1, state.timestamp.nanos());
}

const fs::path& run_dir() {
  static RunDir dir;
  return dir.path();
}

std::string filled_store(const std::string& backend, std::size_t size) {
  static std::map<std::pair<std::string, std::size_t>, std::string> cache;
  auto& uri = cache[{backend, size}];
  if (uri.empty()) {
    static const std::map<std::string, std::string> extension = {
        {"yaml", ".yml"}, {"json", ".json"}, {"sqlite", ".db"}, {"lmdb", ".lmdb"}};
    fs::path path = run_dir() / ("states-" + std::to_string(size) + extension.at(backend));
    uri = backend + ":" + path.string();
    DataSet& data = data_set(size);
    std::vector<EventLogState> states;
    states.reserve(size);
    for (const auto& [name, state] : data.states) states.push_back(state);
    Store::open(uri)->commit(Changes{Timestamp::now(), states, {}});
  }
  return uri;
}

fs::path store_path(const std::string& uri) {
  std::string target = uri.substr(uri.find(':') + 1);
  return target.substr(0, target.find('?'));
}

std::size_t bytes_on_disk(const fs::path& path) {
  if (!fs::is_directory(path)) return static_cast<std::size_t>(fs::file_size(path));
  std::size_t total = 0;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file()) total += static_cast<std::size_t>(entry.file_size());
  }
  return total;
}

std::size_t payload_bytes(const StateMap& states, const std::vector<std::string>& names) {
  std::size_t total = 0;
  for (const auto& name : names) {
    const EventLogState& state = states.find(name)->second;
    total += state.name.size() + state.bookmark.size() + 8 + 12;
  }
  return total;
}

std::string name(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

double durable_write_seconds(std::size_t bytes) {
  static std::string data;
  if (data.size() < bytes) data.assign(bytes, 'x');
  const fs::path dir = run_dir() / "floor";
  fs::create_directories(dir);
  const fs::path file = dir / "file", tmp = dir / "file.new";

  auto start = std::chrono::steady_clock::now();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) sys_fail("open " + tmp.string());
  write_all(fd, data.data(), bytes);
  if (::fsync(fd) != 0) sys_fail("fsync");
  if (::close(fd) != 0) sys_fail("close");
  if (::rename(tmp.c_str(), file.c_str()) != 0) sys_fail("rename");
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) sys_fail("open " + dir.string());
  if (::fsync(dir_fd) != 0) sys_fail("fsync directory");
  ::close(dir_fd);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(int argc, char** argv, void (*register_all)()) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
