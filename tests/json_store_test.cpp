// What is specific to the JSON backend: the document it writes, integers
// written as integers, and how it reports damaged files. Everything every
// store must do is in the conformance suite (json_conformance_test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "checkpoint/checkpoint.hpp"
#include "tests/document_checksum_reference.hpp"
#include "tests/state_values.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

using testing::crc32c_hex;
using ::testing::HasSubstr;

class JsonStoreTest : public ::testing::Test {
 protected:
  std::string uri() const { return "json:" + path_.string(); }
  std::string label() const { return "json store " + path_.string(); }

  void write(const std::string& text) { testing::write_bytes(path_, text); }
  std::string read() const { return testing::read_bytes(path_); }

  std::unique_ptr<Store> open_reader(const std::string& suffix = "") const {
    return Store::open(uri() + suffix, {.mode = OpenMode::read});
  }
  PersistedState load() const { return open_reader()->load(); }

  // Makes the store hold exactly `states` (upserting them, removing the
  // rest), through a writer.
  void commit(const StateMap& states, Timestamp update_time) {
    auto store = Store::open(uri());
    std::vector<EventLogState> upserted;
    std::vector<std::string> removed;
    for (const auto& [name, state] : states) upserted.push_back(state);
    for (const auto& held : store->load().states) {
      if (!states.contains(held.name)) removed.push_back(held.name);
    }
    store->commit(Changes{update_time, upserted, removed});
  }

  // Loads a file holding `text`; expects Error{corrupt} whose message names
  // the file and contains `what`. The error, for more checks.
  std::optional<Error> expect_corrupt(const std::string& text, const std::string& what) {
    SCOPED_TRACE("file: " + ::testing::PrintToString(text.substr(0, 200)));
    write(text);
    std::optional<Error> error;
    try {
      load();
      ADD_FAILURE() << "loaded without an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(label() + ": "));
      EXPECT_THAT(e.what(), HasSubstr(what));
      EXPECT_EQ(e.details().store, label());
      error = e;
    }
    EXPECT_EQ(read(), text) << "a failed load changed the file";
    return error;
  }

  testing::TempDir dir_{"json-store-test"};
  std::filesystem::path path_ = dir_ / "state.json";
};

const char* const kXml =
    "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
    "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>";

StateMap winlogbeat_states() {
  return {{"Application",
           {"Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"), "",
            Timestamp::parse("2017-12-05T15:16:07.841893Z")}},
          {"Microsoft-Windows-Sysmon/Operational",
           {"Microsoft-Windows-Sysmon/Operational", 204,
            Timestamp::parse("2017-11-28T00:27:30.1588877Z"), kXml,
            Timestamp::parse("2017-12-01T00:00:00Z")}}};
}

// A valid document with `entry` as its only event log.
std::string with_entry(const std::string& entry) {
  return R"({"update_time": "2017-12-05T15:16:07.841893Z", "event_logs": [)" + entry + "]}";
}

TEST(ChecksumReference, IsCrc32c) {
  EXPECT_EQ(crc32c_hex("123456789"), "e3069283");  // the CRC-32C check value
  EXPECT_EQ(crc32c_hex(""), "00000000");
}

// The document, then a last member "checksum": the CRC-32C of every byte
// before its line.
TEST_F(JsonStoreTest, WritesTheYamlFormatsDocument) {
  commit(winlogbeat_states(), Timestamp::parse("2017-12-05T15:16:07.841893Z"));
  const std::string covered = R"({
  "update_time": "2017-12-05T15:16:07.841893Z",
  "event_logs": [
    {
      "name": "Application",
      "record_number": 250502,
      "timestamp": "2017-12-05T15:16:02.6721303Z",
      "update_time": "2017-12-05T15:16:07.841893Z"
    },
    {
      "name": "Microsoft-Windows-Sysmon/Operational",
      "record_number": 204,
      "timestamp": "2017-11-28T00:27:30.1588877Z",
      "update_time": "2017-12-01T00:00:00Z",
      "bookmark": "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>"
    }
  ],
)";
  EXPECT_EQ(read(), covered + "  \"checksum\": \"" + crc32c_hex(covered) + "\"\n}\n");
}

