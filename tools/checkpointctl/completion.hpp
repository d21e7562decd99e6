// Shell completion scripts for checkpointctl, made from the same CLI11
// definitions as --help and the man page: its subcommands, their options
// and, for options that take one of a few values, those values.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

namespace checkpointctl {

// The values an option takes, by "SUBCOMMAND --long-name".
using OptionValues = std::map<std::string, std::vector<std::string>>;

// The completion script for `shell` ("bash", "zsh" or "fish"), for `app`'s
// subcommands and options. Positional arguments complete as files.
std::string completion_script(const std::string& shell, const CLI::App& app,
                              const OptionValues& values);

}  // namespace checkpointctl
