// Config strings, the backend registry, the option helpers and the memory
// backend. Only `memory` is built in here, so the tests register their own
// backends (schemes starting with "regtest") with their own extensions.
#include "checkpoint/registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"
#include "checkpoint/toolkit/options.hpp"

namespace checkpoint {
namespace {

using ::testing::HasSubstr;

// Runs `fn`, expects it to throw Error with `code`, and returns the message.
template <typename Fn>
std::string error_message(ErrorCode code, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << "message: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error{" << to_string(code) << "} thrown";
  return {};
}

// A store that holds nothing; `uri` and `options` tell what the factory was
// given.
class LabelledStore final : public Store {
 public:
  LabelledStore(StoreUri uri, OpenOptions options) : uri(std::move(uri)), options(options) {}
  Timestamp scan(const StateSink&) override { return {}; }
  void commit(const Changes&) override {}
  StoreUri uri;
  OpenOptions options;
};

std::unique_ptr<Store> open_labelled(const StoreUri& uri, const OpenOptions& options) {
  return std::make_unique<LabelledStore>(uri, options);
}

// The test backends, registered once per process whichever test runs first.
void register_test_backends() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_backend({"regtest-a", "test backend A", {"sync", "level"}, {".rta", ".RtB"}},
                     open_labelled);
    register_backend({"regtest-gz", "test: gzip", {}, {".gz"}}, open_labelled);
    register_backend({"regtest-targz", "test: tarball", {}, {".tar.gz"}}, open_labelled);
    register_backend({"regtest-null", "test: factory returns null", {}, {}},
                     [](const StoreUri&, const OpenOptions&) { return std::unique_ptr<Store>(); });
    register_backend({"regtest-throws", "test: factory throws", {}, {}},
                     [](const StoreUri& uri, const OpenOptions&) -> std::unique_ptr<Store> {
                       throw Error(ErrorCode::io, "regtest-throws " + uri.target + ": refused");
                     });
  });
}

// The StoreUri the factory saw when `uri` was opened.
StoreUri opened_with(std::string_view uri) {
  register_test_backends();
  auto store = Store::open(uri);
  auto* labelled = dynamic_cast<LabelledStore*>(store.get());
  if (labelled == nullptr) {
    ADD_FAILURE() << uri << " was not opened by a test factory";
    return {};
  }
  return labelled->uri;
}

// --- parse_store_uri ---

TEST(ParseStoreUri, SplitsSchemeAndTarget) {
  StoreUri uri = parse_store_uri("yaml:/var/lib/winlogbeat/.winlogbeat.yml");
  EXPECT_EQ(uri.text, "yaml:/var/lib/winlogbeat/.winlogbeat.yml");
  EXPECT_EQ(uri.scheme, "yaml");
  EXPECT_EQ(uri.target, "/var/lib/winlogbeat/.winlogbeat.yml");
  EXPECT_TRUE(uri.options.empty());

  EXPECT_EQ(parse_store_uri("json:state.json").target, "state.json");
  EXPECT_EQ(parse_store_uri("memory:").target, "");
  EXPECT_EQ(parse_store_uri("memory:").scheme, "memory");
}

TEST(ParseStoreUri, SchemeIsCaseInsensitive) {
  EXPECT_EQ(parse_store_uri("SQLite:state.db").scheme, "sqlite");
  EXPECT_EQ(parse_store_uri("SQLite:State.DB").target, "State.DB");  // the target keeps its case
}

TEST(ParseStoreUri, TripleSlashIsTheSameAsAnAbsolutePath) {
  StoreUri slashes = parse_store_uri("sqlite:///var/lib/state.db?busy_timeout_ms=10");
  StoreUri plain = parse_store_uri("sqlite:/var/lib/state.db?busy_timeout_ms=10");
  EXPECT_EQ(slashes.scheme, plain.scheme);
  EXPECT_EQ(slashes.target, "/var/lib/state.db");
  EXPECT_EQ(slashes.target, plain.target);
  EXPECT_EQ(slashes.options, plain.options);
}

