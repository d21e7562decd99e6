// Which I/O call fails: one countdown shared by every seam a test installs
// (the toolkit's system call table, the SQLite VFS shim, libfiu's POSIX
// wrappers).
// While armed, each seam asks next_call() before each call, and the Nth
// call fails with the chosen errno. Only one thread does I/O while armed.
#pragma once

#include <cstdint>
#include <string>

namespace checkpoint::fault {

// From now on, the `nth` I/O call (1-based) fails with `err`; the others go
// ahead. Clears what the previous arming recorded.
void arm(std::uint64_t nth, int err);
// No call fails any more; what happened stays readable.
void disarm();

// Asked by a seam before each call named `name` (a string literal, kept by
// pointer): 0 to go ahead, or the errno the call must fail with.
int next_call(const char* name);

// Whether the armed call came, and what was called up to it.
bool fired();
std::uint64_t calls();   // since arm()
std::string fired_at();  // "write", or "" if not fired
bool called_before_firing(const std::string& name);
std::string call_log();  // "open, fchmod, write, ..." up to the failing call

// Replaces the toolkit's system call table (checkpoint/toolkit/
// system_calls.hpp, every entry, fstat and lstat included) with one that
// asks next_call() before each call. A failed close() still closes, as on
// Linux.
void install_in_core();

}  // namespace checkpoint::fault
