// A postgresql: writer in a process of its own, for the tests that kill it
// or set two processes against each other. It reads commands on stdin and
// answers each with one line on stdout:
//
//   open URI             opens the store for writing      -> ok | error CODE MESSAGE
//   commit NAME NUMBER   commits state NAME = NUMBER      -> ok | error CODE MESSAGE
//   run URI              opens the store, then commits states "a" and "b" =
//                        1, 2, 3, ... for ever, answering "acked N" after
//                        each commit returned (until it is killed)
//   quit
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"

namespace {

using checkpoint::Changes;
using checkpoint::EventLogState;
using checkpoint::Timestamp;

EventLogState state(const std::string& name, std::uint64_t number) {
  return {name, number, Timestamp::from_unix(static_cast<std::int64_t>(number % 1'000'000'000), 1),
          "<bookmark n='" + std::to_string(number) + "'/>"};
}

void answer_error(const checkpoint::Error& e) {
  std::string message = e.what();
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  std::cout << "error " << to_string(e.code()) << " " << message << std::endl;
}

}  // namespace

int main() {
  std::unique_ptr<checkpoint::Store> store;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    try {
      if (command == "open") {
        std::string uri;
        in >> uri;
        store.reset();
        store = checkpoint::Store::open(uri);
        std::cout << "ok" << std::endl;
      } else if (command == "commit") {
        std::string name;
        std::uint64_t number = 0;
        in >> name >> number;
        const EventLogState states[] = {state(name, number)};
        store->commit(
            Changes{Timestamp::from_unix(static_cast<std::int64_t>(number), 0), states, {}});
        std::cout << "ok" << std::endl;
      } else if (command == "run") {
        std::string uri;
        in >> uri;
        store = checkpoint::Store::open(uri);
        for (std::uint64_t n = 1;; ++n) {
          // Two states of one commit: a load that finds them different saw
          // half a commit.
          const EventLogState states[] = {state("a", n), state("b", n)};
          store->commit(Changes{Timestamp::from_unix(static_cast<std::int64_t>(n), 0), states, {}});
          std::cout << "acked " << n << std::endl;
        }
      } else if (command == "quit") {
        return 0;
      } else {
        std::cout << "error invalid_argument unknown command " << command << std::endl;
      }
    } catch (const checkpoint::Error& e) {
      answer_error(e);
    }
  }
  return 0;
}