TEST_F(JsonStoreTest, EmptyStoreHasAnEmptyArray) {
  commit({}, Timestamp());
  const std::string covered =
      "{\n  \"update_time\": \"0001-01-01T00:00:00Z\",\n  \"event_logs\": [],\n";
  EXPECT_EQ(read(), covered + "  \"checksum\": \"" + crc32c_hex(covered) + "\"\n}\n");
}

TEST_F(JsonStoreTest, RecordNumbersAreJsonIntegersNotFloats) {
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  commit({{"a", {"a", max, Timestamp(), ""}},
          {"b", {"b", (std::uint64_t{1} << 53) + 1, Timestamp(), ""}},
          {"c", {"c", 0, Timestamp(), ""}}},
         Timestamp());
  const std::string text = read();
  EXPECT_NE(text.find("\"record_number\": 18446744073709551615,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"record_number\": 9007199254740993,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"record_number\": 0,"), std::string::npos) << text;
  // Every record_number is plain digits: no fraction, no exponent.
  for (auto at = text.find("\"record_number\": "); at != std::string::npos;
       at = text.find("\"record_number\": ", at + 1)) {
    auto begin = at + 17, end = text.find_first_of(",\n}", begin);
    std::string number = text.substr(begin, end - begin);
    EXPECT_EQ(number.find_first_not_of("0123456789"), std::string::npos) << number;
  }
}

TEST_F(JsonStoreTest, ReadsDocumentsWrittenByOthers) {
  // Compact, keys in another order, an empty bookmark, a time with an offset.
  write(R"({"event_logs":[{"timestamp":"2017-12-05T07:16:02.5-08:00","bookmark":"",)"
        R"("record_number":18446744073709551615,"name":"Application"}],)"
        R"("update_time":"2017-12-05T15:16:07Z"})");
  PersistedState loaded = load();
  EXPECT_EQ(loaded.update_time, Timestamp::parse("2017-12-05T15:16:07Z"));
  ASSERT_EQ(loaded.states.size(), 1u);
  // Written without its own update time: it takes the store's.
  EXPECT_EQ(loaded.states[0].update_time, loaded.update_time);
  EXPECT_EQ(testing::values(loaded.states[0]),
            (EventLogState{"Application", std::numeric_limits<std::uint64_t>::max(),
                           Timestamp::parse("2017-12-05T15:16:02.5Z"), ""}));
}

TEST_F(JsonStoreTest, LoadSortsByName) {
  write(with_entry(R"({"name": "b", "record_number": 2, "timestamp": "2017-01-01T00:00:00Z"},)"
                   R"({"name": "a", "record_number": 1, "timestamp": "2017-01-01T00:00:00Z"})"));
  PersistedState loaded = load();
  ASSERT_EQ(loaded.states.size(), 2u);
  EXPECT_EQ(loaded.states[0].name, "a");
  EXPECT_EQ(loaded.states[1].name, "b");
}

TEST_F(JsonStoreTest, ExtensionAndOptions) {
  EXPECT_EQ(parse_store_uri(path_.string()).scheme, "json");
  EXPECT_EQ(parse_store_uri("STATE.JSON").scheme, "json");
  commit(winlogbeat_states(), Timestamp());
  EXPECT_EQ(Store::open(path_.string(), {.mode = OpenMode::read})->load().states.size(), 2u);
  EXPECT_EQ(open_reader("?sync=off")->load().states.size(), 2u);
  EXPECT_EQ(Store::open(uri() + "?sync=off")->load().states.size(), 2u);
  for (const std::string& bad : {uri() + "?sync=sometimes", std::string("json:")}) {
    for (OpenMode mode : {OpenMode::write, OpenMode::read}) {
      try {
        Store::open(bad, {.mode = mode});
        ADD_FAILURE() << bad << " accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
      }
    }
  }
}

