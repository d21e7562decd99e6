// What is specific to the yaml: backend: Winlogbeat's file format, its
// quoting, and how damaged files are refused. Behaviour every backend shares
// is in the conformance suite.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>

#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/checkpoint.hpp"
#include "checkpoint/writer_lock.hpp"
#include "tests/document_checksum_reference.hpp"
#include "tests/state_values.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

namespace fs = std::filesystem;
using testing::crc32c_hex;
using ::testing::HasSubstr;
using testing::read_bytes;
using testing::write_bytes;

constexpr std::uint64_t kMaxRecord = std::numeric_limits<std::uint64_t>::max();

fs::path fixture(const std::string& name) { return fs::path(CHECKPOINT_YAML_FIXTURES) / name; }

EventLogState make_state(std::string name, std::uint64_t record, Timestamp ts,
                         std::string bookmark = {}) {
  return EventLogState{std::move(name), record, ts, std::move(bookmark)};
}

std::string uri(const fs::path& path) { return "yaml:" + path.string(); }

std::unique_ptr<Store> open_reader(const fs::path& path) {
  return Store::open(uri(path), {.mode = OpenMode::read});
}

// Commits to `store` so that it holds exactly `states` afterwards: the
// states upserted, every other name it held removed.
void commit_exactly(Store& store, std::vector<EventLogState> states, Timestamp update_time) {
  std::sort(states.begin(), states.end(),
            [](const EventLogState& a, const EventLogState& b) { return a.name < b.name; });
  std::vector<std::string> removed;  // load() is in name order, so this is sorted
  for (const auto& held : store.load().states) {
    if (std::none_of(states.begin(), states.end(),
                     [&](const EventLogState& s) { return s.name == held.name; })) {
      removed.push_back(held.name);
    }
  }
  store.commit(Changes{update_time, states, removed});
}

// The 1-based number of the line of `text` that starts at `offset`.
std::uint64_t line_at(std::string_view text, std::size_t offset) {
  return 1 + static_cast<std::uint64_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

class YamlStore : public ::testing::Test {
 protected:
  // Reads through a store opened for reading.
  PersistedState load(const fs::path& path) { return open_reader(path)->load(); }

  // A document written without per-state update times (Winlogbeat's, ours
  // before they existed): each state takes the store's. Returned without
  // them, to compare the other values.
  static PersistedState foreign(PersistedState doc) {
    for (const auto& state : doc.states) {
      EXPECT_EQ(state.update_time, doc.update_time) << state.name << " takes the store's";
    }
    return testing::values(std::move(doc));
  }

  // Loads `text` from a file through the store.
  PersistedState load_text(std::string_view text) {
    write_bytes(file(), text);
    return load(file());
  }

  // Makes the store at `path` hold exactly `states`, through a writer.
  void commit(const fs::path& path, const std::vector<EventLogState>& states,
              Timestamp update_time = Timestamp::parse("2024-01-02T03:04:05.5Z")) {
    auto store = Store::open(uri(path));
    commit_exactly(*store, states, update_time);
  }

  // Commits `states`, returns the file's text.
  std::string emit(const std::vector<EventLogState>& states) {
    commit(file(), states);
    return read_bytes(file());
  }

  // Loading `text` fails with Error{corrupt} naming the file and `what`;
  // the error, for more checks.
  std::optional<Error> expect_corrupt(std::string_view text, const std::string& what) {
    SCOPED_TRACE(::testing::Message() << "text: " << std::string(text.substr(0, 200)));
    try {
      auto doc = load_text(text);
      ADD_FAILURE() << "loaded " << doc.states.size() << " states, expected Error{corrupt}";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("yaml store " + file().string() + ": "));
      EXPECT_THAT(e.what(), HasSubstr(what));
      EXPECT_EQ(e.details().store, "yaml store " + file().string());
      EXPECT_EQ(read_bytes(file()), text) << "a failed load changed the file";
      return e;
    }
    return std::nullopt;
  }

  fs::path file() const { return dir_ / "state.yml"; }

  testing::TempDir temp_{"yaml-store-test"};
  const fs::path& dir_ = temp_.path();
};

// ---- Files that Winlogbeat wrote ---------------------------------------------

