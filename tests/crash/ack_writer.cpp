// ack_writer URI SEED: opens a Checkpoint on the store URI and, for ever,
// reads records (track()s the next few of every stream, see
// crash_values.hpp) and delivers some of those in flight in random order
// (ack()s them), committing in the background every 32 releases and with
// flush() now and then. Before each ack() it writes "a STREAM RECORD\n" to
// standard output, and after each flush() "f\n". Each stream starts after
// the record number the store holds for it. The kill test
// (ack_kill_test.cpp) kills it with SIGKILL at random moments and checks
// that the store never holds a record that was not acknowledged, nor one
// after such a record, and still holds what a flush() made durable.
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "tests/crash/crash_values.hpp"

namespace {

// A plain write(): nothing is buffered in this process when it dies.
bool say(const std::string& line) {
  return ::write(STDOUT_FILENO, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace checkpoint;
  if (argc != 3) {
    std::fprintf(stderr, "usage: ack_writer URI SEED\n");
    return 2;
  }
  try {
    Options options;
    options.max_updates = 32;                         // background commits
    options.flush_interval = std::chrono::hours(24);  // never from the timer
    Checkpoint checkpoint(argv[1], options);
    std::mt19937_64 rng(std::stoull(argv[2]));
    std::vector<std::uint64_t> next(crash::kStreams, 1);
    for (int stream = 0; stream < crash::kStreams; ++stream) {
      if (auto state = checkpoint.state(crash::stream_name(stream))) {
        next[static_cast<std::size_t>(stream)] = state->record_number + 1;
      }
    }
    struct InFlight {
      int stream;
      std::uint64_t record;
      Ticket ticket;
    };
    std::vector<InFlight> in_flight;
    for (;;) {
      for (int stream = 0; stream < crash::kStreams; ++stream) {
        for (auto n = 1 + rng() % 8; n > 0; --n) {
          const std::uint64_t record = next[static_cast<std::size_t>(stream)]++;
          const EventLogState state = crash::crash_state(stream, record);
          in_flight.push_back(
              {stream, record,
               checkpoint.track(state.name, record, state.timestamp, state.bookmark)});
        }
      }
      // Deliver about half of what is in flight (more when much is), in
      // random order: some records wait several rounds.
      for (auto n = in_flight.size() / 2 + (in_flight.size() > 256 ? in_flight.size() / 4 : 0);
           n > 0; --n) {
        const std::size_t pick = rng() % in_flight.size();
        const InFlight delivered = in_flight[pick];
        in_flight[pick] = in_flight.back();
        in_flight.pop_back();
        if (!say("a " + std::to_string(delivered.stream) + " " + std::to_string(delivered.record) +
                 "\n")) {
          return 3;
        }
        checkpoint.ack(delivered.ticket);
      }
      if (rng() % 4 == 0) {
        checkpoint.flush();
        if (!say("f\n")) return 3;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ack_writer: %s\n", e.what());
    return 1;
  }
}
