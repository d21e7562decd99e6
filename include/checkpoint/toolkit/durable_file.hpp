// Durable whole-file I/O for backends that keep their data in files.
//
// write_file_atomically() writes FILE.new (mode 0600 or the FileModes
// given, whatever the umask; never through a symlink), fsyncs it, renames
// it over FILE and fsyncs the directory, so a crash or power cut leaves
// either the old or the new file, never a torn one. FILE may be a symbolic
// link: the file it leads to is replaced, and the link stays
// (follow_symlinks()). A missing directory tree is created with mode 0750
// (or the FileModes' dir), each new directory entry synced. Every system
// call goes through system_calls.hpp, so the conformance suite can fail or
// cut the power at any of them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "checkpoint/export.h"
#include "checkpoint/toolkit/file_modes.hpp"

namespace checkpoint::toolkit {

// The whole file, or nullopt if it does not exist. Something that is not a
// regular file (a directory, a FIFO, a device): Error{invalid_config} naming
// it; it is opened without blocking and never read past the size it had
// when opened. Other failures: Error{io} naming `store` and the file.
CHECKPOINT_API std::optional<std::string> read_file(const std::filesystem::path& path,
                                                    std::string_view store);

// With sync=false the fsyncs are skipped (unsafe: a power cut may lose or
// tear the file). Failure: Error{io} naming `store` and FILE. A failure
// before the rename leaves FILE as it was and removes FILE.new; only the
// final directory fsync can fail after FILE was replaced. FILE (through
// FILE.new) gets modes.file, missing directories modes.dir.
CHECKPOINT_API void write_file_atomically(const std::filesystem::path& path,
                                          std::string_view contents, bool sync,
                                          std::string_view store, const FileModes& modes = {});

// Creates `dir` and its missing parents with `mode` (whatever the umask),
// syncing the directory that holds each new one; existing directories are
// left as they are. Failure: Error{io}.
CHECKPOINT_API void create_directories(const std::filesystem::path& dir, std::string_view store,
                                       mode_t mode = FileModes{}.dir);

// fsync()s a directory, making the entries created in it durable.
CHECKPOINT_API void sync_directory(const std::filesystem::path& dir, std::string_view store);

// The file that `path` names when its last component is a symbolic link:
// the link's target (a relative target taken from the link's directory),
// followed again while that is a link too; `path` itself otherwise, whether
// or not it exists. Directories on the way are left as they are: the
// kernel resolves them the same way for every name that passes through
// them. A store that keeps its data at the result, and its lock and
// temporary files beside it, is one store whatever link reaches it. Too
// many links (a loop): Error{invalid_config} naming `store` and `path`;
// another failure: Error{io}.
CHECKPOINT_API std::filesystem::path follow_symlinks(const std::filesystem::path& path,
                                                     std::string_view store);

// For a file that a library opens beside the store by itself, such as
// LMDB's lock file or SQLite's journals: if it exists as anything but a
// regular file with one name, Error{invalid_config} naming it, before the
// library opens it (a FIFO would block it; through a hard link or a
// symlink it would write another file). A missing file is fine. Failure to
// look: Error{io}.
CHECKPOINT_API void check_companion_file(const std::filesystem::path& path, std::string_view store);

// True if `path` exists (as anything, a dangling symlink included).
CHECKPOINT_API bool exists(const std::filesystem::path& path, std::string_view store);

}  // namespace checkpoint::toolkit
