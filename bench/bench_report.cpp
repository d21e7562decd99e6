// Turns the JSON that the benchmark programs write (--benchmark_out) into
// what `make bench` shows: report.md (the targets, measured against, and
// tables of every figure) and the data files the charts are drawn from.
//
//   bench_report OUT_DIR FILE.json...
//
// Writes OUT_DIR/report.md, OUT_DIR/commit_10_changed.dat,
// OUT_DIR/commit_all_changed.dat and OUT_DIR/load.dat (columns: states,
// then milliseconds for yaml json sqlite lmdb, then for the commits the
// fsync floor for a file the size of the YAML file and for the changed
// states' bare data). A figure that is missing (a benchmark filtered out)
// shows as "-" in the report and "NaN" in the data.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;

const std::vector<std::string> kBackends = {"yaml", "json", "sqlite", "lmdb"};
const std::vector<std::string> kSizes = {"1000", "100000", "1000000"};

struct Result {
  double real_ms = NAN, cpu_ms = NAN;
  Json fields;  // everything the program wrote, counters included

  double counter(const std::string& name) const {
    auto it = fields.find(name);
    return it != fields.end() && it->is_number() ? it->get<double>() : NAN;
  }
};

// "commit/10_changed/yaml/1000/real_time" -> "commit/10_changed/yaml/1000".
std::string plain_name(const std::string& name) {
  std::string out;
  std::stringstream parts(name);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part == "real_time" || part == "manual_time" || part.starts_with("iterations:")) continue;
    out += (out.empty() ? "" : "/") + part;
  }
  return out;
}

double to_ms(double value, const std::string& unit) {
  if (unit == "ns") return value / 1e6;
  if (unit == "us") return value / 1e3;
  if (unit == "s") return value * 1e3;
  return value;
}

struct Results {
  std::map<std::string, Result> by_name;
  std::vector<Json> contexts;

  const Result* find(const std::string& name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &it->second;
  }
  double real_ms(const std::string& name) const {
    const Result* r = find(name);
    return r ? r->real_ms : NAN;
  }
  double cpu_ms(const std::string& name) const {
    const Result* r = find(name);
    return r ? r->cpu_ms : NAN;
  }
  double counter(const std::string& name, const std::string& counter) const {
    const Result* r = find(name);
    return r ? r->counter(counter) : NAN;
  }
};

Results read_all(const std::vector<std::string>& files) {
  Results out;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "bench_report: cannot read " << file << "\n";
      continue;
    }
    Json doc = Json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.contains("benchmarks")) {
      std::cerr << "bench_report: " << file << " is not benchmark output\n";
      continue;
    }
    out.contexts.push_back(doc.value("context", Json::object()));
    for (const auto& b : doc["benchmarks"]) {
      if (b.value("run_type", "iteration") != "iteration") continue;
      Result r;
      const std::string unit = b.value("time_unit", "ns");
      r.real_ms = to_ms(b.value("real_time", NAN), unit);
      r.cpu_ms = to_ms(b.value("cpu_time", NAN), unit);
      r.fields = b;
      out.by_name[plain_name(b.value("name", ""))] = r;
    }
  }
  return out;
}

// A figure for the report: three significant digits, "-" when missing.
std::string fmt(double value, const char* unit = "") {
  if (std::isnan(value)) return "-";
  char buf[64];
  const double magnitude = std::fabs(value);
  const int decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, value, unit);
  return buf;
}

std::string fmt_time(double ms) {
  if (std::isnan(ms)) return "-";
  if (ms == 0) return "0";
  if (ms >= 1000) return fmt(ms / 1000, " s");
  if (ms < 1) return fmt(ms * 1000, " µs");
  return fmt(ms, " ms");
}

std::string fmt_rate(double per_second) {
  if (std::isnan(per_second)) return "-";
  if (per_second >= 1e6) return fmt(per_second / 1e6, " M/s");
  if (per_second >= 1e3) return fmt(per_second / 1e3, " k/s");
  return fmt(per_second, "/s");
}

struct Target {
  std::string what, measured, goal, go;
  bool met;
  bool known;
};

