// What is specific to the yaml: backend: Winlogbeat's file format, its
// quoting, and how damaged files are refused. Behaviour every backend shares
// is in the conformance suite.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/checkpoint.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::uint64_t kMaxRecord = std::numeric_limits<std::uint64_t>::max();

fs::path fixture(const std::string& name) { return fs::path(CHECKPOINT_YAML_FIXTURES) / name; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

EventLogState make_state(std::string name, std::uint64_t record, Timestamp ts,
                         std::string bookmark = {}) {
  return EventLogState{std::move(name), record, ts, std::move(bookmark)};
}

class YamlStore : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("yaml_store_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  PersistedState load(const fs::path& path) { return open_store("yaml:" + path.string())->load(); }

  // Loads `text` from a file through the store.
  PersistedState load_text(std::string_view text) {
    write_text(file(), text);
    return load(file());
  }

  void commit(const fs::path& path, const std::vector<EventLogState>& states,
              Timestamp update_time = Timestamp::parse("2024-01-02T03:04:05.5Z")) {
    StateMap map;
    std::vector<std::string> upserted;
    for (const auto& s : states) {
      map.insert_or_assign(s.name, s);
      upserted.push_back(s.name);
    }
    std::vector<std::string> removed;
    open_store("yaml:" + path.string())->commit(Commit{update_time, map, upserted, removed});
  }

  // Commits `states`, returns the file's text.
  std::string emit(const std::vector<EventLogState>& states) {
    commit(file(), states);
    return read_text(file());
  }

  // Loading `text` fails with Error{corrupt} naming the file and `what`.
  void expect_corrupt(std::string_view text, const std::string& what) {
    SCOPED_TRACE(::testing::Message() << "text: " << std::string(text.substr(0, 200)));
    try {
      auto doc = load_text(text);
      ADD_FAILURE() << "loaded " << doc.states.size() << " states, expected Error{corrupt}";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("yaml store " + file().string() + ": "));
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  }

  fs::path file() const { return dir_ / "state.yml"; }

  fs::path dir_;
};

// ---- Files that Winlogbeat wrote ---------------------------------------------

TEST_F(YamlStore, LoadsTheDesignExample) {
  auto doc = load(fixture("design_example.yml"));
  EXPECT_EQ(doc.update_time, Timestamp::parse("2017-12-05T15:16:07.841893Z"));
  ASSERT_EQ(doc.states.size(), 2u);
  EXPECT_EQ(doc.states[0],
            make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z")));
  EXPECT_EQ(
      doc.states[1],
      make_state("Microsoft-Windows-Sysmon/Operational", 204,
                 Timestamp::parse("2017-11-28T00:27:30.1588877Z"),
                 "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
                 "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>"));
}

// Written by gopkg.in/yaml.v2: a double-quoted bookmark folded over two
// lines, an offset of -08:00, the largest record number, Go's zero time.
TEST_F(YamlStore, LoadsWinlogbeatTypicalFile) {
  auto doc = load(fixture("winlogbeat_typical.yml"));
  EXPECT_EQ(doc.update_time.to_string(), "2017-12-05T15:16:07.841893Z");
  ASSERT_EQ(doc.states.size(), 4u);
  EXPECT_EQ(doc.states[0],
            make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z")));
  EXPECT_EQ(doc.states[1].bookmark,
            "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
            "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>");
  EXPECT_EQ(doc.states[2].name, "Security");
  EXPECT_EQ(doc.states[2].record_number, kMaxRecord);
  EXPECT_EQ(doc.states[2].timestamp.to_string(), "2017-12-05T15:16:38.2530588Z");
  EXPECT_EQ(doc.states[3], make_state("System", 0, Timestamp()));
}

// Written by gopkg.in/yaml.v2: its own choice of double, single, plain and
// literal block styles for names and bookmarks, and a long bookmark folded
// with "\ " at the start of a continuation line.
TEST_F(YamlStore, LoadsWinlogbeatTrickyFile) {
  auto doc = load(fixture("winlogbeat_tricky.yml"));
  EXPECT_EQ(doc.update_time.to_string(), "2024-02-29T18:29:59.999999999Z");  // from +05:30
  std::map<std::string, EventLogState> by_name;
  for (const auto& s : doc.states) by_name[s.name] = s;
  const std::vector<std::pair<std::string, std::uint64_t>> expected = {
      {"yes", 1},
      {"no", 2},
      {"null", 3},
      {"~", 4},
      {"123", 5},
      {"1e3", 6},
      {"0x1F", 7},
      {"key: value", 8},
      {"#x", 9},
      {" leading space", 10},
      {"trailing space ", 11},
      {"new\nline", 12},
      {"tab\there", 13},
      {"quote \" and 'single' and back\\slash", 14},
      {"Anwendung \u2013 Ereignisse \u00fc \u65e5\u672c\u8a9e", 15},
      {"true", 16},
      {"on", 17},
      {"long", 18}};
  ASSERT_EQ(doc.states.size(), expected.size());
  for (const auto& [name, record] : expected) {
    ASSERT_TRUE(by_name.contains(name)) << name;
    EXPECT_EQ(by_name[name].record_number, record) << name;
  }
  EXPECT_EQ(by_name["no"].timestamp.to_string(), "2020-01-01T00:00:00.000000001Z");
  EXPECT_EQ(by_name["new\nline"].bookmark, "line one\nline two\n");
  std::string long_bookmark;
  for (int i = 0; i < 4; ++i) {
    long_bookmark += "<Bookmark Channel='Security'  RecordId='18' IsCurrent='true'/>\r\n";
  }
  EXPECT_EQ(by_name["long"].bookmark, long_bookmark);
  EXPECT_EQ(by_name["yes"].bookmark, "");
}

TEST_F(YamlStore, LoadsOtherValidStyles) {
  auto doc = load(fixture("other_styles.yml"));
  EXPECT_EQ(doc.update_time.to_string(), "2017-12-05T15:16:07.841893Z");
  ASSERT_EQ(doc.states.size(), 3u);
  EXPECT_EQ(doc.states[0],
            make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"),
                       "<BookmarkList>\r\n  <Bookmark Channel='Application' RecordId='250502' "
                       "IsCurrent='true'/>\r\n</BookmarkList>"));
  EXPECT_EQ(doc.states[1], make_state("folded over lines", 0, Timestamp()));
  EXPECT_EQ(doc.states[2], make_state("it's", 7, Timestamp::parse("2017-12-05T15:16:02Z")));
}

TEST_F(YamlStore, EmptyFilesLoadEmpty) {
  for (const char* name : {"empty.yml", "update_time_only.yml", "no_event_logs.yml"}) {
    SCOPED_TRACE(name);
    auto doc = load(fixture(name));
    EXPECT_TRUE(doc.states.empty());
    if (std::string(name) != "empty.yml") {
      EXPECT_EQ(doc.update_time.to_string(), "2017-12-05T15:16:07.841893Z");
    }
  }
  EXPECT_TRUE(load(dir_ / "missing.yml").states.empty());
  EXPECT_TRUE(load(dir_ / "missing.yml").update_time.is_zero());
  EXPECT_TRUE(load_text("# only a comment\n").states.empty());
  EXPECT_TRUE(load_text("update_time:\nevent_logs:\n").states.empty());
}

TEST_F(YamlStore, LoadsByteOrderMarkAndCrlfLines) {
  auto doc = load_text(
      "\xEF\xBB\xBFupdate_time: 2017-12-05T15:16:07Z\r\nevent_logs:\r\n- name: A\r\n"
      "  record_number: 1\r\n  timestamp: 2017-12-05T15:16:07Z\r\n");
  ASSERT_EQ(doc.states.size(), 1u);
  EXPECT_EQ(doc.states[0], make_state("A", 1, Timestamp::parse("2017-12-05T15:16:07Z")));
}

TEST_F(YamlStore, StatesComeBackSortedByName) {
  auto doc = load_text(
      "event_logs:\n"
      "- {name: b, record_number: 2, timestamp: 2020-01-01T00:00:00Z}\n"
      "- {name: a, record_number: 1, timestamp: 2020-01-01T00:00:00Z}\n");
  ASSERT_EQ(doc.states.size(), 2u);
  EXPECT_EQ(doc.states[0].name, "a");
  EXPECT_EQ(doc.states[1].name, "b");
}

// ---- What we write ------------------------------------------------------------

TEST_F(YamlStore, WritesWinlogbeatsShape) {
  std::string text = emit({
      make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z")),
      make_state("Microsoft-Windows-Sysmon/Operational", kMaxRecord,
                 Timestamp::parse("2017-11-28T00:27:30.1588877Z"),
                 "<BookmarkList>\r\n  <Bookmark RecordId='204'/>\r\n</BookmarkList>"),
      make_state("System", 0, Timestamp()),
  });
  EXPECT_EQ(
      text,
      "---\n"
      "update_time: 2024-01-02T03:04:05.5Z\n"
      "event_logs:\n"
      "- name: \"Application\"\n"
      "  record_number: 250502\n"
      "  timestamp: 2017-12-05T15:16:02.6721303Z\n"
      "- name: \"Microsoft-Windows-Sysmon/Operational\"\n"
      "  record_number: 18446744073709551615\n"
      "  timestamp: 2017-11-28T00:27:30.1588877Z\n"
      "  bookmark: \"<BookmarkList>\\r\\n  <Bookmark RecordId='204'/>\\r\\n</BookmarkList>\"\n"
      "- name: \"System\"\n"
      "  record_number: 0\n"
      "  timestamp: 0001-01-01T00:00:00Z\n"
      "...\n");
}

TEST_F(YamlStore, WritesAnEmptyListWhenThereAreNoStates) {
  EXPECT_EQ(emit({}), "---\nupdate_time: 2024-01-02T03:04:05.5Z\nevent_logs: []\n...\n");
  EXPECT_TRUE(load(file()).states.empty());
  EXPECT_EQ(load(file()).update_time.to_string(), "2024-01-02T03:04:05.5Z");
}

// Names that a plain YAML scalar would turn into something else are written
// double-quoted, with escapes where YAML needs them.
TEST_F(YamlStore, QuotesNamesThatLookLikeOtherValues) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"yes", "\"yes\""},
      {"no", "\"no\""},
      {"on", "\"on\""},
      {"null", "\"null\""},
      {"~", "\"~\""},
      {"true", "\"true\""},
      {"123", "\"123\""},
      {"1e3", "\"1e3\""},
      {"0x1F", "\"0x1F\""},
      {"key: value", "\"key: value\""},
      {"#x", "\"#x\""},
      {" leading space", "\" leading space\""},
      {"trailing space ", "\"trailing space \""},
      {"new\nline", "\"new\\nline\""},
      {"cr\r\nlf", "\"cr\\r\\nlf\""},
      {"tab\there", "\"tab\\there\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"it's", "\"it's\""},
      {std::string("nul\0byte", 8), "\"nul\\x00byte\""},
      {"bell\x07 esc\x1B del\x7F", "\"bell\\x07 esc\\x1B del\\x7F\""},
      {"nel\u0085 c1\u009F nbsp\u00A0", "\"nel\\x85 c1\\x9F nbsp\u00A0\""},
      {"ls\u2028ps\u2029bom\uFEFF\uFFFE\uFFFF", "\"ls\\u2028ps\\u2029bom\\uFEFF\\uFFFE\\uFFFF\""},
      {"\u00fc\u65e5\U0001F600", "\"\u00fc\u65e5\U0001F600\""},
  };
  std::vector<EventLogState> states;
  for (const auto& [name, quoted] : cases) states.push_back(make_state(name, 1, Timestamp()));
  std::string text = emit(states);
  for (const auto& [name, quoted] : cases) {
    EXPECT_THAT(text, HasSubstr("\n- name: " + quoted + "\n")) << quoted;
  }
  auto doc = load(file());
  ASSERT_EQ(doc.states.size(), cases.size());
  for (const auto& s : doc.states) {
    EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [&](auto& c) { return c.first == s.name; }))
        << s.name;
  }
}

