// What is specific to the JSON backend: the document it writes, integers
// written as integers, and how it reports damaged files. Everything every
// store must do is in the conformance suite (json_conformance_test).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "checkpoint/checkpoint.hpp"

namespace checkpoint {
namespace {

class JsonStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "json-store-test-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ / "state.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string uri() const { return "json:" + path_.string(); }

  void write(const std::string& text) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  std::string read() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void commit(const StateMap& states, Timestamp update_time) {
    std::vector<std::string> upserted, removed;
    for (const auto& [name, state] : states) upserted.push_back(name);
    open_store(uri())->commit(Commit{update_time, states, upserted, removed});
  }

  // Loads a file holding `text`; expects Error{corrupt} whose message names
  // the file and contains `what`.
  void expect_corrupt(const std::string& text, const std::string& what) {
    SCOPED_TRACE("file: " + ::testing::PrintToString(text.substr(0, 200)));
    write(text);
    try {
      open_store(uri())->load();
      ADD_FAILURE() << "loaded without an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      std::string message = e.what();
      EXPECT_NE(message.find("json store " + path_.string() + ": "), std::string::npos) << message;
      EXPECT_NE(message.find(what), std::string::npos) << message;
    }
    EXPECT_EQ(read(), text) << "a failed load changed the file";
  }

  std::filesystem::path dir_, path_;
};

const char* const kXml =
    "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
    "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>";

StateMap winlogbeat_states() {
  return {{"Application",
           {"Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"), ""}},
          {"Microsoft-Windows-Sysmon/Operational",
           {"Microsoft-Windows-Sysmon/Operational", 204,
            Timestamp::parse("2017-11-28T00:27:30.1588877Z"), kXml}}};
}

// A valid document with `entry` as its only event log.
std::string with_entry(const std::string& entry) {
  return R"({"update_time": "2017-12-05T15:16:07.841893Z", "event_logs": [)" + entry + "]}";
}

TEST_F(JsonStoreTest, WritesTheYamlFormatsDocument) {
  commit(winlogbeat_states(), Timestamp::parse("2017-12-05T15:16:07.841893Z"));
  EXPECT_EQ(read(), R"({
  "update_time": "2017-12-05T15:16:07.841893Z",
  "event_logs": [
    {
      "name": "Application",
      "record_number": 250502,
      "timestamp": "2017-12-05T15:16:02.6721303Z"
    },
    {
      "name": "Microsoft-Windows-Sysmon/Operational",
      "record_number": 204,
      "timestamp": "2017-11-28T00:27:30.1588877Z",
      "bookmark": "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>"
    }
  ]
}
)");
}

TEST_F(JsonStoreTest, EmptyStoreHasAnEmptyArray) {
  commit({}, Timestamp());
  EXPECT_EQ(read(), "{\n  \"update_time\": \"0001-01-01T00:00:00Z\",\n  \"event_logs\": []\n}\n");
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
  PersistedState loaded = open_store(uri())->load();
  EXPECT_EQ(loaded.update_time, Timestamp::parse("2017-12-05T15:16:07Z"));
  ASSERT_EQ(loaded.states.size(), 1u);
  EXPECT_EQ(loaded.states[0],
            (EventLogState{"Application", std::numeric_limits<std::uint64_t>::max(),
                           Timestamp::parse("2017-12-05T15:16:02.5Z"), ""}));
}

TEST_F(JsonStoreTest, LoadSortsByName) {
  write(with_entry(R"({"name": "b", "record_number": 2, "timestamp": "2017-01-01T00:00:00Z"},)"
                   R"({"name": "a", "record_number": 1, "timestamp": "2017-01-01T00:00:00Z"})"));
  PersistedState loaded = open_store(uri())->load();
  ASSERT_EQ(loaded.states.size(), 2u);
  EXPECT_EQ(loaded.states[0].name, "a");
  EXPECT_EQ(loaded.states[1].name, "b");
}

TEST_F(JsonStoreTest, ExtensionAndOptions) {
  EXPECT_EQ(parse_store_uri(path_.string()).scheme, "json");
  EXPECT_EQ(parse_store_uri("STATE.JSON").scheme, "json");
  commit(winlogbeat_states(), Timestamp());
  EXPECT_EQ(open_store(path_.string())->load().states.size(), 2u);
  EXPECT_EQ(open_store(uri() + "?sync=off")->load().states.size(), 2u);
  try {
    open_store(uri() + "?sync=sometimes");
    ADD_FAILURE() << "sync=sometimes accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
  }
  try {
    open_store("json:");
    ADD_FAILURE() << "json: without a path accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
  }
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

TEST_F(JsonStoreTest, InvalidUtf8IsRefusedOnWrite) {
  commit(winlogbeat_states(), Timestamp());
  const std::string before = read();
  for (const auto& bad : {EventLogState{"bad\xff", 1, Timestamp(), ""},
                          EventLogState{"good", 1, Timestamp(), "\xc0\x80"}}) {
    try {
      commit({{bad.name, bad}}, Timestamp());
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
