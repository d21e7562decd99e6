#include "checkpoint/toolkit/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "checkpoint/error.hpp"

namespace checkpoint::toolkit {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

[[noreturn]] void bad_value(const StoreUri& uri, const std::string& key, const std::string& want) {
  throw Error(ErrorCode::invalid_config, "config string \"" + uri.text + "\": option " + key +
                                             "=\"" + uri.options.at(key) + "\" is invalid; " +
                                             want);
}

bool parse_uint(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

bool bool_option(const StoreUri& uri, const std::string& key, bool fallback) {
  auto it = uri.options.find(key);
  if (it == uri.options.end()) return fallback;
  std::string v = lower(it->second);
  if (v == "on" || v == "true" || v == "1" || v == "yes") return true;
  if (v == "off" || v == "false" || v == "0" || v == "no") return false;
  bad_value(uri, key, "expected on or off");
}

std::string choice_option(const StoreUri& uri, const std::string& key,
                          std::initializer_list<const char*> allowed, const std::string& fallback) {
  auto it = uri.options.find(key);
  if (it == uri.options.end()) return fallback;
  std::string v = lower(it->second);
  std::string list;
  for (const char* a : allowed) {
    if (v == a) return v;
    list += list.empty() ? "" : ", ";
    list += a;
  }
  bad_value(uri, key, "expected one of: " + list);
}

std::uint64_t uint_option(const StoreUri& uri, const std::string& key, std::uint64_t fallback) {
  auto it = uri.options.find(key);
  if (it == uri.options.end()) return fallback;
  std::uint64_t v;
  if (!parse_uint(it->second, v)) bad_value(uri, key, "expected a non-negative integer");
  return v;
}

std::chrono::milliseconds lock_timeout_option(const StoreUri& uri) {
  const std::string key = "lock_timeout_ms";
  std::uint64_t value = uint_option(uri, key, 0);
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())) {
    bad_value(uri, key,
              "expected 0 to " + std::to_string(std::numeric_limits<std::int32_t>::max()));
  }
  return std::chrono::milliseconds(value);
}

std::uint64_t size_option(const StoreUri& uri, const std::string& key, std::uint64_t fallback) {
  auto it = uri.options.find(key);
  if (it == uri.options.end()) return fallback;
  const std::string& s = it->second;
  auto digits_end = std::find_if(s.begin(), s.end(), [](char c) { return c < '0' || c > '9'; });
  std::uint64_t number;
  const char* want = "expected a size such as 1048576, 64KiB, 256MiB or 4GiB";
  if (!parse_uint(std::string_view(s.data(), digits_end - s.begin()), number)) {
    bad_value(uri, key, want);
  }
  std::string unit = lower(std::string(digits_end, s.end()));
  std::uint64_t scale = 1;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "kib" || unit == "k")
    scale = 1ull << 10;
  else if (unit == "mib" || unit == "m")
    scale = 1ull << 20;
  else if (unit == "gib" || unit == "g")
    scale = 1ull << 30;
  else if (unit == "tib" || unit == "t")
    scale = 1ull << 40;
  else if (unit == "kb")
    scale = 1000ull;
  else if (unit == "mb")
    scale = 1000ull * 1000;
  else if (unit == "gb")
    scale = 1000ull * 1000 * 1000;
  else if (unit == "tb")
    scale = 1000ull * 1000 * 1000 * 1000;
  else
    bad_value(uri, key, want);
  if (number > std::numeric_limits<std::uint64_t>::max() / scale) bad_value(uri, key, "too large");
  return number * scale;
}

FileModes file_modes_option(const StoreUri& uri) {
  FileModes modes;
  auto read = [&](const std::string& key, ModeOf of, mode_t& mode) {
    auto it = uri.options.find(key);
    if (it == uri.options.end()) return;
    try {
      mode = parse_mode(key, it->second, of);
    } catch (const Error& e) {
      bad_value(uri, key, e.details().reason);
    }
  };
  read("file_mode", ModeOf::file, modes.file);
  read("dir_mode", ModeOf::directory, modes.dir);
  return modes;
}

std::string require_path(const StoreUri& uri) {
  if (uri.target.empty()) {
    throw Error(ErrorCode::invalid_config, "config string \"" + uri.text + "\": " + uri.scheme +
                                               " needs a file path, as in " + uri.scheme +
                                               ":/var/lib/app/state");
  }
  return uri.target;
}

}  // namespace checkpoint::toolkit