TEST(ParseStoreUri, DoubleSlashWithoutAnAbsolutePathIsRejected) {
  for (const char* text : {"yaml://relative/state.yml", "yaml://", "yaml://host/x?sync=on"}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] { parse_store_uri(text); });
    EXPECT_THAT(message, HasSubstr(text));
    EXPECT_THAT(message, HasSubstr("absolute path"));
  }
}

TEST(ParseStoreUri, PercentDecodesTargetKeysAndValues) {
  StoreUri uri = parse_store_uri("memory:a%20b%3Fc%26d%25?k%65y=x%3Dy%26z&upper=%2F%2f");
  EXPECT_EQ(uri.target, "a b?c&d%");
  EXPECT_EQ(uri.options, (std::map<std::string, std::string>{{"key", "x=y&z"}, {"upper", "//"}}));
  // UTF-8 passes through as bytes.
  EXPECT_EQ(parse_store_uri("yaml:/tmp/%C3%BC.yml").target, "/tmp/\xC3\xBC.yml");
}

TEST(ParseStoreUri, BadPercentEscapesAreRejected) {
  for (const char* text : {"memory:%", "memory:a%4", "memory:%G0", "memory:%0g", "memory:x?a=%zz",
                           "memory:x?%=1", "memory:x?a=1%"}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] { parse_store_uri(text); });
    EXPECT_THAT(message, HasSubstr(text));
    EXPECT_THAT(message, HasSubstr("percent"));
  }
}

TEST(ParseStoreUri, EncodedNulInTheTargetIsRejected) {
  // A NUL would silently cut the path short at the operating system.
  std::string message =
      error_message(ErrorCode::invalid_config, [] { parse_store_uri("yaml:/tmp/a%00b.yml"); });
  EXPECT_THAT(message, HasSubstr("%00"));
}

TEST(ParseStoreUri, RawNulIsRejected) {
  for (std::string_view text :
       {std::string_view("yaml:/tmp/a\0b.yml", 17), std::string_view("/tmp/a\0b.yml", 12),
        std::string_view("memory:x?a=\0", 13)}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] { parse_store_uri(text); });
    EXPECT_THAT(message, HasSubstr("NUL byte at offset " + std::to_string(text.find('\0'))));
  }
}

TEST(ParseStoreUri, SplitsOptions) {
  StoreUri uri = parse_store_uri("lmdb:state.lmdb?a=1&b=2");
  EXPECT_EQ(uri.target, "state.lmdb");
  EXPECT_EQ(uri.options, (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));

  EXPECT_EQ(parse_store_uri("lmdb:x?a=").options.at("a"), "");        // empty value
  EXPECT_EQ(parse_store_uri("lmdb:x?a=b=c").options.at("a"), "b=c");  // first '=' splits
  EXPECT_TRUE(parse_store_uri("lmdb:x?").options.empty());            // empty query
  EXPECT_EQ(parse_store_uri("lmdb:x?a=1&&b=2").options.size(), 2u);   // empty pair skipped
}

TEST(ParseStoreUri, DuplicateOptionIsRejected) {
  for (const char* text : {"lmdb:x?a=1&a=2", "lmdb:x?a=1&a=1", "lmdb:x?a=1&%61=2"}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] { parse_store_uri(text); });
    EXPECT_THAT(message, HasSubstr("\"a\" given twice"));
  }
}

TEST(ParseStoreUri, OptionWithoutEqualsOrKeyIsRejected) {
  for (const char* text : {"lmdb:x?sync", "lmdb:x?a=1&sync", "lmdb:x?=1"}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] { parse_store_uri(text); });
    EXPECT_THAT(message, HasSubstr("key=value"));
    EXPECT_THAT(message, HasSubstr(text));
  }
}

TEST(ParseStoreUri, EmptyStringIsRejected) {
  error_message(ErrorCode::invalid_config, [] { parse_store_uri(""); });
}