TEST_F(YamlStore, LoadsTheDesignExample) {
  auto doc = foreign(load(fixture("design_example.yml")));
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
  auto doc = foreign(load(fixture("winlogbeat_typical.yml")));
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

// The fixture ends with a top-level key of its own ("extra_top"), which
// makes it not a checkpoint file (see UnknownTopLevelKeysAreNotACheckpointFile);
// without that line it is read in all its styles. Unknown keys of a state
// are still ignored, as Winlogbeat ignores them.
TEST_F(YamlStore, LoadsOtherValidStyles) {
  const std::string text = read_bytes(fixture("other_styles.yml"));
  const std::string extra = "extra_top: [1, 2]\n";
  ASSERT_TRUE(text.ends_with(extra));
  auto refused = expect_corrupt(text,
                                "line 19: the top level: unknown key \"extra_top\": not a "
                                "checkpoint file");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->details().line, 19u);

  ASSERT_THAT(text, HasSubstr("  extra_key: ignored\n"));
  auto doc = foreign(load_text(text.substr(0, text.size() - extra.size())));
  EXPECT_EQ(doc.update_time.to_string(), "2017-12-05T15:16:07.841893Z");
  ASSERT_EQ(doc.states.size(), 3u);
  EXPECT_EQ(doc.states[0],
            make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"),
                       "<BookmarkList>\r\n  <Bookmark Channel='Application' RecordId='250502' "
                       "IsCurrent='true'/>\r\n</BookmarkList>"));
  EXPECT_EQ(doc.states[1], make_state("folded over lines", 0, Timestamp()));
  EXPECT_EQ(doc.states[2], make_state("it's", 7, Timestamp::parse("2017-12-05T15:16:02Z")));
}

// YAML's escapes for NEL and no-break space, which Go's yaml.v2 writes,
// come back as those characters in UTF-8 (yaml-cpp 0.7 alone yields the
// bare bytes 0x85 and 0xA0).
TEST_F(YamlStore, NelAndNoBreakSpaceEscapesAreUtf8) {
  auto doc = load_text(
      "event_logs:\n"
      "- name: \"nel\\N nbsp\\_ both\\N\\_ \u00e9\\N\"\n"
      "  record_number: 1\n"
      "  timestamp: 2020-01-01T00:00:00Z\n"
      "  bookmark: \"\\_<x/>\\L\\P\"\n");
  ASSERT_EQ(doc.states.size(), 1u);
  EXPECT_EQ(doc.states[0].name, "nel\u0085 nbsp\u00A0 both\u0085\u00A0 \u00e9\u0085");
  EXPECT_EQ(doc.states[0].bookmark, "\u00A0<x/>\u2028\u2029");
  commit(file(), doc.states);
  EXPECT_EQ(load(file()).states, doc.states);
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
  EXPECT_TRUE(load_text("").states.empty());
  EXPECT_TRUE(load(file()).update_time.is_zero());
  EXPECT_TRUE(load_text("# only a comment\n").states.empty());
  EXPECT_TRUE(load_text("update_time:\nevent_logs:\n").states.empty());
}

TEST_F(YamlStore, LoadsByteOrderMarkAndCrlfLines) {
  auto doc = foreign(
      load_text("\xEF\xBB\xBFupdate_time: 2017-12-05T15:16:07Z\r\nevent_logs:\r\n- name: A\r\n"
                "  record_number: 1\r\n  timestamp: 2017-12-05T15:16:07Z\r\n"));
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
  std::vector<EventLogState> states = {
      make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z")),
      make_state("Microsoft-Windows-Sysmon/Operational", kMaxRecord,
                 Timestamp::parse("2017-11-28T00:27:30.1588877Z"),
                 "<BookmarkList>\r\n  <Bookmark RecordId='204'/>\r\n</BookmarkList>"),
      make_state("System", 0, Timestamp()),
  };
  states[0].update_time = Timestamp::parse("2024-01-02T03:04:05.5Z");
  states[1].update_time = Timestamp::parse("2023-11-12T10:00:00Z");
  std::string text = emit(states);
  const std::string covered =
      "---\n"
      "update_time: 2024-01-02T03:04:05.5Z\n"
      "event_logs:\n"
      "- name: \"Application\"\n"
      "  record_number: 250502\n"
      "  timestamp: 2017-12-05T15:16:02.6721303Z\n"
      "  update_time: 2024-01-02T03:04:05.5Z\n"
      "- name: \"Microsoft-Windows-Sysmon/Operational\"\n"
      "  record_number: 18446744073709551615\n"
      "  timestamp: 2017-11-28T00:27:30.1588877Z\n"
      "  update_time: 2023-11-12T10:00:00Z\n"
      "  bookmark: \"<BookmarkList>\\r\\n  <Bookmark RecordId='204'/>\\r\\n</BookmarkList>\"\n"
      "- name: \"System\"\n"
      "  record_number: 0\n"
      "  timestamp: 0001-01-01T00:00:00Z\n"
      "  update_time: 0001-01-01T00:00:00Z\n";
  // Then the CRC-32C of every byte above, and the end marker.
  EXPECT_EQ(text, covered + "checksum: \"" + crc32c_hex(covered) + "\"\n...\n");
}

