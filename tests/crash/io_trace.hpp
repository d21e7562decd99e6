// The writes and syncs that reach the C library, for files under one
// directory: what SQLite and LMDB really do, since they do not go through
// the toolkit's system-call seam.
//
// io_trace.cpp defines write, pwrite, pwrite64, writev, pwritev, fsync,
// fdatasync, msync and sync_file_range. Linked into a program whose symbols
// are exported (CMake ENABLE_EXPORTS, i.e. -rdynamic), they come first in
// the dynamic linker's search order, so a shared library's calls (libsqlite3,
// liblmdb) reach them, exactly as an LD_PRELOAD shim would; each notes the
// call and forwards it to the C library's (dlsym(RTLD_NEXT)). No re-exec
// and no preloading, so this also works under a sanitizer's runtime.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace checkpoint::crash {

struct IoEvent {
  enum class Kind { write, fsync, fdatasync, msync, sync_file_range };
  Kind kind = Kind::write;
  std::string path;          // the file or directory, absolute
  bool directory = false;    // fsync/fdatasync of a directory
  bool synchronous = false;  // a write through a descriptor opened O_DSYNC or O_SYNC
  std::uint64_t offset = 0;  // writes: where
  std::uint64_t length = 0;  // writes: how many bytes
};

std::string to_string(const IoEvent& event);

// Starts noting the calls on files under `dir`, forgetting earlier ones.
// One trace at a time.
void start_io_trace(const std::filesystem::path& dir);
// The calls noted since the trace started or was last taken, in order;
// the trace goes on.
std::vector<IoEvent> take_io_trace();
void stop_io_trace();

}  // namespace checkpoint::crash