// Every character from U+0001 to U+00FF and the special ones above, in names
// and bookmarks, comes back byte for byte, read by our loader and by plain
// yaml-cpp; the file holds no raw control characters.
TEST_F(YamlStore, EveryCharacterRoundTrips) {
  std::string all;
  for (unsigned c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  for (unsigned c = 0x80; c < 0x100; ++c) {
    all += static_cast<char>(0xC0 | (c >> 6));
    all += static_cast<char>(0x80 | (c & 0x3F));
  }
  all += "\u2028\u2029\uFEFF\uFFFE\uFFFF\U0010FFFF";
  std::vector<EventLogState> states = {
      make_state("all " + all, 1, Timestamp(), all),
      make_state("bookmark", 2, Timestamp(), "<XML a='1'>\r\n\t<b>\"x\"</b>\r\n</XML>\r\n"),
  };
  std::string text = emit(states);
  for (unsigned char c : text) {
    EXPECT_TRUE(c == '\n' || (c >= 0x20 && c != 0x7F)) << "raw byte " << int(c);
  }
  auto doc = load(file());
  ASSERT_EQ(doc.states.size(), 2u);
  EXPECT_EQ(doc.states[0], states[0]);
  EXPECT_EQ(doc.states[1], states[1]);

  YAML::Node raw = YAML::Load(text);
  EXPECT_EQ(raw["event_logs"][0]["name"].as<std::string>(), "all " + all);
  EXPECT_EQ(raw["event_logs"][0]["bookmark"].as<std::string>(), all);
}

TEST_F(YamlStore, LargeValuesRoundTrip) {
  std::string name(4096, 'n');
  name += "\u00e9";
  std::string bookmark;
  while (bookmark.size() < 64 * 1024) bookmark += "<Bookmark Channel='x' RecordId='1'/>\r\n";
  std::vector<EventLogState> states = {
      make_state(name, kMaxRecord, Timestamp::from_unix(Timestamp::kMaxSeconds, 999'999'999),
                 bookmark),
      make_state("min", 0, Timestamp::from_unix(Timestamp::kMinSeconds, 1)),
  };
  emit(states);
  auto doc = load(file());
  ASSERT_EQ(doc.states.size(), 2u);
  EXPECT_EQ(doc.states[0], make_state("min", 0, Timestamp::from_unix(Timestamp::kMinSeconds, 1)));
  EXPECT_EQ(doc.states[1], states[0]);
}

TEST_F(YamlStore, InvalidUtf8IsRefusedAndTheFileKept) {
  emit({make_state("keep", 1, Timestamp())});
  const std::string before = read_text(file());
  for (const auto& state : {make_state("bad \xC3", 1, Timestamp()),
                            make_state("ok", 1, Timestamp(), "bad \xED\xA0\x80 surrogate")}) {
    try {
      commit(file(), {state});
      ADD_FAILURE() << "committed invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("yaml store " + file().string()));
      EXPECT_THAT(e.what(), HasSubstr("not valid UTF-8"));
    }
  }
  EXPECT_EQ(read_text(file()), before);
}

TEST_F(YamlStore, ALoadedWinlogbeatFileIsRewrittenWithTheSameStates) {
  auto original = load(fixture("winlogbeat_tricky.yml"));
  commit(file(), original.states, original.update_time);
  auto again = load(file());
  EXPECT_EQ(again.update_time, original.update_time);
  EXPECT_EQ(again.states, original.states);
}

// ---- Damaged files --------------------------------------------------------------

constexpr const char* kEntry = "  record_number: 1\n  timestamp: 2020-01-01T00:00:00Z\n";

TEST_F(YamlStore, MalformedYamlIsCorrupt) {
  expect_corrupt("{{{ not yaml\n", "not valid YAML");
  expect_corrupt("update_time: [2017\n", "not valid YAML");
  // yaml-cpp itself would accept these, closing the string at the end.
  expect_corrupt("event_logs:\n- name: \"unterminated\n",
                 "event_logs[0].name: the quoted string has no closing quote");
  expect_corrupt("event_logs:\n- name: 'it''s\n",
                 "event_logs[0].name: the quoted string has no closing quote");
  expect_corrupt(
      "event_logs:\n- name: \"A\"\n  record_number: 1\n  timestamp: 2020-01-01T00:00:00Z\n  "
      "bookmark: !!str \"<x\\\"\n",
      "event_logs[0].bookmark: the quoted string has no closing quote");
  expect_corrupt("a: b: c\n", "not valid YAML");
  expect_corrupt(std::string(100000, '[') + "\n", "nested too deeply");
  expect_corrupt("event_logs: &a [*a]\n", "event_logs[0]: a sequence, expected a mapping");
  expect_corrupt("event_logs: [*nowhere]\n", "not valid YAML");
}

TEST_F(YamlStore, WrongShapesAreCorrupt) {
  expect_corrupt("just some text\n", "the top level: a scalar, expected a mapping");
  expect_corrupt("- 1\n- 2\n", "the top level: a sequence");
  expect_corrupt("event_logs: 5\n", "line 1: event_logs: a scalar, expected a sequence");
  expect_corrupt("event_logs:\n  name: x\n", "event_logs: a mapping, expected a sequence");
  expect_corrupt("event_logs:\n- just a string\n", "event_logs[0]: a scalar, expected a mapping");
  expect_corrupt("event_logs:\n-\n", "event_logs[0]: null, expected a mapping");
  expect_corrupt("update_time: [1]\n", "update_time: a sequence, expected an RFC 3339");
  expect_corrupt("update_time: soon\n", "update_time: invalid timestamp \"soon\"");
  expect_corrupt("update_time: 2020-01-01T00:00:00Z\nupdate_time: 2020-01-01T00:00:00Z\n",
                 "line 2: the top level: key \"update_time\" appears twice");
}

TEST_F(YamlStore, BadStatesAreCorrupt) {
  const std::string head = "update_time: 2020-01-01T00:00:00Z\nevent_logs:\n- name: A\n";
  expect_corrupt("event_logs:\n" + std::string("- ") + (kEntry + 2),
                 "event_logs[0]: name is missing");
  expect_corrupt("event_logs:\n- name: \"\"\n" + std::string(kEntry),
                 "event_logs[0].name: the name is empty");
  expect_corrupt("event_logs:\n- name: ~\n" + std::string(kEntry),
                 "event_logs[0].name: the name is empty");
  expect_corrupt("event_logs:\n- name: [a]\n" + std::string(kEntry),
                 "event_logs[0].name: a sequence, expected a string");
  expect_corrupt("event_logs:\n- name: !!binary QQ==\n" + std::string(kEntry),
                 "event_logs[0].name: tag \"tag:yaml.org,2002:binary\" is not supported");
  expect_corrupt(head + "  timestamp: 2020-01-01T00:00:00Z\n",
                 "event_logs[0]: record_number is missing");
  expect_corrupt(head + "  record_number: 1\n", "event_logs[0]: timestamp is missing");
  expect_corrupt(head + kEntry + "  name: B\n", "event_logs[0]: key \"name\" appears twice");

  auto with_record = [&](const std::string& value) {
    return "event_logs:\n- name: A\n  record_number: 1\n  timestamp: 2020-01-01T00:00:00Z\n- name: "
           "B\n"
           "  timestamp: 2020-01-01T00:00:00Z\n  record_number: " +
           value + "\n";
  };
  expect_corrupt(with_record("-1"),
                 "line 7: event_logs[1].record_number: \"-1\" is not an unsigned integer");
  for (const char* bad : {"1.5", "0x1F", "017", "+5", "1_000", "1e3", "yes", "abc"}) {
    expect_corrupt(with_record(bad), std::string("\"") + bad + "\" is not an unsigned integer");
  }
  expect_corrupt(with_record("18446744073709551616"),
                 "\"18446744073709551616\" does not fit in 64 bits");
  expect_corrupt(with_record("99999999999999999999999"), "does not fit in 64 bits");
  expect_corrupt(with_record("\"5\""), "\"5\" is a quoted string, not an unsigned integer");
  expect_corrupt(with_record("[5]"), "record_number: a sequence, expected an unsigned integer");
  expect_corrupt(with_record(""), "record_number: null, expected an unsigned integer");

  auto with_timestamp = [&](const std::string& value) {
    return "event_logs:\n- name: A\n  record_number: 1\n  timestamp: " + value + "\n";
  };
  expect_corrupt(with_timestamp("yesterday"),
                 "event_logs[0].timestamp: invalid timestamp \"yesterday\"");
  expect_corrupt(with_timestamp("2017-13-01T00:00:00Z"), "invalid timestamp");
  expect_corrupt(with_timestamp("2017-12-05"), "invalid timestamp");
  expect_corrupt(with_timestamp("1"), "invalid timestamp");
  expect_corrupt(with_timestamp("!!int 5"), "tag \"tag:yaml.org,2002:int\" is not supported");
}

TEST_F(YamlStore, DuplicateNamesAreCorrupt) {
  expect_corrupt(
      "event_logs:\n"
      "- {name: A, record_number: 1, timestamp: 2020-01-01T00:00:00Z}\n"
      "- {name: B, record_number: 1, timestamp: 2020-01-01T00:00:00Z}\n"
      "- {name: 'A', record_number: 2, timestamp: 2020-01-01T00:00:00Z}\n",
      "event_logs[0] and event_logs[2] have the same name \"A\"");
}

TEST_F(YamlStore, NulBytesAndControlCharactersAreCorrupt) {
  expect_corrupt(std::string(4096, '\0'), "line 1: NUL byte at offset 0");
  std::string valid = read_text(fixture("winlogbeat_typical.yml"));
  std::string holed = valid;
  std::fill(holed.begin() + 200, holed.begin() + 300, '\0');
  expect_corrupt(holed, "NUL byte at offset 200");
  expect_corrupt(valid + std::string(512, '\0'),
                 "NUL byte at offset " + std::to_string(valid.size()));
  std::string eot = valid;
  eot[150] = '\x04';  // yaml-cpp would take it as the end of the input
  expect_corrupt(eot, "control character 0x04 at offset 150");
  expect_corrupt("event_logs:\n- name: \"\xC3\x28\"\n", "line 2: not valid UTF-8");
}

// A file cut short anywhere is refused: every file we write starts with
// "---" and ends with "...", and the loader requires both.
TEST_F(YamlStore, EveryTruncationOfOurFileIsCorrupt) {
  std::string text = emit({
      make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z")),
      make_state("Security", kMaxRecord, Timestamp::parse("2017-12-05T15:16:38.2530588Z"),
                 "<BookmarkList>\r\n  <Bookmark RecordId='9'/>\r\n</BookmarkList>"),
      make_state("System", 17, Timestamp(), "x"),
  });
  const std::string store = "yaml store " + file().string();
  for (std::size_t size = 1; size + 1 < text.size(); ++size) {
    SCOPED_TRACE(::testing::Message() << "cut at " << size << ": ..."
                                      << text.substr(0, size).substr(size > 40 ? size - 40 : 0));
    try {
      auto doc = backends::parse_yaml_document(text.substr(0, size), store);
      ADD_FAILURE() << "loaded " << doc.states.size() << " states";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(store));
    }
  }
  // Only the final line break missing: the document is whole.
  EXPECT_EQ(backends::parse_yaml_document(text.substr(0, text.size() - 1), store).states.size(),
            3u);
}