std::vector<Target> targets(const Results& r) {
  std::vector<Target> out;
  auto add = [&](std::string what, double value, std::string shown, double limit, bool at_least,
                 std::string goal, std::string go) {
    const bool known = !std::isnan(value);
    out.push_back({std::move(what), std::move(shown), std::move(goal), std::move(go),
                   known && (at_least ? value >= limit : value < limit), known});
  };
  const double rate = r.counter("BM_persist/names:1000/threads:1", "items_per_second");
  add("persist(), 1 thread, 1k names", rate, fmt_rate(rate), 20e6, true, ">= 20 M/s", "4 M/s");
  for (const std::string backend : {"yaml", "json", "sqlite"}) {
    const std::string name = "BM_persist_latency_" + backend;
    const double max_ms = r.counter(name, "max_ns") / 1e6;
    add("persist() max latency during 1M-state " + backend + " commits", max_ms,
        fmt_time(max_ms) + " (blocked: " + fmt_time(r.counter(name, "max_blocked_ns") / 1e6) +
            ", p99.9: " + fmt_time(r.counter(name, "p999_ns") / 1e6) + ")",
        1, false, "< 1 ms", "9.8 s");
  }
  for (const std::string backend : {"sqlite", "lmdb"}) {
    const std::string name = "commit/10_changed/" + backend + "/1000000";
    add(backend + " commit, 10 changed among 1M", r.real_ms(name),
        fmt_time(r.real_ms(name)) + " (CPU " + fmt_time(r.cpu_ms(name)) + ")", 5, false, "< 5 ms",
        "13.3 s");
  }
  add("lmdb load, 1M", r.real_ms("load/lmdb/1000000"),
      fmt_time(r.real_ms("load/lmdb/1000000")) + " (CPU " +
          fmt_time(r.cpu_ms("load/lmdb/1000000")) + ")",
      500, false, "< 0.5 s", "16.9 s");
  add("sqlite load, 1M", r.real_ms("load/sqlite/1000000"),
      fmt_time(r.real_ms("load/sqlite/1000000")) + " (CPU " +
          fmt_time(r.cpu_ms("load/sqlite/1000000")) + ")",
      1500, false, "< 1.5 s", "16.9 s");
  for (const auto& [what, name, limit, goal, go] :
       std::vector<std::tuple<std::string, std::string, double, std::string, std::string>>{
           {"yaml commit, 100k", "commit/all_changed/yaml/100000", 500, "< 0.5 s", "1.45 s"},
           {"yaml load, 100k", "load/yaml/100000", 600, "< 0.6 s", "1.19 s"},
           {"json commit, 1M", "commit/all_changed/json/1000000", 2000, "< 2 s", ""},
           {"json load, 1M", "load/json/1000000", 2000, "< 2 s", ""},
       }) {
    add(what, r.real_ms(name),
        fmt_time(r.real_ms(name)) + " (CPU " + fmt_time(r.cpu_ms(name)) + ")", limit, false, goal,
        go);
  }
  for (const auto& backend : kBackends) {
    for (const std::string changed : {"10_changed", "all_changed"}) {
      const std::string name = "commit/" + changed + "/" + backend + "/1000";
      const double ratio = r.counter(name, "x_floor");
      add(backend + " commit, 1k states, " + changed.substr(0, changed.find('_')) +
              " changed, vs fsync floor",
          ratio,
          fmt(ratio, "x") + " (" + fmt_time(r.real_ms(name)) + " vs " +
              fmt_time(r.counter(name, "floor_ms")) + ")",
          2, false, "<= 2x", "");
    }
  }
  return out;
}

void write_data(const Results& r, const std::string& path, const std::string& kind) {
  std::ofstream out(path);
  out << "# states";
  for (const auto& b : kBackends) out << " " << b;
  if (kind != "load") out << " floor_file floor_changed";
  out << "\n";
  for (const auto& size : kSizes) {
    out << size;
    for (const auto& b : kBackends) out << " " << r.real_ms(kind + "/" + b + "/" + size);
    if (kind != "load") {
      out << " " << r.counter(kind + "/yaml/" + size, "floor_ms") << " "
          << r.counter(kind + "/sqlite/" + size, "floor_ms");
    }
    out << "\n";
  }
}

