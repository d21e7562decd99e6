// crash_writer URI: opens a Checkpoint on the store URI and, for ever,
// persists record number n for every stream (see crash_values.hpp), calls
// flush(), and only then writes "n\n" to standard output: each line is an
// acknowledged, durable flush. It starts at one past the highest record
// number the store holds. The kill test (kill_test.cpp) kills it with
// SIGKILL at random moments and checks what the store holds.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "checkpoint/checkpoint.hpp"
#include "tests/crash/crash_values.hpp"

int main(int argc, char** argv) {
  using namespace checkpoint;
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_writer URI\n");
    return 2;
  }
  try {
    Options options;
    options.max_updates = 1'000'000'000;              // commits come from flush() only
    options.flush_interval = std::chrono::hours(24);  // never from the timer
    Checkpoint checkpoint(argv[1], options);
    std::uint64_t n = 0;
    for (const auto& [name, state] : checkpoint.states()) n = std::max(n, state.record_number);
    for (;;) {
      ++n;
      for (int stream = 0; stream < crash::kStreams; ++stream) {
        checkpoint.persist_state(crash::crash_state(stream, n));
      }
      checkpoint.flush();
      // A plain write(): nothing is buffered in this process when it dies.
      std::string line = std::to_string(n) + "\n";
      if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        return 3;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_writer: %s\n", e.what());
    return 1;
  }
}