TEST_F(YamlStore, WritesAnEmptyListWhenThereAreNoStates) {
  const std::string covered = "---\nupdate_time: 2024-01-02T03:04:05.5Z\nevent_logs: []\n";
  EXPECT_EQ(emit({}), covered + "checksum: \"" + crc32c_hex(covered) + "\"\n...\n");
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

// A refused commit changes neither the file nor what the writer keeps: its
// next commit holds the earlier states and the new ones only.
TEST_F(YamlStore, InvalidUtf8IsRefusedAndTheFileKept) {
  emit({make_state("keep", 1, Timestamp())});
  const std::string before = read_bytes(file());
  auto writer = Store::open(uri(file()));
  for (const auto& state : {make_state("bad \xC3", 1, Timestamp()),
                            make_state("ok", 1, Timestamp(), "bad \xED\xA0\x80 surrogate")}) {
    try {
      writer->commit(Changes{Timestamp(), std::span(&state, 1), {}});
      ADD_FAILURE() << "committed invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("yaml store " + file().string()));
      EXPECT_THAT(e.what(), HasSubstr("not valid UTF-8"));
    }
  }
  EXPECT_EQ(read_bytes(file()), before);
  const EventLogState added = make_state("added", 2, Timestamp());
  writer->commit(Changes{Timestamp(), std::span(&added, 1), {}});
  EXPECT_EQ(load(file()).states,
            (std::vector<EventLogState>{added, make_state("keep", 1, Timestamp())}));
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

// The message names the line; ErrorDetails has the line and the offset.
TEST_F(YamlStore, NulBytesAndControlCharactersAreCorrupt) {
  auto expect_at = [&](const std::string& text, const std::string& what, std::uint64_t offset) {
    const std::uint64_t line = line_at(text, offset);
    auto e = expect_corrupt(text, "line " + std::to_string(line) + ": " + what);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->details().line, line);
    EXPECT_EQ(e->details().offset, offset);
  };
  expect_at(std::string(4096, '\0'), "NUL byte; the file is damaged", 0);
  std::string valid = read_bytes(fixture("winlogbeat_typical.yml"));
  std::string holed = valid;
  std::fill(holed.begin() + 200, holed.begin() + 300, '\0');
  expect_at(holed, "NUL byte", 200);
  expect_at(valid + std::string(512, '\0'), "NUL byte", valid.size());
  std::string eot = valid;
  eot[150] = '\x04';  // yaml-cpp would take it as the end of the input
  expect_at(eot, "control character 0x04 is not allowed in YAML", 150);
  auto e = expect_corrupt("event_logs:\n- name: \"\xC3\x28\"\n", "line 2: not valid UTF-8");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->details().line, 2u);
}

