// The subcommands of checkpointctl. Each returns the process exit code
// (0 success, 1 failure) and throws checkpoint::Error for failures that
// main() reports on stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace checkpointctl {

int cmd_backends(std::ostream& out);
int cmd_dump(const std::string& uri, const std::string& format, std::ostream& out);
int cmd_get(const std::string& uri, const std::string& name, std::ostream& out);

struct SetArgs {
  std::string uri, name;
  std::uint64_t record_number = 0;
  std::optional<std::string> timestamp;  // RFC 3339 or "now"; absent: keep
  std::optional<std::string> bookmark;   // absent: keep
};
int cmd_set(const SetArgs& args, std::ostream& out);
int cmd_rm(const std::string& uri, const std::string& name, std::ostream& out);
int cmd_verify(const std::string& uri, std::ostream& out);
int cmd_convert(const std::string& src, const std::string& dst, bool force, std::ostream& out);
int cmd_salvage(const std::string& src, const std::string& dst, bool force, std::ostream& out);
// The stores of a database that holds many (postgresql:): name, states,
// update time, the writer holding it.
int cmd_stores(const std::string& uri, std::ostream& out);

}  // namespace checkpointctl
