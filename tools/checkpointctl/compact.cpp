// checkpointctl compact: the store rewritten to its minimal size by its
// backend (Store::compact()), as a writer, with the size of its files
// before and after (BackendInfo::files).
#include <sys/stat.h>

#include <checkpoint/registry.hpp>
#include <checkpoint/store.hpp>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "commands.hpp"
#include "format.hpp"

namespace checkpointctl {
namespace {

// The bytes of the files that exist; nullopt if the backend lists none.
std::optional<std::uint64_t> size_of(const std::vector<std::filesystem::path>& files) {
  if (files.empty()) return std::nullopt;
  std::uint64_t total = 0;
  for (const auto& file : files) {
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<std::uint64_t>(st.st_size);
    }
  }
  return total;
}

}  // namespace

int cmd_compact(const std::string& uri, Output output, std::ostream& out) {
  auto store = checkpoint::Store::open(
      uri, {.mode = checkpoint::OpenMode::write, .create_if_missing = false});
  const std::vector<std::filesystem::path> files = checkpoint::store_files(uri);
  const std::optional<std::uint64_t> before = size_of(files);
  store->compact();
  const std::optional<std::uint64_t> after = size_of(files);
  const std::string shown = checkpoint::parse_store_uri(uri).text;
  if (output == Output::json) {
    nlohmann::ordered_json result = {{"store", shown}};
    result["bytes_before"] = before ? nlohmann::ordered_json(*before) : nullptr;
    result["bytes_after"] = after ? nlohmann::ordered_json(*after) : nullptr;
    out << result.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return kOk;
  }
  out << escaped(shown, false) << ": compacted";
  if (before && after) {
    out << " from " << *before << " to " << *after << " bytes";
  } else {
    out << " (its backend keeps no files of its own to measure)";
  }
  out << "\n";
  return kOk;
}

}  // namespace checkpointctl
