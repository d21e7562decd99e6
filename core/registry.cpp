#include "checkpoint/registry.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>

#include "checkpoint/error.hpp"
#include "core/legacy_adapter.hpp"
#include "core/registry_internal.hpp"

namespace checkpoint {
namespace {

struct Backend {
  BackendInfo info;
  BackendFactory factory;
  StoreLister lister;  // empty: one store per target
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, Backend, std::less<>> backends;
};

Registry& registry() {
  static Registry r;
  return r;
}

// The built-in backends, then the plugins of CHECKPOINT_PLUGINS: once, at
// the first use of the registry. A failure to load a plugin is thrown here,
// at this use and the next ones (the flag stays unset: it is tried again,
// and plugins already loaded are not loaded twice).
void ensure_builtins() {
  detail::ensure_builtin_backends();
  static std::once_flag plugins;
  std::call_once(plugins, detail::load_environment_plugins);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A letter, then letters, digits, '+', '-' or '.'; at least two characters,
// because "C:" in "C:\state.yml" is a drive letter, not a scheme.
bool valid_scheme(std::string_view s) {
  if (s.size() < 2 || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "(none)";
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, std::string_view uri) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
    if (lo < 0) {
      throw Error(ErrorCode::invalid_config, "config string \"" + std::string(uri) +
                                                 "\": bad percent escape at \"" +
                                                 std::string(s.substr(i, 3)) + "\"");
    }
    // A NUL would cut a path short at the operating system: a different file.
    if (hi == 0 && lo == 0) {
      throw Error(ErrorCode::invalid_config,
                  "config string \"" + std::string(uri) + "\": %00 (NUL) is not allowed");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// The backend with the longest extension that ends the path (".tar.gz" over
// ".gz"), or nullptr.
const Backend* backend_for_extension(const Registry& r, std::string_view path) {
  std::string p = lower(path);
  const Backend* best = nullptr;
  std::size_t best_size = 0;
  for (const auto& [scheme, backend] : r.backends) {
    for (const auto& ext : backend.info.extensions) {
      if (p.size() > ext.size() && ext.size() > best_size && p.ends_with(lower(ext))) {
        best = &backend;
        best_size = ext.size();
      }
    }
  }
  return best;
}

std::string known_extensions(const Registry& r) {
  std::vector<std::string> items;
  for (const auto& [scheme, backend] : r.backends) {
    for (const auto& ext : backend.info.extensions) items.push_back(ext + " (" + scheme + ")");
  }
  return join(items);
}

std::string known_schemes(const Registry& r) {
  std::vector<std::string> items;
  for (const auto& [scheme, backend] : r.backends) items.push_back(scheme);
  return join(items);
}

// Whether an option holds a secret: "password", "sslpassword", ...
bool is_secret(std::string_view key) { return lower(key).ends_with("password"); }

// "key=value" of a query as messages may show it: "key=***" for a secret.
std::string redacted_pair(std::string_view pair) {
  auto eq = pair.find('=');
  std::string key(pair.substr(0, eq));
  std::string decoded;
  for (std::size_t i = 0; i < key.size(); ++i) {  // leniently: "%zz" stays as it is
    int hi = key[i] == '%' && i + 2 < key.size() ? hex_value(key[i + 1]) : -1;
    int lo = hi >= 0 ? hex_value(key[i + 2]) : -1;
    if (lo < 0) {
      decoded += key[i];
    } else {
      decoded += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  if (eq == std::string_view::npos || !is_secret(decoded)) return std::string(pair);
  return key + "=***";
}

// The config string as messages show it: the PASSWORD of
// SCHEME://USER:PASSWORD@HOST and the values of options that hold secrets
// replaced by "***".
std::string redacted(std::string_view uri) {
  auto colon = uri.find(':');
  if (colon == std::string_view::npos || !valid_scheme(uri.substr(0, colon))) {
    return std::string(uri);
  }
  std::string out(uri.substr(0, colon + 1));
  std::string_view rest = uri.substr(colon + 1);
  auto question = rest.find('?');
  std::string_view target = rest.substr(0, question);
  if (target.starts_with("//") && !target.starts_with("///")) {
    std::string_view authority = target.substr(2, target.find('/', 2) - 2);
    auto at = authority.rfind('@');
    auto password_colon =
        at == std::string_view::npos ? std::string_view::npos : authority.substr(0, at).find(':');
    if (password_colon != std::string_view::npos) {
      out += std::string(target.substr(0, 2 + password_colon + 1)) + "***" +
             std::string(target.substr(2 + at));
    } else {
      out += target;
    }
  } else {
    out += target;
  }
  if (question == std::string_view::npos) return out;
  out += '?';
  std::string_view query = rest.substr(question + 1);
  bool first = true;
  while (true) {
    auto amp = query.find('&');
    if (!first) out += '&';
    first = false;
    out += redacted_pair(query.substr(0, amp));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// Whether the backend of `scheme` takes SCHEME://HOST/NAME.
bool is_network(const std::string& scheme) {
  ensure_builtins();
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.backends.find(scheme);
  return it != r.backends.end() && it->second.info.network;
}

}  // namespace

namespace detail {

void ensure_builtin_backends() {
  static std::once_flag once;
  std::call_once(once, register_builtin_backends);
}

namespace {

// Checks a new backend against itself and the registry (mutex held).
// Invalid: Error{code} whose message starts with `who`.
void check_new_backend(const Registry& r, BackendInfo& info, const BackendFactory& factory,
                       ErrorCode code, std::string_view who) {
  const std::string prefix = std::string(who) + ": ";
  info.scheme = lower(info.scheme);
  if (!valid_scheme(info.scheme)) {
    throw Error(code, prefix + "invalid scheme \"" + info.scheme +
                          "\" (a letter, then at least one more letter, digit, '+', '-' or '.')");
  }
  if (!factory) {
    throw Error(code, prefix + "backend \"" + info.scheme + "\" has no factory");
  }
  for (std::size_t i = 0; i < info.extensions.size(); ++i) {
    const auto& ext = info.extensions[i];
    if (ext.size() < 2 || ext[0] != '.') {
      throw Error(code, prefix + "backend \"" + info.scheme + "\": extension \"" + ext +
                            "\" must be a '.' followed by at least one character");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (lower(info.extensions[j]) == lower(ext)) {
        throw Error(
            code, prefix + "backend \"" + info.scheme + "\" lists extension \"" + ext + "\" twice");
      }
    }
  }
  if (auto it = r.backends.find(info.scheme); it != r.backends.end()) {
    throw Error(code, prefix + "scheme \"" + info.scheme + "\" is already registered (" +
                          it->second.info.origin + ")");
  }
  for (const auto& ext : info.extensions) {
    for (const auto& [scheme, other] : r.backends) {
      for (const auto& taken : other.info.extensions) {
        if (lower(taken) == lower(ext)) {
          throw Error(code, prefix + "extension \"" + ext + "\" already belongs to \"" + scheme +
                                "\" (" + other.info.origin + ")");
        }
      }
    }
  }
}

}  // namespace

void add_backend(BackendInfo info, BackendFactory factory, StoreLister lister) {
  if (info.origin.empty()) info.origin = "built-in";
  std::vector<NewBackend> one;
  one.push_back({std::move(info), std::move(factory), std::move(lister)});
  add_backends(std::move(one), ErrorCode::invalid_argument, "register_backend");
}

void add_backends(std::vector<NewBackend> backends, ErrorCode code, std::string_view who) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> added;
  try {
    for (auto& backend : backends) {
      check_new_backend(r, backend.info, backend.factory, code, who);
      std::string scheme = backend.info.scheme;
      r.backends.emplace(scheme, Backend{std::move(backend.info), std::move(backend.factory),
                                         std::move(backend.lister)});
      added.push_back(std::move(scheme));
    }
  } catch (...) {
    for (const auto& scheme : added) r.backends.erase(scheme);  // all or none
    throw;
  }
}

}  // namespace detail

void register_backend(BackendInfo info, BackendFactory factory) {
  ensure_builtins();
  info.origin = "program";
  detail::add_backend(std::move(info), std::move(factory));
}

void register_backend(BackendInfo info, BackendFactory factory, StoreLister lister) {
  if (!lister) {
    throw Error(ErrorCode::invalid_argument,
                "register_backend: backend \"" + info.scheme + "\" has no store lister");
  }
  ensure_builtins();
  info.origin = "program";
  detail::add_backend(std::move(info), std::move(factory), std::move(lister));
}

void register_backend(BackendInfo info, StoreFactory factory) {
  if (!factory) {
    throw Error(ErrorCode::invalid_argument,
                "register_backend: backend \"" + info.scheme + "\" has no factory");
  }
  register_backend(std::move(info),
                   [factory = std::move(factory)](
                       const StoreUri& uri, const OpenOptions& options) -> std::unique_ptr<Store> {
                     auto store = factory(uri);
                     if (!store) return nullptr;
                     // The target as messages may show it (no password).
                     const std::string target =
                         redacted(uri.scheme + ":" + uri.target).substr(uri.scheme.size() + 1);
                     return detail::from_legacy(std::move(store), options.mode,
                                                uri.scheme + " store " + target);
                   });
}

std::vector<BackendInfo> registered_backends() {
  ensure_builtins();
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<BackendInfo> out;
  for (const auto& [scheme, backend] : r.backends) out.push_back(backend.info);
  return out;
}

std::string redacted_config(std::string_view uri) { return redacted(uri); }

StoreUri parse_store_uri(std::string_view uri) {
  StoreUri out;
  // Every message quotes this, never the text as given: it holds no password.
  const std::string shown = redacted(uri);
  out.text = shown;
  if (uri.empty()) throw Error(ErrorCode::invalid_config, "empty config string");
  // A NUL would cut a path short at the operating system: a different file.
  // (The message stops before it: what() is a C string.)
  if (auto nul = uri.find('\0'); nul != std::string_view::npos) {
    throw Error(ErrorCode::invalid_config, "config string \"" + redacted(uri.substr(0, nul)) +
                                               "...\": a NUL byte at offset " +
                                               std::to_string(nul) + " is not allowed");
  }

  auto colon = uri.find(':');
  std::string_view scheme = colon == std::string_view::npos ? "" : uri.substr(0, colon);
  // Not a scheme (e.g. "./a:b.yml", or "C:" a drive letter): a plain path.
  if (!valid_scheme(scheme)) {
    // A plain path: the extension picks the backend; no decoding, no options.
    ensure_builtins();
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    const Backend* backend = backend_for_extension(r, uri);
    if (backend == nullptr) {
      throw Error(ErrorCode::invalid_config,
                  "config string \"" + shown +
                      "\": no scheme, and the extension names no backend; write SCHEME:PATH "
                      "(schemes: " +
                      known_schemes(r) + ") or use an extension: " + known_extensions(r));
    }
    out.scheme = backend->info.scheme;
    out.target = std::string(uri);
    return out;
  }

  out.scheme = lower(scheme);
  std::string_view rest = uri.substr(colon + 1);
  auto question = rest.find('?');
  std::string_view target = rest.substr(0, question);
  std::optional<std::string> password;  // of SCHEME://USER:PASSWORD@HOST
  if (target.starts_with("//") && !target.starts_with("///") && is_network(out.scheme)) {
    // SCHEME://[USER[:PASSWORD]@]HOSTS/NAME: kept as written for the
    // backend to split (a host may be a percent-encoded socket directory),
    // less the password.
    target.remove_prefix(2);
    std::string_view authority = target.substr(0, target.find('/'));
    auto at = authority.rfind('@');
    auto password_colon =
        at == std::string_view::npos ? std::string_view::npos : authority.substr(0, at).find(':');
    if (password_colon == std::string_view::npos) {
      out.target = std::string(target);
    } else {
      std::string_view secret = authority.substr(password_colon + 1, at - password_colon - 1);
      try {
        password = percent_decode(secret, shown);
      } catch (const Error&) {
        // The escape's own text would show a part of the password.
        throw Error(ErrorCode::invalid_config,
                    "config string \"" + shown + "\": bad percent escape in the password");
      }
      out.target = std::string(target.substr(0, password_colon)) + std::string(target.substr(at));
    }
  } else {
    if (target.starts_with("//")) {
      if (target.size() < 3 || target[2] != '/') {
        throw Error(ErrorCode::invalid_config,
                    "config string \"" + shown + "\": \"" + out.scheme +
                        "://\" must be followed by an absolute path, as in " + out.scheme +
                        ":///var/lib/state");
      }
      target.remove_prefix(2);
    }
    out.target = percent_decode(target, shown);
  }

  if (question != std::string_view::npos) {
    std::string_view query = rest.substr(question + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (pair.empty()) continue;
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        throw Error(ErrorCode::invalid_config, "config string \"" + shown + "\": option \"" +
                                                   redacted_pair(pair) + "\" is not key=value");
      }
      std::string key = percent_decode(pair.substr(0, eq), shown);
      std::string value;
      try {
        value = percent_decode(pair.substr(eq + 1), shown);
      } catch (const Error&) {
        if (!is_secret(key)) throw;
        throw Error(ErrorCode::invalid_config,
                    "config string \"" + shown + "\": bad percent escape in option " + key);
      }
      if (!out.options.emplace(key, std::move(value)).second) {
        throw Error(ErrorCode::invalid_config,
                    "config string \"" + shown + "\": option \"" + key + "\" given twice");
      }
    }
  }
  if (password && !out.options.emplace("password", std::move(*password)).second) {
    throw Error(ErrorCode::invalid_config, "config string \"" + shown +
                                               "\": a password both before the host and in "
                                               "option \"password\"");
  }
  return out;
}

namespace {

// The backend a parsed config string names, its options checked; called
// with the registry's mutex held. Unknown scheme or option:
// Error{invalid_config}.
const Backend& checked_backend(const Registry& r, const StoreUri& parsed) {
  auto it = r.backends.find(parsed.scheme);
  if (it == r.backends.end()) {
    throw Error(ErrorCode::invalid_config, "config string \"" + parsed.text +
                                               "\": unknown scheme \"" + parsed.scheme +
                                               "\"; known schemes: " + known_schemes(r));
  }
  const BackendInfo& info = it->second.info;
  for (const auto& [key, value] : parsed.options) {
    if (std::find(info.options.begin(), info.options.end(), key) == info.options.end()) {
      throw Error(ErrorCode::invalid_config,
                  "config string \"" + parsed.text + "\": unknown option \"" + key + "\" for " +
                      info.scheme + "; known options: " + join(info.options));
    }
  }
  return it->second;
}

}  // namespace

std::unique_ptr<Store> Store::open(std::string_view uri, OpenOptions options) {
  StoreUri parsed = parse_store_uri(uri);
  ensure_builtins();
  BackendFactory factory;
  {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    factory = checked_backend(r, parsed).factory;
  }
  auto store = factory(parsed, options);
  if (!store) {
    throw Error(ErrorCode::invalid_config,
                "config string \"" + parsed.text + "\": backend returned no store");
  }
  return store;
}

std::vector<StoreSummary> list_stores(std::string_view uri) {
  StoreUri parsed = parse_store_uri(uri);
  ensure_builtins();
  StoreLister lister;
  {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    lister = checked_backend(r, parsed).lister;
  }
  if (!lister) {
    throw Error(ErrorCode::unsupported, "config string \"" + parsed.text + "\": a " +
                                            parsed.scheme +
                                            " store is one per target: there are no stores "
                                            "to list");
  }
  std::vector<StoreSummary> stores = lister(parsed);
  std::sort(stores.begin(), stores.end(),
            [](const StoreSummary& a, const StoreSummary& b) { return a.name < b.name; });
  return stores;
}

std::vector<std::filesystem::path> store_files(std::string_view uri) {
  StoreUri parsed = parse_store_uri(uri);
  ensure_builtins();
  StoreFileLister files;
  {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    files = checked_backend(r, parsed).info.files;
  }
  if (!files) return {};
  return files(parsed);
}

StoreMover store_mover(std::string_view uri) {
  StoreUri parsed = parse_store_uri(uri);
  ensure_builtins();
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  return checked_backend(r, parsed).info.move_aside;
}

std::unique_ptr<StateStore> open_store(std::string_view uri) {
  return detail::to_legacy(Store::open(uri));
}

}  // namespace checkpoint
