// Helpers for backends that read options from a config string.
#pragma once

#include <cstdint>
#include <string>

#include "checkpoint/registry.hpp"

namespace checkpoint::detail {

// "on"/"true"/"1"/"yes" or "off"/"false"/"0"/"no"; absent: `fallback`.
// Anything else: Error{invalid_config} naming the option and the store.
bool bool_option(const StoreUri& uri, const std::string& key, bool fallback);

// One of `allowed` (compared case-insensitively, returned lower case);
// absent: `fallback`. Anything else: Error{invalid_config} listing them.
std::string choice_option(const StoreUri& uri, const std::string& key,
                          std::initializer_list<const char*> allowed, const std::string& fallback);

// A non-negative integer; absent: `fallback`.
std::uint64_t uint_option(const StoreUri& uri, const std::string& key, std::uint64_t fallback);

// A byte size such as "1048576", "64KiB", "256MiB", "4GiB" (also KB/MB/GB as
// powers of 1000); absent: `fallback`.
std::uint64_t size_option(const StoreUri& uri, const std::string& key, std::uint64_t fallback);

// The target as a file path; empty: Error{invalid_config}.
std::string require_path(const StoreUri& uri);

}  // namespace checkpoint::detail
