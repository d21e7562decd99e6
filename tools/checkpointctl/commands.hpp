// The subcommands of checkpointctl. Each returns the process exit code
// (below) and throws checkpoint::Error for failures that main() reports on
// stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace checkpointctl {

// Exit codes.
constexpr int kOk = 0;
constexpr int kFailed = 1;    // the store failed, is damaged, or lacks the state
constexpr int kUsage = 2;     // bad arguments or config string
constexpr int kLostSome = 3;  // salvage: what could be read was written, some states were lost

// How results are printed: for people, or as JSON (docs/checkpointctl.md
// lists the fields).
enum class Output { text, json };

int cmd_backends(Output output, std::ostream& out);
int cmd_dump(const std::string& uri, const std::string& format, std::ostream& out);
int cmd_get(const std::string& uri, const std::string& name, Output output, std::ostream& out);

struct SetArgs {
  std::string uri, name;
  std::optional<std::uint64_t> record_number;  // absent: keep (required for a new state)
  std::optional<std::string> timestamp;        // RFC 3339 or "now"; absent: keep, or now
  std::optional<std::string> bookmark;         // absent: keep
};
int cmd_set(const SetArgs& args, std::ostream& out);
int cmd_rm(const std::string& uri, const std::string& name, std::ostream& out);
// "30d", "12h", "90m", "45s"; anything else: Error{invalid_argument}.
std::chrono::seconds parse_duration(const std::string& text);
// Removes, in one commit, the states no commit changed for `older_than`,
// listing each; with `dry_run`, only lists them (and only reads).
int cmd_prune(const std::string& uri, std::chrono::seconds older_than, bool dry_run,
              std::ostream& out);
int cmd_verify(const std::string& uri, Output output, std::ostream& out);
// Rewrites the store to its minimal size, as a writer; prints the size of
// its files before and after.
int cmd_compact(const std::string& uri, Output output, std::ostream& out);
int cmd_convert(const std::string& src, const std::string& dst, bool force, std::ostream& out);
int cmd_salvage(const std::string& src, const std::string& dst, bool force, Output output,
                std::ostream& out);
// The stores of a database that holds many (postgresql:): name, states,
// update time, the writer holding it.
int cmd_stores(const std::string& uri, Output output, std::ostream& out);

}  // namespace checkpointctl
