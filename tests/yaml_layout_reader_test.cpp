// The fast reader of our own YAML layout (backends/yaml/yaml_layout_reader)
// must return exactly what the yaml-cpp reader returns for every text it
// accepts, and give up on everything else. The yaml-cpp reader is reached
// by putting a comment line in front of a document, which our layout never
// has.
#include "backends/yaml/yaml_layout_reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/error.hpp"

namespace checkpoint::backends {
namespace {

using namespace std::string_literals;

const std::string kStore = "yaml store test.yml";

PersistedState general(const std::string& text) {
  return parse_yaml_document("# read by yaml-cpp\n" + text, kStore);
}

StateMap map_of(std::vector<EventLogState> states) {
  StateMap out;
  for (auto& s : states) out.emplace(s.name, s);
  return out;
}

// Names and bookmarks that need every escape the writer has, and values at
// their limits.
StateMap tricky_states() {
  const Timestamp first = Timestamp::parse("0001-01-01T00:00:00.000000001Z");
  const Timestamp last = Timestamp::parse("9999-12-31T23:59:59.999999999Z");
  return map_of({
      {"Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"),
       "<BookmarkList>\r\n  <Bookmark Channel='Application' "
       "RecordId='250502'/>\r\n</BookmarkList>"},
      {"yes", 0, Timestamp(), ""},
      {"null", 18446744073709551615u, last, "~"},
      {"123", 1, first, "123"},
      {"key: value # not a comment", 2, last, "- item"},
      {"quote \" backslash \\ tab \t", 3, first, "line\nbreak\rreturn"},
      {"nul \0 del \x7F bell \x07"s, 4, last, "esc \x1B"},
      {"C1 \xC2\x85 \xC2\x9F, not C1 \xC2\xA0 \xC3\xBC", 5, first, "\xE2\x80\xA8\xE2\x80\xA9"},
      {"BOM \xEF\xBB\xBF FFFE \xEF\xBF\xBE FFFF \xEF\xBF\xBF", 6, last, "\xF0\x9F\x98\x80"},
      {"  leading and trailing spaces  ", 7, first, " "},
      {"\xE6\x97\xA5\xE6\x9C\xAC/Operational", 8, last, "'single'"},
  });
}

std::string emit(const StateMap& states) {
  return emit_yaml_document(Timestamp::parse("2024-05-06T07:08:09.123456789Z"), states, kStore);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(YamlLayoutReader, ReadsWhatTheWriterWrites) {
  for (const StateMap& states : {StateMap{}, tricky_states()}) {
    const std::string text = emit(states);
    auto fast = read_yaml_layout(text);
    ASSERT_TRUE(fast.has_value()) << text;
    EXPECT_EQ(fast->update_time, Timestamp::parse("2024-05-06T07:08:09.123456789Z"));
    ASSERT_EQ(fast->states.size(), states.size());
    for (const auto& state : fast->states) EXPECT_EQ(state, states.at(state.name));
    const PersistedState slow = general(text);
    EXPECT_EQ(fast->update_time, slow.update_time);
    EXPECT_EQ(fast->states, slow.states);
    // And parse_yaml_document() takes the fast path to the same result.
    EXPECT_EQ(parse_yaml_document(text, kStore).states, slow.states);
  }
}

TEST(YamlLayoutReader, SortsAndGivesUpOnRepeatedNames) {
  const std::string head = "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n";
  const std::string b = "- name: \"b\"\n  record_number: 2\n  timestamp: 2024-01-01T00:00:00Z\n";
  const std::string a = "- name: \"a\"\n  record_number: 1\n  timestamp: 2024-01-01T00:00:00Z\n";
  auto sorted = read_yaml_layout(head + b + a + "...\n");
  ASSERT_TRUE(sorted.has_value());
  ASSERT_EQ(sorted->states.size(), 2u);
  EXPECT_EQ(sorted->states[0].name, "a");
  EXPECT_EQ(sorted->states, general(head + b + a + "...\n").states);
  EXPECT_FALSE(read_yaml_layout(head + a + b + a + "...\n"));
  try {
    parse_yaml_document(head + a + b + a + "...\n", kStore);
    ADD_FAILURE() << "a repeated name was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt);
  }
}

TEST(YamlLayoutReader, GivesUpOnOtherLayouts) {
  const std::string ours = emit(tricky_states());
  const std::string others[] = {
      "",
      ours.substr(0, ours.size() - 1),  // no final line break
      ours + "\n",                      // a blank line after the end
      ours + "---\n",                   // a second document
      "\xEF\xBB\xBF" + ours,            // byte order mark
      "# comment\n" + ours,             // a comment
      ours.substr(4),                   // no "---"
      "---\nupdate_time: 2024-01-01T00:00:00Z\r\nevent_logs: []\r\n...\r\n",  // CRLF
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs: []\nversion: 2\n...\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: Application\n"
      "  record_number: 1\n  timestamp: 2024-01-01T00:00:00Z\n...\n",  // a plain name
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: \"a\"\n"
      "  record_number: 01\n  timestamp: 2024-01-01T00:00:00Z\n...\n",  // leading zero
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: \"a\"\n"
      "  record_number: 18446744073709551616\n  timestamp: 2024-01-01T00:00:00Z\n...\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: \"\"\n"
      "  record_number: 1\n  timestamp: 2024-01-01T00:00:00Z\n...\n",  // empty name
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: \"a\\0\"\n"
      "  record_number: 1\n  timestamp: 2024-01-01T00:00:00Z\n...\n",  // an escape we never write
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: \"\\uD800\"\n"
      "  record_number: 1\n  timestamp: 2024-01-01T00:00:00Z\n...\n",   // a surrogate
      "---\nupdate_time: 2024-02-30T00:00:00Z\nevent_logs: []\n...\n",  // no such date
  };
  for (const std::string& text : others) {
    EXPECT_FALSE(read_yaml_layout(text).has_value()) << text;
  }
  for (const char* fixture : {"winlogbeat_typical.yml", "winlogbeat_tricky.yml",
                              "design_example.yml", "other_styles.yml"}) {
    const std::string text = read_text(std::string(CHECKPOINT_YAML_FIXTURES) + "/" + fixture);
    ASSERT_FALSE(text.empty()) << fixture;
    EXPECT_FALSE(read_yaml_layout(text).has_value()) << fixture;
  }
}

// Every text the fast reader accepts, among thousands of damaged variants
// of one of our documents, reads the same through yaml-cpp.
TEST(YamlLayoutReader, AcceptsOnlyWhatYamlCppReadsTheSame) {
  StateMap states = tricky_states();
  const std::string text = emit(states);
  const std::string replacements[] = {"",  "\"", "\\", "\n",       " ",    "0",   "9", "x",
                                      "#", ":",  "\t", "\xC2\x85", "\x7F", "\0"s, "- "};
  std::size_t accepted = 0, refused = 0;
  auto check = [&](const std::string& variant) {
    auto fast = read_yaml_layout(variant);
    if (!fast) {
      ++refused;
      return;
    }
    ++accepted;
    try {
      PersistedState slow = general(variant);
      EXPECT_EQ(fast->update_time, slow.update_time) << variant;
      EXPECT_EQ(fast->states, slow.states) << variant;
    } catch (const Error& e) {
      ADD_FAILURE() << "the fast reader accepted what yaml-cpp refuses: " << e.what() << "\n"
                    << variant;
    }
  };
  for (std::size_t at = 0; at < text.size(); ++at) {
    for (const std::string& r : replacements) {
      check(text.substr(0, at) + r + text.substr(at + 1));              // replaced (or deleted)
      if (!r.empty()) check(text.substr(0, at) + r + text.substr(at));  // inserted
    }
    check(text.substr(0, at));  // cut
  }
  // Both outcomes occur: the test would notice a reader that gave up on all.
  EXPECT_GT(accepted, 1000u);
  EXPECT_GT(refused, 1000u);
}

}  // namespace
}  // namespace checkpoint::backends
