// Running part of a conformance case in a child process, so that a store
// that crashes (SIGSEGV, SIGBUS, abort) fails the case with a message
// instead of ending the whole test program, and so that a case can change
// what only a process of its own may (its mount namespace).
#pragma once

#include <functional>
#include <string>

namespace checkpoint::conformance {

struct ChildOutcome {
  bool finished = false;  // returned from `body` (rather than crashed or killed)
  std::string text;       // what `body` returned, or how the child ended
};

// Runs `body` in a forked child and returns what it returned. An exception
// that escapes `body` is described in the text, by type.
ChildOutcome run_in_child(const std::function<std::string()>& body);

}  // namespace checkpoint::conformance
