// The C header from C++, in one translation unit with the C++ API (whose
// namespace is named `checkpoint` too): both compile together, and a state
// persisted through one is seen through the other's reader.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint.hpp"

int main() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("c_api_cxx_test." + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "state.yml").string();
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "failed: %s\n", what);
      ++failures;
    }
  };

  checkpoint_handle* cp = nullptr;
  checkpoint_options options = CHECKPOINT_OPTIONS_INIT;
  check(checkpoint_open(path.c_str(), &options, &cp, nullptr) == CHECKPOINT_OK, "checkpoint_open");
  check(checkpoint_persist(cp, "Application", 7, 1512486962, 672130300, "mark") == CHECKPOINT_OK,
        "checkpoint_persist");
  check(checkpoint_close(cp) == CHECKPOINT_OK, "checkpoint_close");

  // The C++ API reads what the C API wrote.
  const checkpoint::PersistedState loaded =
      checkpoint::Store::open(path, {.mode = checkpoint::OpenMode::read})->load();
  check(loaded.states.size() == 1 && loaded.states[0].name == "Application" &&
            loaded.states[0].record_number == 7 &&
            loaded.states[0].timestamp == checkpoint::Timestamp::from_unix(1512486962, 672130300) &&
            loaded.states[0].bookmark == "mark",
        "the state read back through the C++ API");

  // A C++ exception inside becomes a code outside.
  check(checkpoint_open("nosuch:x", nullptr, &cp, nullptr) == CHECKPOINT_INVALID_CONFIG,
        "an unknown scheme is CHECKPOINT_INVALID_CONFIG");
  fs::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
