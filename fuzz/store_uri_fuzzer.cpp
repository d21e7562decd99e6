// libFuzzer target: config strings (parse_store_uri) and the option helpers
// of checkpoint/toolkit/options.hpp on any bytes.
//
// Parsing either succeeds or throws Error{invalid_config} quoting the
// string. A parsed string spelled again with every byte of its target, keys
// and values percent-encoded parses to the same StoreUri. Each option helper
// returns a value it allows or throws Error{invalid_config} quoting the
// string, and a plain number means the same to uint_option and size_option.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/toolkit/options.hpp"

namespace {

using namespace checkpoint;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "property broken: %s\n", what.c_str());
  std::abort();
}

// Runs `call`; nullopt if it threw Error{invalid_config} quoting `quoted`.
template <typename Call>
auto config_result(Call call, std::string_view quoted) -> std::optional<decltype(call())> {
  try {
    return call();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_config) {
      fail(std::string("not Error{invalid_config}: ") + e.what());
    }
    // Messages quote the string up to a NUL, if any (what() is a C string),
    // with any password masked.
    if (std::string_view(e.what()).find(redacted_config(quoted.substr(0, quoted.find('\0')))) ==
        std::string_view::npos) {
      fail(std::string("the message does not quote the config string: ") + e.what());
    }
    return std::nullopt;
  }
}

std::string percent_encoded(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

void check_options(const StoreUri& uri) {
  using namespace checkpoint::toolkit;
  for (const auto& option : uri.options) {
    const std::string& key = option.first;
    config_result([&] { return bool_option(uri, key, false); }, uri.text);
    if (auto choice = config_result(
            [&] {
              return choice_option(uri, key, {"wal", "delete", "full"}, "none");
            },
            uri.text)) {
      if (*choice != "wal" && *choice != "delete" && *choice != "full") {
        fail("choice_option returned \"" + *choice + "\"");
      }
    }
    auto number = config_result([&] { return uint_option(uri, key, 0); }, uri.text);
    auto size = config_result([&] { return size_option(uri, key, 0); }, uri.text);
    if (number && (!size || *size != *number)) fail("a plain number is another size");
  }
  // Absent options give the fallback.
  const std::string absent = "\x01 absent";
  if (!uri.options.contains(absent) &&
      (bool_option(uri, absent, true) != true || uint_option(uri, absent, 7) != 7 ||
       size_option(uri, absent, 9) != 9 || choice_option(uri, absent, {"a"}, "b") != "b")) {
    fail("an absent option did not give its fallback");
  }
  auto path = config_result([&] { return require_path(uri); }, uri.text);
  if (path.has_value() == uri.target.empty()) fail("require_path and an empty target disagree");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = config_result([&] { return parse_store_uri(text); }, text);
  if (!parsed) return 0;
  if (parsed->text != redacted_config(text)) fail("text is not the string as given");
  if (parsed->scheme.empty()) fail("empty scheme");
  for (char c : parsed->scheme) {
    if (c >= 'A' && c <= 'Z') fail("scheme not lower case: " + parsed->scheme);
  }
  // A NUL would end the path at the operating system: another file.
  if (parsed->target.find('\0') != std::string::npos) fail("a NUL byte in the target");

  std::string spelled = parsed->scheme + ":" + percent_encoded(parsed->target);
  char separator = '?';
  for (const auto& [key, value] : parsed->options) {
    spelled += separator + percent_encoded(key) + "=" + percent_encoded(value);
    separator = '&';
  }
  auto again = config_result([&] { return parse_store_uri(spelled); }, spelled);
  if (!again) fail("the percent-encoded spelling does not parse: " + spelled);
  if (again->scheme != parsed->scheme || again->target != parsed->target ||
      again->options != parsed->options) {
    fail("the percent-encoded spelling parses differently: " + spelled);
  }
  check_options(*parsed);
  return 0;
}