void write_report(const Results& r, const std::string& path) {
  std::ofstream out(path);
  out << "# Benchmark report\n\n";
  for (const auto& c : r.contexts) {
    if (!c.contains("executable")) continue;
    out << "- " << c.value("executable", "") << ": " << c.value("date", "") << ", "
        << c.value("num_cpus", 0) << " CPUs at " << c.value("mhz_per_cpu", 0) << " MHz, load";
    for (const auto& l : c.value("load_avg", Json::array())) out << " " << fmt(l.get<double>());
    out << "\n";
  }

  out << "\n## Targets\n\n| what | measured (wall) | target | Go original | "
         "|\n|---|---|---|---|---|\n";
  for (const auto& t : targets(r)) {
    out << "| " << t.what << " | " << t.measured << " | " << t.goal << " | " << t.go << " | "
        << (!t.known ? "not run"
            : t.met  ? "met"
                     : "**missed**")
        << " |\n";
  }

  out << "\n## persist() throughput (memory: store, no commit running)\n\n"
         "| names | threads | updates/s (all threads) | ns per call (wall, CPU) |\n"
         "|---|---|---|---|\n";
  for (const std::string names : {"1000", "1000000"}) {
    for (const std::string threads : {"1", "2", "4"}) {
      const std::string name = "BM_persist/names:" + names + "/threads:" + threads;
      out << "| " << names << " | " << threads << " | "
          << fmt_rate(r.counter(name, "items_per_second")) << " | " << fmt(r.real_ms(name) * 1e6)
          << ", " << fmt(r.cpu_ms(name) * 1e6) << " |\n";
    }
  }
  const std::string bare = "BM_persist_no_bookmark/names:1000/threads:1";
  out << "| 1000, no bookmark | 1 | " << fmt_rate(r.counter(bare, "items_per_second")) << " | "
      << fmt(r.real_ms(bare) * 1e6) << ", " << fmt(r.cpu_ms(bare) * 1e6) << " |\n";

  out << "\n## persist() latency while 1M-state commits run\n\n"
         "| store | p50 | p99 | p99.9 | max | max blocked | max preempted | max other | calls > 1 "
         "ms | commits | commit (store) |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const std::string backend : {"yaml", "json", "sqlite", "no_commits"}) {
    const std::string name = "BM_persist_latency_" + backend;
    auto ns = [&](const char* counter) { return fmt_time(r.counter(name, counter) / 1e6); };
    out << "| " << (backend == "no_commits" ? "none (no commits)" : backend) << " | "
        << ns("p50_ns") << " | " << ns("p99_ns") << " | " << ns("p999_ns") << " | " << ns("max_ns")
        << " | " << ns("max_blocked_ns") << " | " << ns("max_preempted_ns") << " | "
        << ns("max_quiet_ns") << " | " << fmt(r.counter(name, "over_1ms")) << " | "
        << fmt(r.counter(name, "commits")) << " | " << fmt_time(r.counter(name, "commit_s") * 1e3)
        << " |\n";
  }

  for (const std::string changed : {"10_changed", "all_changed"}) {
    out << "\n## Commit, " << changed.substr(0, changed.find('_'))
        << " changed (wall / CPU, and x the fsync floor)\n\n| backend |";
    for (const auto& size : kSizes) out << " " << size << " states |";
    out << "\n|---|---|---|---|\n";
    for (const std::string backend : {"yaml", "json", "sqlite", "lmdb", "yaml-nosync",
                                      "json-nosync", "sqlite-nosync", "lmdb-nosync"}) {
      if (changed == "all_changed" && backend.ends_with("nosync")) continue;
      out << "| " << backend << " |";
      for (const auto& size : kSizes) {
        const std::string name = "commit/" + changed + "/" + backend + "/" + size;
        out << " " << fmt_time(r.real_ms(name)) << " / " << fmt_time(r.cpu_ms(name)) << ", "
            << fmt(r.counter(name, "x_floor"), "x") << " |";
      }
      out << "\n";
    }
  }

  out << "\n## Load (open + load, file in the page cache; wall / CPU)\n\n| backend |";
  for (const auto& size : kSizes) out << " " << size << " states |";
  out << "\n|---|---|---|---|\n";
  for (const auto& backend : kBackends) {
    out << "| " << backend << " |";
    for (const auto& size : kSizes) {
      const std::string name = "load/" + backend + "/" + size;
      out << " " << fmt_time(r.real_ms(name)) << " / " << fmt_time(r.cpu_ms(name)) << " |";
    }
    out << "\n";
  }

  out << "\n## The machine's fsync floor (write, fsync, rename, fsync directory)\n\n"
         "| bytes | time | CPU |\n|---|---|---|\n";
  for (const std::string bytes : {"4096", "250000", "25000000", "250000000"}) {
    out << "| " << bytes << " | " << fmt_time(r.real_ms("floor/" + bytes)) << " | "
        << fmt_time(r.cpu_ms("floor/" + bytes)) << " |\n";
  }

  out << "\n## checkpointctl convert (whole program: load, commit, read back, compare)\n\n"
         "| from | to | states | time | CPU | states/s |\n|---|---|---|---|---|---|\n";
  for (const auto& [name, result] : r.by_name) {
    if (!name.starts_with("convert/")) continue;
    std::stringstream parts(name.substr(8));
    std::string from, to, states;
    std::getline(parts, from, '/');
    std::getline(parts, to, '/');
    std::getline(parts, states, '/');
    out << "| " << from << " | " << to << " | " << states << " | " << fmt_time(result.real_ms)
        << " | " << fmt_time(result.counter("cpu_s") * 1e3) << " | "
        << fmt_rate(result.counter("states/s")) << " |\n";
  }

  out << "\n## Peak memory with 1M states (a process of its own each; memory_bench)\n\n"
         "| backend | load only | Checkpoint: open, persist 10, flush, shut down | ratio |\n"
         "|---|---|---|---|\n";
  for (const std::string backend : {"sqlite", "lmdb", "yaml"}) {
    double load = r.counter("memory/" + backend + "/load", "peak_rss_MiB");
    double front = r.counter("memory/" + backend + "/checkpoint", "peak_rss_MiB");
    char line[160];
    std::snprintf(line, sizeof line, "| %s | %.0f MiB | %.0f MiB | %.2fx |\n", backend.c_str(),
                  load, front, front / load);
    out << line;
  }

  out << "\n## The front end with many states (front_end_bench)\n\n"
         "| what | checkpoint | target |\n|---|---|---|\n";
  for (const std::string n : {"100000", "1000000"}) {
    out << "| states() of " << n
        << " states (Go's States(): " << fmt_time(r.real_ms("go/states/" + n)) << ") | "
        << fmt_time(r.real_ms("states/" + n)) << " | at most Go's |\n";
  }
  out << "| persist() while states() runs on 1M: slowest call that blocked / slowest overall | "
      << fmt_time(r.counter("persist_while_states/1000000", "max_blocked_ns") / 1e6) << " / "
      << fmt_time(r.counter("persist_while_states/1000000", "max_ns") / 1e6)
      << " | < 0.1 ms blocked |\n";
  for (const std::string backend : {"sqlite", "lmdb", "yaml", "json"}) {
    // Timed in turn in each iteration (front_end_bench's BM_open).
    const double open = r.real_ms("open/" + backend);
    const double load = r.counter("open/" + backend, "load_ms");
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2fx", r.counter("open/" + backend, "x_load"));
    out << "| constructing a Checkpoint on 1M " << backend << " states / loading them alone | "
        << fmt_time(open) << " / " << fmt_time(load) << " = " << ratio << " | at most 1.25x |\n";
    out << "| shutdown() with nothing pending, 1M " << backend << " states | "
        << fmt_time(r.real_ms("shutdown_idle/" + backend)) << " | O(1) |\n";
  }
  out << "| stats() with 1M changes pending | " << fmt_time(r.real_ms("stats/pending:1000000"))
      << " | O(1) |\n";
  const double one = r.counter("persist_disjoint/threads:1", "items_per_second");
  const double two = r.counter("persist_disjoint/threads:2", "items_per_second");
  char scaling[96];
  std::snprintf(scaling, sizeof scaling, "%.1f M/s, %.1f M/s = %.2fx", one / 1e6, two / 1e6,
                two / one);
  out << "| persist() on names of its own, 1 thread then 2 | " << scaling
      << " | 2 threads >= 1.5x |\n";

  out << "\n## Documents without the file system (emit, parse; wall)\n\n"
         "| what | 100000 states | 1000000 states |\n|---|---|---|\n";
  for (const std::string what : {"emit/yaml", "parse/yaml", "parse/yaml-winlogbeat", "emit/json",
                                 "parse/json", "parse/json-compact"}) {
    out << "| " << what << " | " << fmt_time(r.real_ms(what + "/100000")) << " | "
        << fmt_time(r.real_ms(what + "/1000000")) << " |\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_report OUT_DIR FILE.json...\n";
    return 2;
  }
  const std::string dir = argv[1];
  const Results results = read_all(std::vector<std::string>(argv + 2, argv + argc));
  write_data(results, dir + "/commit_10_changed.dat", "commit/10_changed");
  write_data(results, dir + "/commit_all_changed.dat", "commit/all_changed");
  write_data(results, dir + "/load.dat", "load");
  write_report(results, dir + "/report.md");
  return 0;
}