// Winlogbeat's files have no end marker. Cut anywhere, they never crash the
// loader and never yield a different name, record number or timestamp. A cut
// exactly at a line boundary can drop whole states, or shorten the last
// bookmark: its line may go, and a literal block (`|`) has no closing mark.
TEST_F(YamlStore, TruncatedWinlogbeatFilesNeverYieldOtherValues) {
  for (const char* name : {"winlogbeat_typical.yml", "winlogbeat_tricky.yml"}) {
    const std::string text = read_bytes(fixture(name));
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

// YAML written by people and other tools often starts with "---" and has no
// "..." end marker: only our own files carry one, so such a file loads.
TEST_F(YamlStore, DocumentMarkersOfOtherWritersAreOptional) {
  const std::string body =
      "update_time: 2017-12-05T15:16:07.841893Z\n"
      "event_logs:\n"
      "- name: Application\n"
      "  record_number: 250502\n"
      "  timestamp: 2017-12-05T15:16:02.6721303Z\n";
  for (const std::string& text :
       {"---\n" + body, "--- # a comment\n" + body, "---\n" + body + "# the end\n",
        "---\n" + body + "...", "---\n" + body + "...\n", "%YAML 1.1\n---\n" + body}) {
    SCOPED_TRACE(text);
    PersistedState loaded;
    ASSERT_NO_THROW(loaded = load_text(text));
    ASSERT_EQ(loaded.states.size(), 1u);
    EXPECT_EQ(loaded.states[0].record_number, 250502u);
    EXPECT_EQ(loaded.update_time, Timestamp::parse("2017-12-05T15:16:07.841893Z"));
    // And a writer takes it over, rewriting it in our layout.
    commit(file(), {loaded.states[0], make_state("Security", 1, Timestamp::from_unix(1))});
    EXPECT_EQ(load(file()).states.size(), 2u);
  }
  // Cut inside its last line, such a file is refused (it ends with no line break).
  expect_corrupt("---\n" + body.substr(0, body.size() - 10), "the file looks truncated");
}

// One of our own files cut short is told apart from YAML of other writers
// (it is the start of our exact layout): Error{corrupt}, whose message says
// how to keep what can still be read. (damaged_store_test cuts at every
// byte through the store too.)
TEST_F(YamlStore, OurFileCutShortSaysToSalvage) {
  const std::string text =
      emit({make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"),
                       "<BookmarkList>\r\n  <Bookmark RecordId='250502'/>\r\n</BookmarkList>"),
            make_state("n\u00e4me \"quoted\" \xE6\x97\xA5", kMaxRecord, Timestamp::from_unix(1))});
  for (std::size_t size = 1; size < text.size(); ++size) {
    const std::string cut = text.substr(0, size);
    SCOPED_TRACE(::testing::Message() << "cut at " << size << ": " << cut);
    try {
      backends::parse_yaml_document(cut, "yaml store x.yml");
      ADD_FAILURE() << "loaded a cut file";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt);
      EXPECT_THAT(e.what(), HasSubstr("it was cut short"));
      EXPECT_THAT(e.what(), HasSubstr("checkpointctl salvage STORE NEW-STORE"));
      EXPECT_EQ(e.details().offset, size);
    }
  }
}

// ---- The checksum line ----------------------------------------------------------

// Any change to a file we wrote, even one that leaves valid YAML holding
// other values, is refused: the message names the checksum line and tells
// how to accept a file edited on purpose.
TEST_F(YamlStore, AChecksumThatDoesNotMatchIsCorrupt) {
  const std::string text = emit({make_state("Application", 250502, Timestamp()),
                                 make_state("System", 7, Timestamp(), "<b/>")});
  const std::size_t checksum_at = text.find("\nchecksum: \"") + 1;
  ASSERT_NE(checksum_at, 0u);
  const std::uint64_t checksum_line = line_at(text, checksum_at);
  ASSERT_EQ(checksum_line, 13u);

  auto expect_mismatch = [&](const std::string& damaged) {
    auto e = expect_corrupt(damaged, "line " + std::to_string(checksum_line) +
                                         ": the checksum does not match the contents");
    ASSERT_TRUE(e.has_value());
    EXPECT_THAT(e->what(), HasSubstr("edited by hand"));
    EXPECT_THAT(e->what(), HasSubstr("delete its checksum line"));
    EXPECT_EQ(e->details().line, checksum_line);
    EXPECT_EQ(e->details().offset, checksum_at);
    EXPECT_THAT(e->details().reason, HasSubstr("the checksum does not match"));
  };
  std::string edited = text;
  edited.replace(edited.find("250502"), 6, "250503");  // a hand edit, or a flipped bit
  expect_mismatch(edited);
  std::string renamed = text;
  renamed.replace(renamed.find("System"), 6, "Systen");
  expect_mismatch(renamed);
  std::string other_sum = text;
  other_sum[checksum_at + 11] = other_sum[checksum_at + 11] == '0' ? '1' : '0';
  expect_mismatch(other_sum);
  // Each byte of each state line, changed: never loaded.
  for (std::size_t at = text.find("- name"); at < checksum_at; ++at) {
    std::string damaged = text;
    damaged[at] = damaged[at] == '1' ? '2' : '1';
    try {
      load_text(damaged);
      ADD_FAILURE() << "loaded with byte " << at << " changed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    }
  }

  // As the message says: without its checksum line, the edited file loads,
  // and the next commit writes a checksum again.
  const std::string line = text.substr(checksum_at, text.find('\n', checksum_at) + 1 - checksum_at);
  edited.erase(edited.find(line), line.size());
  write_bytes(file(), edited);
  EXPECT_EQ(load(file()).states.at(0), make_state("Application", 250503, Timestamp()));
  commit(file(), load(file()).states);
  EXPECT_THAT(read_bytes(file()), HasSubstr("\nchecksum: \""));
  EXPECT_EQ(load(file()).states.at(0).record_number, 250503u);
}

// Files without the line (Winlogbeat's, an older checkpoint's, one edited
// by hand) load as before; written again, they get one.
TEST_F(YamlStore, AFileWithoutAChecksumLoads) {
  const std::vector<EventLogState> states = {
      make_state("Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"), "<b/>")};
  const std::string text = emit(states);
  const std::size_t at = text.find("checksum: ");
  ASSERT_NE(at, std::string::npos);
  std::string without = text;
  without.erase(at, text.find('\n', at) + 1 - at);
  EXPECT_EQ(without.find("checksum"), std::string::npos);
  EXPECT_EQ(load_text(without).states, states);
  for (const char* name : {"winlogbeat_typical.yml", "design_example.yml"}) {
    const std::string winlogbeat = read_bytes(fixture(name));
    ASSERT_EQ(winlogbeat.find("checksum"), std::string::npos) << name;
    EXPECT_FALSE(load_text(winlogbeat).states.empty()) << name;
    commit(file(), load(file()).states);
    EXPECT_THAT(read_bytes(file()), HasSubstr("\nchecksum: \"")) << name;
  }
}