// --- scheme-less paths ---

TEST(ParseStoreUri, PathWithoutSchemePicksTheBackendByExtension) {
  register_test_backends();
  StoreUri uri = parse_store_uri("/var/lib/app/state.rta");
  EXPECT_EQ(uri.scheme, "regtest-a");
  EXPECT_EQ(uri.target, "/var/lib/app/state.rta");
  EXPECT_EQ(parse_store_uri("state.rtb").scheme, "regtest-a");  // second extension
  // Relative paths, and colons that do not start a scheme.
  EXPECT_EQ(parse_store_uri("./dir:1/state.rta").target, "./dir:1/state.rta");
  EXPECT_EQ(parse_store_uri("./dir:1/state.rta").scheme, "regtest-a");
  EXPECT_EQ(parse_store_uri("C:\\state.rta").scheme, "regtest-a");  // a drive letter
}

TEST(ParseStoreUri, ExtensionsAreCaseInsensitive) {
  register_test_backends();
  EXPECT_EQ(parse_store_uri("STATE.RTA").scheme, "regtest-a");
  EXPECT_EQ(parse_store_uri("state.rtb").scheme, "regtest-a");  // registered as ".RtB"
  EXPECT_EQ(parse_store_uri("STATE.RTA").target, "STATE.RTA");
}

TEST(ParseStoreUri, PathIsTakenLiterally) {
  register_test_backends();
  // No percent-decoding and no options without a scheme.
  EXPECT_EQ(parse_store_uri("a%20b.rta").target, "a%20b.rta");
  error_message(ErrorCode::invalid_config, [] { parse_store_uri("state.rta?sync=off"); });
}

TEST(ParseStoreUri, LongestExtensionWins) {
  register_test_backends();
  EXPECT_EQ(parse_store_uri("backup.tar.gz").scheme, "regtest-targz");
  EXPECT_EQ(parse_store_uri("backup.gz").scheme, "regtest-gz");
}

TEST(ParseStoreUri, UnknownExtensionListsSchemesAndExtensions) {
  register_test_backends();
  for (const char* text : {"state.txt", "state", ".rta", "dir.rta/state"}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] { parse_store_uri(text); });
    EXPECT_THAT(message, HasSubstr(text));
    EXPECT_THAT(message, HasSubstr("memory"));
    EXPECT_THAT(message, HasSubstr("regtest-a"));
    EXPECT_THAT(message, HasSubstr(".rta"));
  }
}

// --- register_backend / registered_backends ---

TEST(RegisterBackend, TakenSchemeIsRejected) {
  register_test_backends();
  for (const char* scheme : {"memory", "MEMORY", "regtest-a"}) {
    std::string message = error_message(ErrorCode::invalid_argument, [&] {
      register_backend({scheme, "duplicate", {}, {}}, open_labelled);
    });
    EXPECT_THAT(message, HasSubstr("already registered"));
  }
}

TEST(RegisterBackend, TakenExtensionIsRejectedAndNothingIsRegistered) {
  register_test_backends();
  std::string message = error_message(ErrorCode::invalid_argument, [] {
    register_backend({"regtest-ext", "steals .rta", {}, {".new", ".RTA"}}, open_labelled);
  });
  EXPECT_THAT(message, HasSubstr(".RTA"));
  EXPECT_THAT(message, HasSubstr("regtest-a"));
  auto backends = registered_backends();
  EXPECT_TRUE(std::none_of(backends.begin(), backends.end(),
                           [](const BackendInfo& b) { return b.scheme == "regtest-ext"; }));
  // The same extension twice in one registration is a mistake too.
  error_message(ErrorCode::invalid_argument, [] {
    register_backend({"regtest-twice", "", {}, {".tw", ".TW"}}, open_labelled);
  });
}

