// Durable whole-file writes for the file-format backends (yaml, json).
//
// write_file_atomically() writes FILE.new (mode 0600, never through a
// symlink), fsyncs it, renames it over FILE and fsyncs the directory, so a
// crash leaves either the old or the new file, never a torn one. A missing
// directory tree is created with mode 0750.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace checkpoint::detail {

// The whole file, or nullopt if it does not exist. Other failures:
// Error{io} naming `store` and the file.
std::optional<std::string> read_file(const std::filesystem::path& path, std::string_view store);

// With sync=false the fsyncs are skipped (unsafe: a power cut may lose or
// tear the file). Failure: Error{io} naming `store` and FILE. A failure
// before the rename leaves FILE as it was and removes FILE.new; only the
// final directory fsync can fail after FILE was replaced.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents, bool sync,
                           std::string_view store);

// Creates `dir` and its missing parents with mode 0750 (whatever the umask).
void create_directories(const std::filesystem::path& dir, std::string_view store);

}  // namespace checkpoint::detail