// Winlogbeat's files have no end marker. Cut anywhere, they never crash the
// loader and never yield a different name, record number or timestamp. A cut
// exactly at a line boundary can drop whole states, or shorten the last
// bookmark: its line may go, and a literal block (`|`) has no closing mark.
TEST_F(YamlStore, TruncatedWinlogbeatFilesNeverYieldOtherValues) {
  for (const char* name : {"winlogbeat_typical.yml", "winlogbeat_tricky.yml"}) {
    const std::string text = read_text(fixture(name));
    const auto full = backends::parse_yaml_document(text, name);
    std::map<std::string, EventLogState> original;
    for (const auto& s : full.states) original[s.name] = s;
    for (std::size_t size = 0; size < text.size(); ++size) {
      SCOPED_TRACE(::testing::Message() << name << " cut at " << size);
      PersistedState doc;
      try {
        doc = backends::parse_yaml_document(text.substr(0, size), name);
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
        continue;
      }
      EXPECT_TRUE(size == 0 || text[size - 1] == '\n') << "loaded a cut inside a line";
      for (const auto& s : doc.states) {
        ASSERT_TRUE(original.contains(s.name)) << s.name;
        const auto& o = original[s.name];
        EXPECT_EQ(s.record_number, o.record_number);
        EXPECT_EQ(s.timestamp, o.timestamp);
        EXPECT_TRUE(o.bookmark.starts_with(s.bookmark)) << s.bookmark;
      }
    }
  }
}