TEST(RegisterBackend, InvalidSchemeIsRejected) {
  // One letter is reserved for Windows drive letters ("C:\state.yml").
  for (const char* scheme : {"", "1abc", "a b", "a:b", "a/b", "x", "-ab", "s\xC3\xBC"}) {
    std::string message = error_message(ErrorCode::invalid_argument, [&] {
      register_backend({scheme, "bad", {}, {}}, open_labelled);
    });
    EXPECT_THAT(message, HasSubstr("invalid scheme"));
  }
}

TEST(RegisterBackend, InvalidExtensionOrMissingFactoryIsRejected) {
  for (const char* ext : {"rtx", ".", ""}) {
    error_message(ErrorCode::invalid_argument, [&] {
      register_backend({"regtest-badext", "bad", {}, {ext}}, open_labelled);
    });
  }
  error_message(ErrorCode::invalid_argument, [] {
    register_backend({"regtest-nofactory", "", {}, {}}, BackendFactory());
  });
  // The same through the deprecated version 1 registration.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  error_message(ErrorCode::invalid_argument, [] {
    register_backend({"regtest-nofactory-v1", "", {}, {}}, StoreFactory());
  });
#pragma GCC diagnostic pop
}

TEST(RegisteredBackends, AreSortedAndIncludeMemory) {
  register_test_backends();
  auto backends = registered_backends();
  EXPECT_TRUE(std::is_sorted(backends.begin(), backends.end(),
                             [](const auto& a, const auto& b) { return a.scheme < b.scheme; }));
  auto memory = std::find_if(backends.begin(), backends.end(),
                             [](const BackendInfo& b) { return b.scheme == "memory"; });
  ASSERT_NE(memory, backends.end());
  EXPECT_FALSE(memory->description.empty());
  auto a = std::find_if(backends.begin(), backends.end(),
                        [](const BackendInfo& b) { return b.scheme == "regtest-a"; });
  ASSERT_NE(a, backends.end());
  EXPECT_EQ(a->options, (std::vector<std::string>{"sync", "level"}));
  EXPECT_EQ(a->extensions, (std::vector<std::string>{".rta", ".RtB"}));
}

TEST(RegisterBackend, SchemeIsStoredInLowerCase) {
  register_test_backends();
  register_backend({"RegTest-Upper", "mixed case", {}, {}}, open_labelled);
  auto backends = registered_backends();
  EXPECT_TRUE(std::any_of(backends.begin(), backends.end(),
                          [](const BackendInfo& b) { return b.scheme == "regtest-upper"; }));
  EXPECT_EQ(opened_with("REGTEST-UPPER:x").scheme, "regtest-upper");
}

// --- Store::open ---

TEST(OpenStore, CallsTheRegisteredFactoryWithTheParsedStringAndOptions) {
  StoreUri uri = opened_with("regtest-a:/var/lib/a%20b?sync=off&level=3");
  EXPECT_EQ(uri.text, "regtest-a:/var/lib/a%20b?sync=off&level=3");
  EXPECT_EQ(uri.scheme, "regtest-a");
  EXPECT_EQ(uri.target, "/var/lib/a b");
  EXPECT_EQ(uri.options, (std::map<std::string, std::string>{{"sync", "off"}, {"level", "3"}}));

  EXPECT_EQ(opened_with("data/state.RTA").target, "data/state.RTA");
  EXPECT_EQ(opened_with("regtest-a:///abs/state").target, "/abs/state");

  // The open options reach the factory as given; writers by default.
  auto default_options = Store::open("regtest-a:x");
  auto& by_default = dynamic_cast<LabelledStore&>(*default_options);
  EXPECT_EQ(by_default.options.mode, OpenMode::write);
  EXPECT_TRUE(by_default.options.create_if_missing);
  auto reading = Store::open("regtest-a:x", {.mode = OpenMode::read, .create_if_missing = false});
  auto& for_reading = dynamic_cast<LabelledStore&>(*reading);
  EXPECT_EQ(for_reading.options.mode, OpenMode::read);
  EXPECT_FALSE(for_reading.options.create_if_missing);
}

