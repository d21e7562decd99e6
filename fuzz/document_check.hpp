// What the document fuzz targets check for every input, whichever format
// read it: the loader either returned states or threw Error{corrupt} naming
// the store; what it returned is what a store can hold, and writes back in
// both text formats and reads again unchanged. A broken property aborts,
// which libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "backends/json/json_format.hpp"
#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/error.hpp"

namespace checkpoint::fuzz {

inline constexpr std::string_view kStore = "fuzz store";

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "property broken: %s\n", what.c_str());
  std::abort();
}

// Runs load(text, kStore); returns false if it refused the text.
template <typename Load>
bool try_load(Load load, std::string_view text, PersistedState& out) {
  try {
    out = load(text, kStore);
    return true;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::corrupt) fail(std::string("not Error{corrupt}: ") + e.what());
    if (!std::string_view(e.what()).starts_with(std::string(kStore) + ": ")) {
      fail(std::string("the message does not name the store: ") + e.what());
    }
    return false;
  }
}

template <typename Emit, typename Load>
void expect_same_after_rewrite(const char* format, const PersistedState& loaded,
                               const StateMap& map, Emit emit, Load load) {
  std::string text;
  try {
    text = emit(loaded.update_time, map, kStore);
  } catch (const Error& e) {
    fail(std::string("loaded states cannot be written as ") + format + ": " + e.what());
  }
  PersistedState again;
  if (!try_load(load, text, again)) fail(std::string("the ") + format + " rewrite does not load");
  if (again.update_time != loaded.update_time || again.states != loaded.states) {
    fail(std::string("the ") + format + " rewrite loads other states");
  }
}

// Sorted, distinct, non-empty names; the same after a rewrite in each format.
inline void check_loaded(const PersistedState& loaded) {
  StateMap map;
  for (std::size_t i = 0; i < loaded.states.size(); ++i) {
    const EventLogState& s = loaded.states[i];
    if (s.name.empty()) fail("an empty name loaded");
    if (i > 0 && !(loaded.states[i - 1].name < s.name)) fail("names not sorted and distinct");
    map.emplace(s.name, s);
  }
  expect_same_after_rewrite("YAML", loaded, map, backends::emit_yaml_document,
                            backends::parse_yaml_document);
  expect_same_after_rewrite("JSON", loaded, map, backends::emit_json_document,
                            backends::parse_json_document);
}

}  // namespace checkpoint::fuzz