// A "checksum" key that is not the line checkpoint writes (reformatted by
// another YAML writer, or moved) is corrupt, whatever it holds.
TEST_F(YamlStore, AChecksumKeyElsewhereIsCorrupt) {
  const std::string covered = "update_time: 2024-01-01T00:00:00Z\nevent_logs: []\n";
  const std::string sum = crc32c_hex(covered);
  for (const std::string& text : {
           "{update_time: 2024-01-01T00:00:00Z, event_logs: [], checksum: \"" + sum + "\"}\n",
           covered + "checksum:\n  \"" + sum + "\"\n",
           covered + "\"checksum\": \"" + sum + "\"\n",
       }) {
    auto e = expect_corrupt(text, "checksum: not on a line of its own");
    ASSERT_TRUE(e.has_value());
    EXPECT_THAT(e->what(), HasSubstr("reformatted"));
    EXPECT_TRUE(e->details().line.has_value());
  }
}

// A YAML file with keys of its own (an application's config, say) is not a
// checkpoint file: loading it is Error{corrupt}, and a writer opened on it
// refuses to commit rather than overwrite it.
TEST_F(YamlStore, UnknownTopLevelKeysAreNotACheckpointFile) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"listen: 8080\n", "line 1: the top level: unknown key \"listen\": not a checkpoint file"},
      {"# app config\nserver:\n  port: 8080\nlog_level: debug\n",
       "the top level: unknown key \"server\": not a checkpoint file"},
      {"update_time: 2024-01-01T00:00:00Z\nevent_logs: []\nlisten: 8080\n",
       "line 3: the top level: unknown key \"listen\": not a checkpoint file"},
      {"{}\n", "line 1: the top level: an empty mapping: not a checkpoint file"},
  };
  const EventLogState state = make_state("Application", 1, Timestamp());
  for (const auto& [text, what] : cases) {
    SCOPED_TRACE(text);
    auto e = expect_corrupt(text, what);
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(e->details().line.has_value());

    // Opening for writing reads nothing; the first commit reads the file.
    auto writer = Store::open(uri(file()));
    try {
      writer->commit(Changes{Timestamp(), std::span(&state, 1), {}});
      ADD_FAILURE() << "committed over a file that is not a checkpoint file";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::corrupt) << error.what();
      EXPECT_THAT(error.what(), HasSubstr("not a checkpoint file"));
    }
    EXPECT_EQ(read_bytes(file()), text);
    // Nor does a Checkpoint, which loads at once.
    writer.reset();
    EXPECT_THROW({ Checkpoint checkpoint(uri(file())); }, Error);
    EXPECT_EQ(read_bytes(file()), text);
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
  {
    auto store = Store::open(uri(file()) + "?sync=off");
    const EventLogState a = make_state("A", 5, Timestamp());
    store->commit(Changes{Timestamp(), std::span(&a, 1), {}});
    EXPECT_EQ(store->load().states.at(0).record_number, 5u);
    // Readers take the option too, and read while the writer holds the lock.
    EXPECT_EQ(Store::open(uri(file()) + "?sync=on", {.mode = OpenMode::read})
                  ->load()
                  .states.at(0)
                  .record_number,
              5u);
  }
  EXPECT_EQ(Store::open(uri(file()) + "?sync=on")->load().states.at(0).record_number, 5u);
  for (const char* bad : {"yaml:x.yml?sync=maybe", "yaml:x.yml?fsync=off", "yaml:"}) {
    for (OpenMode mode : {OpenMode::write, OpenMode::read}) {
      try {
        Store::open(bad, {.mode = mode});
        ADD_FAILURE() << bad;
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_config) << bad << ": " << e.what();
      }
    }
  }
  EXPECT_FALSE(fs::exists("x.yml.lock"));
}