TEST(OpenStore, UnknownSchemeListsTheKnownSchemes) {
  register_test_backends();
  std::string message =
      error_message(ErrorCode::invalid_config, [] { Store::open("nosuch:/tmp/x"); });
  EXPECT_THAT(message, HasSubstr("nosuch:/tmp/x"));
  EXPECT_THAT(message, HasSubstr("unknown scheme \"nosuch\""));
  EXPECT_THAT(message, HasSubstr("memory"));
  EXPECT_THAT(message, HasSubstr("regtest-a"));
}

TEST(OpenStore, UnknownOptionListsTheKnownOptions) {
  register_test_backends();
  std::string message =
      error_message(ErrorCode::invalid_config, [] { Store::open("regtest-a:x?sync=on&bogus=1"); });
  EXPECT_THAT(message, HasSubstr("unknown option \"bogus\""));
  EXPECT_THAT(message, HasSubstr("sync, level"));

  message = error_message(ErrorCode::invalid_config, [] { Store::open("memory:?sync=off"); });
  EXPECT_THAT(message, HasSubstr("unknown option \"sync\""));
  EXPECT_THAT(message, HasSubstr("(none)"));
}

TEST(OpenStore, FactoryErrorsReachTheCaller) {
  register_test_backends();
  std::string message = error_message(ErrorCode::io, [] { Store::open("regtest-throws:t"); });
  EXPECT_EQ(message, "regtest-throws t: refused");
  error_message(ErrorCode::invalid_config, [] { Store::open("regtest-null:t"); });
}

// --- the memory backend ---

