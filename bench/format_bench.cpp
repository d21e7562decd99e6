// The text formats without the file system: how long writing and reading a
// YAML or JSON document of many states takes.
//
//   build/release/bench/format_bench [--benchmark_filter=REGEX]
//
// Benchmarks: emit/FORMAT/STATES, parse/FORMAT/STATES for the documents we
// write, and parse/yaml-winlogbeat/STATES for the same states in the layout
// Winlogbeat writes (no "---" and "..." markers, plain names and bookmarks
// where YAML allows them), and parse/json-compact for JSON without
// whitespace: both are read by the general parser (yaml-cpp, nlohmann),
// not by the reader of our own layout.
#include <benchmark/benchmark.h>

#include <string>

#include "backends/json/json_format.hpp"
#include "backends/yaml/yaml_format.hpp"
#include "bench/bench_support.hpp"

namespace {

using namespace checkpoint;

const Timestamp kUpdateTime = Timestamp::parse("2024-05-06T07:08:09.123456789Z");

std::string emit(const std::string& format, const StateMap& states) {
  return format == "json" ? backends::emit_json_document(kUpdateTime, states, "bench")
                          : backends::emit_yaml_document(kUpdateTime, states, "bench");
}

// What Winlogbeat writes for the same states: no markers, names unquoted.
std::string winlogbeat_yaml(const StateMap& states) {
  std::string out = "update_time: " + kUpdateTime.to_string() + "\nevent_logs:\n";
  for (const auto& [name, state] : states) {
    out += "- name: " + name + "\n  record_number: " + std::to_string(state.record_number) +
           "\n  timestamp: " + state.timestamp.to_string() + "\n  bookmark: \"" + state.bookmark +
           "\"\n";
  }
  return out;
}

std::string compact_json(const StateMap& states) {
  std::string out = "{\"update_time\":\"" + kUpdateTime.to_string() + "\",\"event_logs\":[";
  bool first = true;
  for (const auto& [name, state] : states) {
    out += first ? "" : ",";
    first = false;
    out += "{\"name\":\"" + name + "\",\"record_number\":" + std::to_string(state.record_number) +
           ",\"timestamp\":\"" + state.timestamp.to_string() + "\",\"bookmark\":\"" +
           state.bookmark + "\"}";
  }
  return out + "]}\n";
}

void emit_bench(benchmark::State& bench, const std::string& format, std::size_t size) {
  const StateMap& states = bench::data_set(size).states;
  std::size_t bytes = 0;
  for (auto _ : bench) {
    std::string text = emit(format, states);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  bench.SetBytesProcessed(bench.iterations() * static_cast<std::int64_t>(bytes));
}

void parse_bench(benchmark::State& bench, const std::string& layout, std::size_t size) {
  const StateMap& states = bench::data_set(size).states;
  const std::string text = layout == "yaml-winlogbeat" ? winlogbeat_yaml(states)
                           : layout == "json-compact"  ? compact_json(states)
                                                       : emit(layout, states);
  const bool json = layout.starts_with("json");
  for (auto _ : bench) {
    PersistedState loaded = json ? backends::parse_json_document(text, "bench")
                                 : backends::parse_yaml_document(text, "bench");
    bench.PauseTiming();
    if (loaded.states.size() != size) bench.SkipWithError("wrong number of states");
    loaded = {};
    bench.ResumeTiming();
  }
  bench.SetBytesProcessed(bench.iterations() * static_cast<std::int64_t>(text.size()));
}

void register_all() {
  using benchmark::RegisterBenchmark;
  for (std::size_t size : {std::size_t{100'000}, std::size_t{1'000'000}}) {
    const std::string states = std::to_string(size);
    for (std::string format : {"yaml", "json"}) {
      RegisterBenchmark(bench::name({"emit", format, states}).c_str(), [format,
                                                                        size](benchmark::State& s) {
        emit_bench(s, format, size);
      })->Unit(benchmark::kMillisecond);
      RegisterBenchmark(bench::name({"parse", format, states}).c_str(), [format, size](
                                                                            benchmark::State& s) {
        parse_bench(s, format, size);
      })->Unit(benchmark::kMillisecond);
    }
  }
  // The general parsers, at 100k only: yaml-cpp needs seconds for it.
  for (std::string layout : {"yaml-winlogbeat", "json-compact"}) {
    RegisterBenchmark(bench::name({"parse", layout, "100000"}).c_str(), [layout](
                                                                            benchmark::State& s) {
      parse_bench(s, layout, 100'000);
    })->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv, register_all); }