// Reading creates and locks nothing; a writer holds the lock from its open.
TEST_F(JsonStoreTest, ReadersAndWriters) {
  const std::filesystem::path lock = path_.string() + ".lock";
  auto expect_code = [&](ErrorCode code, auto&& action) {
    try {
      action();
      ADD_FAILURE() << "no error, expected " << to_string(code);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(label() + ": "));
    }
  };
  expect_code(ErrorCode::not_found, [&] { open_reader(); });
  expect_code(ErrorCode::not_found,
              [&] { Store::open(uri(), {.mode = OpenMode::write, .create_if_missing = false}); });
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
  {
    auto writer = Store::open(uri());
    EXPECT_TRUE(std::filesystem::exists(lock));
    expect_code(ErrorCode::locked, [&] { Store::open(uri()); });
    const auto states = winlogbeat_states();
    const std::vector<EventLogState> upserted = {states.begin()->second};
    writer->commit(Changes{Timestamp(), upserted, {}});
    auto reader = open_reader();
    EXPECT_EQ(reader->load().states, upserted);
    expect_code(ErrorCode::invalid_argument, [&] {
      reader->commit(Changes{Timestamp(), upserted, {}});
    });
  }
  std::filesystem::remove(lock);
  EXPECT_EQ(load().states.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(lock));
}

TEST_F(JsonStoreTest, DamagedFiles) {
  expect_corrupt("", "the file is empty");
  expect_corrupt(" \n", "the file is empty");
  expect_corrupt(std::string(4096, '\0'), "only NUL bytes");
  std::string whole =
      with_entry(R"({"name": "a", "record_number": 1, "timestamp": "2017-01-01T00:00:00Z"})");
  expect_corrupt(whole.substr(0, whole.size() / 2), "not valid JSON");
  expect_corrupt(whole.substr(0, whole.size() - 1), "not valid JSON");
  expect_corrupt(whole + std::string(16, '\0'),
                 "a NUL byte at offset " + std::to_string(whole.size()));
  expect_corrupt(std::string(8, '\0') + whole, "a NUL byte at offset 0");
  expect_corrupt(whole + " {}", "not valid JSON");
  expect_corrupt("update_time: 2017-12-05T15:16:07Z\nevent_logs: []\n", "not valid JSON");
  expect_corrupt("{\"update_time\": \"2017-12-05T15:16:07Z\", \"event_logs\": [\xff]}",
                 "not valid UTF-8");
  expect_corrupt("[]", "the top level is array, expected an object");
  expect_corrupt("null", "the top level is null");
}

TEST_F(JsonStoreTest, WrongOrMissingFields) {
  const std::string entry = R"("record_number": 1, "timestamp": "2017-01-01T00:00:00Z")";
  expect_corrupt(R"({"event_logs": []})", "update_time is missing");
  expect_corrupt(R"({"update_time": 5, "event_logs": []})",
                 "update_time is number, expected a string");
  expect_corrupt(R"({"update_time": "yesterday", "event_logs": []})",
                 "update_time \"yesterday\" is not an RFC 3339 time");
  expect_corrupt(R"({"update_time": "2017-12-05T15:16:07Z"})", "event_logs is missing");
  expect_corrupt(R"({"update_time": "2017-12-05T15:16:07Z", "event_logs": {}})",
                 "event_logs is object, expected an array");
  expect_corrupt(R"({"update_time": "2017-12-05T15:16:07Z", "event_logs": [], "version": 2})",
                 "unknown key \"version\"");
  expect_corrupt(with_entry(R"("Application")"), "event_logs[0] is string, expected an object");
  expect_corrupt(with_entry("{" + entry + "}"), "event_logs[0].name is missing");
  expect_corrupt(with_entry(R"({"name": "", )" + entry + "}"), "event_logs[0].name is empty");
  expect_corrupt(with_entry(R"({"name": 7, )" + entry + "}"),
                 "event_logs[0].name is number, expected a string");
  expect_corrupt(with_entry(R"({"name": "a", "timestamp": "2017-01-01T00:00:00Z"})"),
                 "event_logs[0].record_number is missing");
  expect_corrupt(with_entry(R"({"name": "a", "record_number": 1})"),
                 "event_logs[0].timestamp is missing");
  expect_corrupt(
      with_entry(R"({"name": "a", "record_number": 1, "timestamp": "2017-13-01T00:00:00Z"})"),
      "event_logs[0].timestamp \"2017-13-01T00:00:00Z\" is not an RFC 3339 time");
  expect_corrupt(with_entry(R"({"name": "a", "bookmark": 5, )" + entry + "}"),
                 "event_logs[0].bookmark is number, expected a string");
  expect_corrupt(with_entry(R"({"name": "a", "offset": 5, )" + entry + "}"),
                 "event_logs[0] has an unknown key \"offset\"");
}