// Opening for reading creates, locks and changes nothing; opening for
// writing takes the writer lock at once, before the file is read.
TEST_F(YamlStore, ReadersAndWriters) {
  const std::string label = "yaml store " + file().string();
  const fs::path lock = file().string() + ".lock";
  auto expect_error = [&](ErrorCode code, const std::string& what, auto&& action) {
    try {
      action();
      ADD_FAILURE() << "no error, expected " << to_string(code) << ": " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(label + ": "));
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  };

  // A missing store: not_found for a reader, and for a writer that may not
  // create it; neither leaves a file behind.
  expect_error(ErrorCode::not_found, "does not exist", [&] { open_reader(file()); });
  expect_error(ErrorCode::not_found, "does not exist", [&] {
    Store::open(uri(file()), {.mode = OpenMode::write, .create_if_missing = false});
  });
  EXPECT_THROW(open_reader(dir_ / "no" / "such" / "dir.yml"), Error);
  EXPECT_TRUE(fs::is_empty(dir_));

  {
    // A writer of a new store reads it as empty and writes the file at its
    // first commit; it holds the lock from the start.
    auto writer = Store::open(uri(file()));
    EXPECT_TRUE(fs::exists(lock));
    EXPECT_TRUE(WriterLock::is_held(file()));
    EXPECT_FALSE(fs::exists(file()));
    EXPECT_TRUE(writer->load().states.empty());
    expect_error(ErrorCode::locked, "locked", [&] { Store::open(uri(file())); });
    expect_error(ErrorCode::not_found, "does not exist", [&] { open_reader(file()); });
    const EventLogState a = make_state("A", 1, Timestamp());
    writer->commit(Changes{Timestamp(), std::span(&a, 1), {}});

    // A reader loads while the writer holds the lock, and cannot commit.
    auto reader = open_reader(file());
    EXPECT_EQ(reader->load().states, std::vector<EventLogState>{a});
    const std::string before = read_bytes(file());
    const EventLogState b = make_state("B", 2, Timestamp());
    expect_error(ErrorCode::invalid_argument, "opened for reading", [&] {
      reader->commit(Changes{Timestamp(), std::span(&b, 1), {}});
    });
    EXPECT_EQ(read_bytes(file()), before);
    // The writer's next commit is seen by the reader's next load.
    writer->commit(Changes{Timestamp(), std::span(&b, 1), {}});
    EXPECT_EQ(reader->load().states, (std::vector<EventLogState>{a, b}));
  }
  EXPECT_FALSE(WriterLock::is_held(file()));

  // A reader of an existing store makes no lock file.
  fs::remove(lock);
  const auto modified = fs::last_write_time(file());
  EXPECT_EQ(open_reader(file())->load().states.size(), 2u);
  EXPECT_FALSE(fs::exists(lock));
  EXPECT_EQ(fs::last_write_time(file()), modified);
  // The lock is free again: a new writer opens, even without create_if_missing.
  EXPECT_EQ(Store::open(uri(file()), {.mode = OpenMode::write, .create_if_missing = false})
                ->load()
                .states.size(),
            2u);
}

TEST_F(YamlStore, RegisteredForYmlAndYaml) {
  auto backends = registered_backends();
  auto it = std::find_if(backends.begin(), backends.end(),
                         [](const BackendInfo& b) { return b.scheme == "yaml"; });
  ASSERT_NE(it, backends.end());
  EXPECT_EQ(it->options,
            (std::vector<std::string>{"sync", "file_mode", "dir_mode", "lock_timeout_ms"}));
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
  std::string text = read_bytes(path);
  EXPECT_THAT(text, HasSubstr("- name: \"yes\"\n  record_number: 7\n"));
  Checkpoint again(path.string());
  ASSERT_TRUE(again.state("yes").has_value());
  EXPECT_EQ(again.state("yes")->bookmark, "b");
}

}  // namespace
}  // namespace checkpoint
