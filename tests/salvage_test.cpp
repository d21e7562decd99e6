// Salvage of damaged yaml and json documents: every state that can still be
// read comes back exactly, and nothing else does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "backends/json/json_format.hpp"
#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/store.hpp"
#include "tests/test_files.hpp"

namespace checkpoint::backends {
namespace {

using ::testing::HasSubstr;

struct Format {
  const char* name;  // also the scheme
  std::string (*emit)(Timestamp, const StateMap&, std::string_view);
  checkpoint::Salvage (*salvage)(std::string_view);
  std::string checksum_line;  // how the checksum line starts
  std::string (*without_checksum)(const std::string&);
};

void PrintTo(const Format& format, std::ostream* out) { *out << format.name; }

// Our document without its checksum line, as older versions wrote it.
std::string yaml_without_checksum(const std::string& text) {
  const std::size_t at = text.rfind("\nchecksum: ") + 1;
  return text.substr(0, at) + text.substr(text.find('\n', at) + 1);
}
std::string json_without_checksum(const std::string& text) {
  return text.substr(0, text.rfind(",\n  \"checksum\": ")) + "\n}\n";
}

const Format kFormats[] = {
    {"yaml", emit_yaml_document, salvage_yaml_document, "checksum: ", yaml_without_checksum},
    {"json", emit_json_document, salvage_json_document, "  \"checksum\": ", json_without_checksum}};

StateMap sample() {
  StateMap states;
  auto add = [&](std::string name, std::uint64_t record, const char* ts, std::string bookmark) {
    states.emplace(name, EventLogState{name, record, Timestamp::parse(ts), std::move(bookmark)});
  };
  add("Application", 250502, "2017-12-05T15:16:02.6721303Z", "");
  add("Microsoft-Windows-Sysmon/Operational", 204, "2017-11-28T00:27:30.1588877Z",
      "<BookmarkList>\r\n  <Bookmark Channel='Sysmon' RecordId='204'/>\r\n</BookmarkList>");
  add("key: value # {x} [y]", 18446744073709551615u, "9999-12-31T23:59:59.999999999Z", "}\"{");
  add("yes", 0, "0001-01-01T00:00:00Z", "- name: \"fake\"\n  record_number: 1");
  add("zz last", 9007199254740993u, "1970-01-01T00:00:00.000000001Z", "b");
  return states;
}

const Timestamp kUpdate = Timestamp::parse("2017-12-05T15:16:07.841893Z");

class SalvageTest : public ::testing::TestWithParam<Format> {
 protected:
  // Every salvaged state must be one of the originals, value for value.
  static void expect_exact(const checkpoint::Salvage& got, const StateMap& original,
                           const std::string& context) {
    for (const auto& state : got.readable.states) {
      auto it = original.find(state.name);
      ASSERT_NE(it, original.end()) << context << ": invented \"" << state.name << "\"";
      EXPECT_EQ(state, it->second) << context << ": changed \"" << state.name << "\"";
    }
  }
};

TEST_P(SalvageTest, IntactDocumentGivesEverythingAndNoProblems) {
  StateMap states = sample();
  const std::string text = GetParam().emit(kUpdate, states, "test");
  ASSERT_THAT(text, HasSubstr("\n" + GetParam().checksum_line));
  // With its checksum line, and without it (as older versions wrote it).
  for (const std::string& intact : {text, GetParam().without_checksum(text)}) {
    auto got = GetParam().salvage(intact);
    EXPECT_TRUE(got.damage.empty()) << got.damage.front().what;
    EXPECT_EQ(got.readable.update_time, kUpdate);
    ASSERT_EQ(got.readable.states.size(), states.size());
    expect_exact(got, states, "intact");
  }
}

// A value changed in a way that still reads (a hand edit, a flipped bit)
// cannot be told from the real one state by state; the checksum line tells
// that the document changed, and salvage reports it at that line.
TEST_P(SalvageTest, AChecksumThatDoesNotMatchIsReported) {
  StateMap states = sample();
  std::string text = GetParam().emit(kUpdate, states, "test");
  text.replace(text.find("250502"), 6, "250503");
  const std::size_t line_start = text.rfind("\n" + GetParam().checksum_line) + 1;
  const auto line = 1 + std::count(text.begin(), text.begin() + line_start, '\n');
  auto got = GetParam().salvage(text);
  EXPECT_EQ(got.readable.states.size(), states.size());
  ASSERT_EQ(got.damage.size(), 1u);
  EXPECT_THAT(got.damage[0].what, HasSubstr("the checksum does not match"));
  EXPECT_EQ(got.damage[0].where, "line " + std::to_string(line));
}

TEST_P(SalvageTest, NulsOverOneStateLoseOnlyThatState) {
  StateMap states = sample();
  std::string text = GetParam().emit(kUpdate, states, "test");
  for (const auto& [name, state] : states) {
    std::string damaged = text;
    // The name as written: yaml and json both write it in double quotes.
    auto at = damaged.find(name.substr(0, 8));
    ASSERT_NE(at, std::string::npos) << name;
    damaged.replace(at, 6, std::string(6, '\0'));
    auto got = GetParam().salvage(damaged);
    expect_exact(got, states, "NULs over " + name);
    EXPECT_EQ(got.readable.states.size(), states.size() - 1) << name;
    EXPECT_EQ(got.damage.size(), 1u) << name;
    EXPECT_EQ(got.readable.update_time, kUpdate);
  }
}

TEST_P(SalvageTest, TruncationAtEveryOffsetNeverChangesAValue) {
  StateMap states = sample();
  std::string text = GetParam().emit(kUpdate, states, "test");
  std::size_t previous = 0;
  for (std::size_t cut = 0; cut < text.size(); ++cut) {
    auto got = GetParam().salvage(std::string_view(text).substr(0, cut));
    expect_exact(got, states, "cut at " + std::to_string(cut));
    // A cut document reports what it lost (a yaml document that lost only
    // its last newline lost nothing), and the states it keeps only grow with
    // the cut.
    if (cut + 1 < text.size()) {
      EXPECT_FALSE(got.damage.empty()) << "cut at " << cut;
    }
    EXPECT_GE(got.readable.states.size(), previous) << "cut at " << cut;
    previous = got.readable.states.size();
  }
  EXPECT_EQ(previous, states.size()) << "only the last newline cut: nothing is lost";
}

// Random bytes can spell another valid value, which no reader can tell from
// the real one; what salvage promises there is to read without crashing.
TEST_P(SalvageTest, RandomDamageIsReadWithoutCrashing) {
  std::string text = GetParam().emit(kUpdate, sample(), "test");
  std::mt19937 rng(20171205);
  for (int round = 0; round < 500; ++round) {
    std::string damaged = text;
    std::size_t at = rng() % damaged.size(), len = 1 + rng() % 16;
    for (std::size_t i = at; i < std::min(damaged.size(), at + len); ++i) {
      damaged[i] = static_cast<char>(rng());
    }
    auto got = GetParam().salvage(damaged);
    EXPECT_LE(got.readable.states.size(), sample().size()) << "round " << round;
  }
}

// Power loss leaves runs of NULs, which cannot spell a value: with two such
// runs anywhere, every state salvaged is exactly an original.
TEST_P(SalvageTest, NulRunsAnywhereNeverChangeAValue) {
  StateMap states = sample();
  std::string text = GetParam().emit(kUpdate, states, "test");
  std::mt19937 rng(20260101);
  for (int round = 0; round < 500; ++round) {
    std::string damaged = text;
    for (int run = 0; run < 2; ++run) {
      std::size_t at = rng() % damaged.size(), len = 1 + rng() % 64;
      damaged.replace(at, std::min(len, damaged.size() - at), std::min(len, damaged.size() - at),
                      '\0');
    }
    auto got = GetParam().salvage(damaged);
    expect_exact(got, states, "round " + std::to_string(round));
    EXPECT_FALSE(got.damage.empty()) << "round " << round;
  }
}

TEST_P(SalvageTest, GarbageGivesNothingAndSaysSo) {
  for (std::string garbage : {std::string(), std::string(100, '\0'), std::string("not a store")}) {
    auto got = GetParam().salvage(garbage);
    EXPECT_TRUE(got.readable.states.empty());
    EXPECT_FALSE(got.damage.empty());
  }
}

// Store::salvage() of a store opened for reading: the file's states that
// still read, what could not be read, and the file left as it was.
TEST_P(SalvageTest, ThroughAStoreOpenedForReading) {
  testing::TempDir dir("salvage-test");
  const std::filesystem::path path = dir / (std::string("state.") + GetParam().name);
  const std::string uri = std::string(GetParam().name) + ":" + path.string();
  try {
    Store::open(uri, {.mode = OpenMode::read})->salvage();
    ADD_FAILURE() << "salvaged a store that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found) << e.what();
  }

  StateMap states = sample();
  std::string damaged = GetParam().emit(kUpdate, states, "test");
  const std::size_t at = damaged.find("Application");
  damaged.replace(at, 6, std::string(6, '\0'));
  testing::write_bytes(path, damaged);
  auto store = Store::open(uri, {.mode = OpenMode::read});
  EXPECT_THROW(store->load(), Error);
  auto got = store->salvage();
  expect_exact(got, states, "through the store");
  EXPECT_EQ(got.readable.states.size(), states.size() - 1);
  EXPECT_EQ(got.readable.update_time, kUpdate);
  ASSERT_FALSE(got.damage.empty());
  EXPECT_EQ(testing::read_bytes(path), damaged);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".lock"));
}

INSTANTIATE_TEST_SUITE_P(Formats, SalvageTest, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(SalvageYaml, WinlogbeatFileWithoutMarkersLoadsWhole) {
  using namespace std::string_literals;
  std::string text =
      "update_time: 2017-12-05T15:16:07.841893Z\n"
      "event_logs:\n"
      "- name: Application\n"
      "  record_number: 250502\n"
      "  timestamp: 2017-12-05T07:16:02.6721303-08:00\n"
      "- name: Security\n"
      "  record_number: \0\0\0\n"
      "  timestamp: 2017-12-05T15:16:02Z\n"s;
  auto got = salvage_yaml_document(text);
  ASSERT_EQ(got.readable.states.size(), 1u);
  EXPECT_EQ(got.readable.states[0].name, "Application");
  EXPECT_EQ(got.readable.states[0].timestamp.to_string(), "2017-12-05T15:16:02.6721303Z");
}

}  // namespace
}  // namespace checkpoint::backends