EventLogState sample(std::string name, std::uint64_t record) {
  return {std::move(name), record, Timestamp::from_unix(1'500'000'000, 7), "bm"};
}

void commit_one(Store& store, const EventLogState& state) {
  store.commit(Changes{Timestamp::from_unix(1'600'000'000), {&state, 1}, {}});
}

TEST(MemoryStore, NamedStoresAreSharedWithinTheProcess) {
  auto first = Store::open("memory:registry-test-shared");
  commit_one(*first, sample("Application", 42));
  first.reset();

  auto again = Store::open("memory:registry-test-shared", {.mode = OpenMode::read});
  PersistedState loaded = again->load();
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0], sample("Application", 42));
  EXPECT_EQ(loaded.update_time, Timestamp::from_unix(1'600'000'000));

  EXPECT_TRUE(Store::open("memory:registry-test-other")->load().states.empty());
}

TEST(MemoryStore, UnnamedStoresArePrivate) {
  auto one = Store::open("memory:");
  auto two = Store::open("memory:");
  commit_one(*one, sample("Application", 1));
  EXPECT_EQ(one->load().states.size(), 1u);
  EXPECT_TRUE(two->load().states.empty());
  EXPECT_TRUE(Store::open("memory:")->load().states.empty());
  // Nobody else can read it.
  error_message(ErrorCode::not_found, [] { Store::open("memory:", {.mode = OpenMode::read}); });
}

// --- option helpers (checkpoint/toolkit/options.hpp) ---

StoreUri with_option(const std::string& key, const std::string& value) {
  StoreUri uri;
  uri.text = "test:x?" + key + "=" + value;
  uri.scheme = "test";
  uri.target = "x";
  uri.options[key] = value;
  return uri;
}

TEST(StoreOptions, Bool) {
  StoreUri none = parse_store_uri("test:x");
  EXPECT_TRUE(toolkit::bool_option(none, "sync", true));
  EXPECT_FALSE(toolkit::bool_option(none, "sync", false));
  for (const char* v : {"on", "true", "1", "yes", "ON", "True", "YES"}) {
    EXPECT_TRUE(toolkit::bool_option(with_option("sync", v), "sync", false)) << v;
  }
  for (const char* v : {"off", "false", "0", "no", "OFF", "No"}) {
    EXPECT_FALSE(toolkit::bool_option(with_option("sync", v), "sync", true)) << v;
  }
  for (const char* v : {"", "maybe", "2", "onn", " on"}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] {
      toolkit::bool_option(with_option("sync", v), "sync", true);
    });
    EXPECT_THAT(message, HasSubstr("test:x?sync="));  // names the store
    EXPECT_THAT(message, HasSubstr("sync=\"" + std::string(v) + "\""));
  }
}

TEST(StoreOptions, Choice) {
  auto allowed = {"off", "normal", "full"};
  EXPECT_EQ(toolkit::choice_option(parse_store_uri("test:x"), "mode", allowed, "full"), "full");
  EXPECT_EQ(toolkit::choice_option(with_option("mode", "Normal"), "mode", allowed, "full"),
            "normal");
  EXPECT_EQ(toolkit::choice_option(with_option("mode", "off"), "mode", allowed, "full"), "off");
  std::string message = error_message(ErrorCode::invalid_config, [&] {
    toolkit::choice_option(with_option("mode", "fast"), "mode", allowed, "full");
  });
  EXPECT_THAT(message, HasSubstr("mode=\"fast\""));
  EXPECT_THAT(message, HasSubstr("off, normal, full"));
}

TEST(StoreOptions, Uint) {
  EXPECT_EQ(toolkit::uint_option(parse_store_uri("test:x"), "n", 7), 7u);
  EXPECT_EQ(toolkit::uint_option(with_option("n", "0"), "n", 7), 0u);
  EXPECT_EQ(toolkit::uint_option(with_option("n", "5000"), "n", 7), 5000u);
  EXPECT_EQ(toolkit::uint_option(with_option("n", "18446744073709551615"), "n", 7),
            18446744073709551615u);
  for (const char* v : {"", "-1", "+1", " 1", "1 ", "1.5", "0x10", "ten", "18446744073709551616"}) {
    std::string message = error_message(ErrorCode::invalid_config,
                                        [&] { toolkit::uint_option(with_option("n", v), "n", 7); });
    EXPECT_THAT(message, HasSubstr("n=\"" + std::string(v) + "\""));
  }
}

TEST(StoreOptions, Size) {
  auto size = [](const char* v) {
    return toolkit::size_option(with_option("map_size", v), "map_size", 1);
  };
  EXPECT_EQ(toolkit::size_option(parse_store_uri("test:x"), "map_size", 99), 99u);
  EXPECT_EQ(size("1048576"), 1048576u);
  EXPECT_EQ(size("0"), 0u);
  EXPECT_EQ(size("64KiB"), 64u << 10);
  EXPECT_EQ(size("256MiB"), 256u << 20);
  EXPECT_EQ(size("256mib"), 256u << 20);
  EXPECT_EQ(size("4GiB"), 4ull << 30);
  EXPECT_EQ(size("4G"), 4ull << 30);
  EXPECT_EQ(size("2TiB"), 2ull << 40);
  EXPECT_EQ(size("10B"), 10u);
  EXPECT_EQ(size("3KB"), 3000u);
  EXPECT_EQ(size("5MB"), 5'000'000u);
  EXPECT_EQ(size("2GB"), 2'000'000'000u);
  EXPECT_EQ(size("18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(size("16777215TiB"), 16777215ull << 40);
  for (const char* v : {"", "MiB", "lots", "1.5GiB", "-1MiB", "256 MiB", "256MiBs", "4XB",
                        "16777216TiB", "18446744073709551616"}) {
    std::string message = error_message(ErrorCode::invalid_config, [&] { size(v); });
    EXPECT_THAT(message, HasSubstr("map_size=\"" + std::string(v) + "\"")) << v;
  }
}

TEST(StoreOptions, RequirePath) {
  EXPECT_EQ(toolkit::require_path(parse_store_uri("yaml:state.yml")), "state.yml");
  std::string message = error_message(ErrorCode::invalid_config,
                                      [] { toolkit::require_path(parse_store_uri("yaml:")); });
  EXPECT_THAT(message, HasSubstr("yaml needs a file path"));
}

}  // namespace
}  // namespace checkpoint