TEST_F(JsonStoreTest, RecordNumbersOutsideUint64AreCorrupt) {
  auto with_number = [](const std::string& number) {
    return with_entry(R"({"name": "a", "timestamp": "2017-01-01T00:00:00Z", "record_number": )" +
                      number + "}");
  };
  expect_corrupt(with_number("-1"), "event_logs[0].record_number is negative");
  expect_corrupt(with_number("1.5"), "event_logs[0].record_number is 1.5, not an integer");
  expect_corrupt(with_number("1.0"), "event_logs[0].record_number is 1.0, not an integer");
  expect_corrupt(with_number("1e3"), "event_logs[0].record_number is 1000.0, not an integer");
  expect_corrupt(with_number("18446744073709551616"), "event_logs[0].record_number is");
  expect_corrupt(with_number("\"123\""), "event_logs[0].record_number is string");
  expect_corrupt(with_number("true"), "event_logs[0].record_number is boolean");
  expect_corrupt(with_number("null"), "event_logs[0].record_number is null");
}

TEST_F(JsonStoreTest, RepeatedNamesAndKeysAreCorrupt) {
  const std::string a = R"({"name": "a", "record_number": 1, "timestamp": "2017-01-01T00:00:00Z"})";
  const std::string b = R"({"name": "b", "record_number": 1, "timestamp": "2017-01-01T00:00:00Z"})";
  expect_corrupt(with_entry(a + "," + b + "," + a),
                 "event_logs[2].name \"a\" repeats event_logs[0]");
  expect_corrupt(with_entry(b + R"(, {"name": "a", "record_number": 1, "record_number": 2, )"
                                R"("timestamp": "2017-01-01T00:00:00Z"})"),
                 "event_logs[1] has the key \"record_number\" twice");
  expect_corrupt(R"({"update_time": "2017-12-05T15:16:07Z", "event_logs": [], "event_logs": []})",
                 "the top level has the key \"event_logs\" twice");
}

// ---- The checksum member ------------------------------------------------------

// The file without its checksum member, as an older checkpoint wrote it.
std::string without_checksum(const std::string& text) {
  const std::size_t at = text.rfind(",\n  \"checksum\": \"");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no checksum in " << text;
    return text;
  }
  return text.substr(0, at) + "\n}\n";
}