// ---- The store ---------------------------------------------------------------

TEST_F(YamlStore, FileIs0600AndMissingDirectoriesAre0750) {
  const fs::path path = dir_ / "a" / "b" / "state.yml";
  commit(path, {make_state("A", 1, Timestamp())});
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  for (const fs::path& d : {dir_ / "a", dir_ / "a" / "b"}) {
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u) << d;
  }
  EXPECT_FALSE(fs::exists(path.string() + ".new"));
  EXPECT_EQ(load(path).states.size(), 1u);
}

TEST_F(YamlStore, SyncOption) {
  auto store = open_store("yaml:" + file().string() + "?sync=off");
  StateMap map{{"A", make_state("A", 5, Timestamp())}};
  std::vector<std::string> upserted{"A"}, removed;
  store->commit(Commit{Timestamp(), map, upserted, removed});
  EXPECT_EQ(store->load().states.at(0).record_number, 5u);
  EXPECT_NO_THROW(open_store("yaml:" + file().string() + "?sync=on"));
  for (const char* uri : {"yaml:x.yml?sync=maybe", "yaml:x.yml?fsync=off", "yaml:"}) {
    try {
      open_store(uri);
      ADD_FAILURE() << uri;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_config) << uri << ": " << e.what();
    }
  }
}

TEST_F(YamlStore, RegisteredForYmlAndYaml) {
  auto backends = registered_backends();
  auto it = std::find_if(backends.begin(), backends.end(),
                         [](const BackendInfo& b) { return b.scheme == "yaml"; });
  ASSERT_NE(it, backends.end());
  EXPECT_EQ(it->options, std::vector<std::string>{"sync"});
  EXPECT_EQ(parse_store_uri("state.YAML").scheme, "yaml");
  EXPECT_EQ(parse_store_uri("/var/lib/winlogbeat/.winlogbeat.yml").scheme, "yaml");
}

TEST_F(YamlStore, CheckpointWithAPlainYmlPathUsesThisFormat) {
  const fs::path path = dir_ / "x.yml";
  {
    Checkpoint cp(path.string());
    cp.persist("yes", 7, Timestamp::parse("2020-01-01T00:00:00Z"), "b");
    cp.shutdown();
  }
  std::string text = read_text(path);
  EXPECT_THAT(text, HasSubstr("- name: \"yes\"\n  record_number: 7\n"));
  Checkpoint again(path.string());
  ASSERT_TRUE(again.state("yes").has_value());
  EXPECT_EQ(again.state("yes")->bookmark, "b");
}

}  // namespace
}  // namespace checkpoint
