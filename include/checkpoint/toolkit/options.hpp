// Reading a config string's options, for backend authors. Every failure is
// Error{invalid_config} quoting the config string and naming the option.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "checkpoint/export.h"
#include "checkpoint/registry.hpp"
#include "checkpoint/toolkit/file_modes.hpp"

namespace checkpoint::toolkit {

// "on"/"true"/"1"/"yes" or "off"/"false"/"0"/"no"; absent: `fallback`.
CHECKPOINT_API bool bool_option(const StoreUri& uri, const std::string& key, bool fallback);

// One of `allowed` (compared case-insensitively, returned lower case);
// absent: `fallback`. Anything else: the error lists them.
CHECKPOINT_API std::string choice_option(const StoreUri& uri, const std::string& key,
                                         std::initializer_list<const char*> allowed,
                                         const std::string& fallback);

// A non-negative integer; absent: `fallback`.
CHECKPOINT_API std::uint64_t uint_option(const StoreUri& uri, const std::string& key,
                                         std::uint64_t fallback);

// A byte size such as "1048576", "64KiB", "256MiB", "4GiB" (also KB/MB/GB as
// powers of 1000); absent: `fallback`.
CHECKPOINT_API std::uint64_t size_option(const StoreUri& uri, const std::string& key,
                                         std::uint64_t fallback);

// Options file_mode (default 0600) and dir_mode (default 0750), as
// parse_mode() in file_modes.hpp reads them. A backend that takes them
// lists both in its BackendInfo::options.
CHECKPOINT_API FileModes file_modes_option(const StoreUri& uri);

// Option lock_timeout_ms: how long a writer waits for the store's current
// writer to go before Error{locked} (WriterLock::acquire()), 0 to 2^31-1;
// absent: 0, no wait. A backend that reads it lists "lock_timeout_ms" in
// its BackendInfo::options.
CHECKPOINT_API std::chrono::milliseconds lock_timeout_option(const StoreUri& uri);

// The target as a file path; empty: the error says the backend needs one.
CHECKPOINT_API std::string require_path(const StoreUri& uri);

}  // namespace checkpoint::toolkit