// Any change to a file we wrote is refused, even one that leaves valid JSON
// holding other values; the message names the checksum's line and says how
// to accept a file edited on purpose.
TEST_F(JsonStoreTest, AChecksumThatDoesNotMatchIsCorrupt) {
  commit(winlogbeat_states(), Timestamp::parse("2017-12-05T15:16:07.841893Z"));
  const std::string text = read();
  const std::size_t checksum_at = text.rfind("\n  \"checksum\": \"") + 1;
  const std::uint64_t checksum_line =
      1 + static_cast<std::uint64_t>(std::count(text.begin(), text.begin() + checksum_at, '\n'));
  ASSERT_EQ(checksum_line, 18u);

  auto expect_mismatch = [&](const std::string& damaged) {
    auto e = expect_corrupt(damaged, "line " + std::to_string(checksum_line) +
                                         ": the checksum does not match the contents");
    ASSERT_TRUE(e.has_value());
    EXPECT_THAT(e->what(), HasSubstr("edited by hand"));
    EXPECT_THAT(e->what(), HasSubstr("delete its \"checksum\" member and the comma before it"));
    EXPECT_EQ(e->details().line, checksum_line);
    EXPECT_EQ(e->details().offset, checksum_at);
  };
  std::string edited = text;
  edited.replace(edited.find("250502"), 6, "250503");  // a hand edit, or a flipped bit
  expect_mismatch(edited);
  std::string other_sum = text;
  const std::size_t digit = text.find('"', checksum_at + 13) + 1;
  other_sum[digit] = other_sum[digit] == '0' ? '1' : '0';
  expect_mismatch(other_sum);
  // Each byte before the checksum, changed: never loaded.
  for (std::size_t at = 0; at < checksum_at; ++at) {
    std::string damaged = text;
    damaged[at] = damaged[at] == '1' ? '2' : '1';
    write(damaged);
    try {
      load();
      ADD_FAILURE() << "loaded with byte " << at << " changed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    }
  }

  // As the message says: without its checksum, the edited file loads, and
  // the next commit writes one again.
  write(without_checksum(edited));
  EXPECT_EQ(load().states.at(0).record_number, 250503u);
  StateMap states;
  for (const auto& s : load().states) states.emplace(s.name, s);
  commit(states, Timestamp());
  EXPECT_THAT(read(), HasSubstr("\n  \"checksum\": \""));
  EXPECT_EQ(load().states.at(0).record_number, 250503u);
}

// Files without the member (an older checkpoint's, one from elsewhere) load.
TEST_F(JsonStoreTest, AFileWithoutAChecksumLoads) {
  commit(winlogbeat_states(), Timestamp::parse("2017-12-05T15:16:07.841893Z"));
  const std::string text = read();
  const PersistedState expected = load();
  ASSERT_EQ(expected.states.size(), 2u);
  for (const std::string& without :
       {without_checksum(text), nlohmann::ordered_json::parse(without_checksum(text)).dump(),
        nlohmann::json::parse(without_checksum(text)).dump(4) + "\n"}) {
    write(without);
    PersistedState loaded = load();
    EXPECT_EQ(loaded.update_time, expected.update_time) << without;
    EXPECT_EQ(loaded.states, expected.states) << without;
  }
  commit({}, Timestamp());
  write(without_checksum(read()));
  EXPECT_TRUE(load().states.empty());
}

// A document reformatted by another JSON writer that kept the "checksum"
// member: the member is no longer the line checkpoint writes, so whatever
// it holds, the file is refused.
TEST_F(JsonStoreTest, AReformattedDocumentWithAChecksumIsCorrupt) {
  commit(winlogbeat_states(), Timestamp::parse("2017-12-05T15:16:07.841893Z"));
  const std::string text = read();
  const auto ordered = nlohmann::ordered_json::parse(text);
  const auto sorted = nlohmann::json::parse(text);  // "checksum" becomes the first key
  ASSERT_EQ(ordered.dump(2) + "\n", text) << "our layout is dump(2)'s";
  for (const std::string& reformatted :
       {ordered.dump(), ordered.dump(4) + "\n", ordered.dump(1, '\t') + "\n", sorted.dump()}) {
    auto e = expect_corrupt(reformatted, "checksum is not on a line of its own");
    ASSERT_TRUE(e.has_value());
    EXPECT_THAT(e->what(), HasSubstr("reformatted"));
  }
  // Keys sorted at our indentation: the checksum line is found, not where
  // it belongs, and does not match.
  auto e = expect_corrupt(sorted.dump(2) + "\n", "the checksum does not match");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->details().line, 2u);
}

// A JSON file with other keys (an application's config, say) is not a
// checkpoint file: loading it is Error{corrupt}, and a writer opened on it
// refuses to commit rather than overwrite it.
TEST_F(JsonStoreTest, UnknownTopLevelKeysAreNotACheckpointFile) {
  const EventLogState state{"Application", 1, Timestamp(), ""};
  const std::string texts[] = {
      "{\"listen\": 8080}\n",
      "{\"update_time\": \"2017-12-05T15:16:07Z\", \"event_logs\": [], \"listen\": 8080}\n"};
  for (const std::string& text : texts) {
    expect_corrupt(text, "unknown key \"listen\": not a checkpoint file");
    // Opening for writing reads nothing; the first commit reads the file.
    auto writer = Store::open(uri());
    try {
      writer->commit(Changes{Timestamp(), std::span(&state, 1), {}});
      ADD_FAILURE() << "committed over a file that is not a checkpoint file";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("not a checkpoint file"));
    }
    EXPECT_EQ(read(), text);
    writer.reset();
    EXPECT_THROW({ Checkpoint checkpoint(uri()); }, Error);
    EXPECT_EQ(read(), text);
  }
}

TEST_F(JsonStoreTest, InvalidUtf8IsRefusedOnWrite) {
  commit(winlogbeat_states(), Timestamp());
  const std::string before = read();
  for (const auto& bad : {EventLogState{"bad\xff", 1, Timestamp(), ""},
                          EventLogState{"good", 1, Timestamp(), "\xc0\x80"}}) {
    try {
      Store::open(uri())->commit(Changes{Timestamp(), std::span(&bad, 1), {}});
      ADD_FAILURE() << "committed invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    }
    EXPECT_EQ(read(), before);
  }
}

}  // namespace
}  // namespace checkpoint
