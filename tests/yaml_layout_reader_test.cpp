// The fast reader of our own YAML layout (backends/yaml/yaml_layout_reader)
// must return exactly what the yaml-cpp reader returns for every text it
// accepts, with or without the checksum line, and give up on everything
// else. The yaml-cpp reader is reached by putting a comment line in front of
// a document, which our layout never has.
//
// The fast reader skips the checksum line: parse_yaml_document() compares
// it first, for both readers. So where a text's checksum matched, the
// commented text gets a checksum that matches too, and where it did not,
// it keeps one that does not.
#include "backends/yaml/yaml_layout_reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/error.hpp"
#include "core/document_checksum.hpp"

namespace checkpoint::backends {
namespace {

using namespace std::string_literals;

const std::string kStore = "yaml store test.yml";

constexpr std::string_view kChecksum = "checksum: ";

// Whether `text` has a checksum line that matches what precedes it.
bool checksum_matches(std::string_view text) {
  auto line = detail::find_checksum_line(text, kChecksum);
  return line && line->value == detail::document_checksum(text.substr(0, line->start));
}

// `text` with the value of its checksum line (if any) replaced by the
// checksum of what precedes the line, so that it matches.
std::string sealed(std::string text) {
  auto line = detail::find_checksum_line(text, kChecksum);
  if (!line) return text;
  const std::size_t at = static_cast<std::size_t>(line->value.data() - text.data());
  const std::size_t size = line->value.size();
  const std::string sum = detail::document_checksum(std::string_view(text).substr(0, line->start));
  return text.replace(at, size, sum);
}

// `text` without its checksum line, as Winlogbeat and older versions write.
std::string without_checksum(std::string text) {
  auto line = detail::find_checksum_line(text, kChecksum);
  if (!line) {
    ADD_FAILURE() << "no checksum line in " << text;
    return text;
  }
  text.erase(line->start, text.find('\n', line->start) + 1 - line->start);
  return text;
}

// What parse_yaml_document() makes of `text` through yaml-cpp.
PersistedState general(const std::string& text) {
  std::string commented = "# read by yaml-cpp\n" + text;
  if (checksum_matches(text)) commented = sealed(std::move(commented));
  return parse_yaml_document(commented, kStore);
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
    const std::string ours = emit(states);
    ASSERT_TRUE(checksum_matches(ours)) << ours;
    for (const std::string& text : {ours, without_checksum(ours)}) {
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
      // The checksum line anywhere but right before the end marker, twice,
      // or not a line of its own.
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs: []\n...\nchecksum: \"0\"\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nchecksum: \"0\"\nevent_logs: []\n...\n",
      "---\nchecksum: \"0\"\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs: []\n...\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs: []\nchecksum: \"0\"\nchecksum: "
      "\"0\"\n...\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs: []\nchecksum: \"0\"...\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs: []\nchecksum:\"0\"\n...\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs: []\nchecksum: \"0\"\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: \"a\"\n"
      "  record_number: 1\n  timestamp: 2024-01-01T00:00:00Z\n  checksum: \"0\"\n...\n",
      "---\nupdate_time: 2024-01-01T00:00:00Z\nevent_logs:\n- name: \"a\"\n"
      "  record_number: 1\n  timestamp: 2024-01-01T00:00:00Z\n- checksum: \"0\"\n...\n",
  };
  for (const std::string& text : others) {
    bool cut = true;
    EXPECT_FALSE(read_yaml_layout(text, &cut).has_value()) << text;
    // Two of them are the start of a document in our layout: the whole
    // file but its last byte, and nothing at all.
    EXPECT_EQ(cut, text.empty() || text == ours.substr(0, ours.size() - 1)) << "cut: " << text;
  }
  for (const char* fixture : {"winlogbeat_typical.yml", "winlogbeat_tricky.yml",
                              "design_example.yml", "other_styles.yml"}) {
    const std::string text = read_text(std::string(CHECKPOINT_YAML_FIXTURES) + "/" + fixture);
    ASSERT_FALSE(text.empty()) << fixture;
    bool cut = true;
    EXPECT_FALSE(read_yaml_layout(text, &cut).has_value()) << fixture;
    EXPECT_FALSE(cut) << fixture;
  }
}

// A text that is the start of our layout is told apart from other layouts:
// our file cut at every byte, with and without its checksum line, "ran
// out"; the same text with damage before its end (NUL bytes, a line
// break or another character where ours has none) did not.
TEST(YamlLayoutReader, TellsOurFileCutShortFromOtherLayouts) {
  for (const StateMap& states : {StateMap{}, tricky_states()}) {
    const std::string ours = emit(states);
    for (const std::string& text : {ours, without_checksum(ours)}) {
      bool cut = true;
      ASSERT_TRUE(read_yaml_layout(text, &cut).has_value());
      EXPECT_FALSE(cut) << "a whole file";
      for (std::size_t size = 1; size < text.size(); ++size) {
        const std::string prefix = text.substr(0, size);
        cut = false;
        EXPECT_FALSE(read_yaml_layout(prefix, &cut).has_value()) << prefix;
        EXPECT_TRUE(cut) << "not taken for ours, cut: " << prefix;
        // A power cut's NUL bytes past the end, or something else there.
        for (const std::string& tail : {"\0\0\0\0"s, "\x01"s, "\n# comment\n"s}) {
          cut = true;
          EXPECT_FALSE(read_yaml_layout(prefix + tail, &cut).has_value());
          EXPECT_FALSE(cut) << "taken for ours, cut: " << prefix + tail;
        }
      }
    }
  }
}

// Calls check(variant) for thousands of damaged variants of `text`: each
// byte from `from` on replaced by, or preceded by, one of a set of strings,
// and the text cut there.
template <typename Check>
void for_each_variant(const std::string& text, Check check, std::size_t from = 0) {
  const std::string replacements[] = {"",  "\"", "\\", "\n",       " ",    "0",   "9", "x",
                                      "#", ":",  "\t", "\xC2\x85", "\x7F", "\0"s, "- "};
  for (std::size_t at = from; at < text.size(); ++at) {
    for (const std::string& r : replacements) {
      check(text.substr(0, at) + r + text.substr(at + 1));              // replaced (or deleted)
      if (!r.empty()) check(text.substr(0, at) + r + text.substr(at));  // inserted
    }
    check(text.substr(0, at));  // cut
  }
}

// Every text the fast reader accepts, among thousands of damaged variants
// of one of our documents, reads the same through yaml-cpp: with the
// checksum line (made to match each variant, as the fast reader leaves it
// to its caller), and without it, where damage to the last state and the
// end is enough (the states before are read by the same code either way).
TEST(YamlLayoutReader, AcceptsOnlyWhatYamlCppReadsTheSame) {
  const std::string ours = emit(tricky_states());
  const std::string without = without_checksum(ours);
  for (const auto& [text, from] : {std::pair<std::string, std::size_t>(ours, 0),
                                   std::pair(without, without.rfind("\n- name: "))}) {
    SCOPED_TRACE(from == 0 ? "with the checksum line" : "without it");
    std::size_t accepted = 0, refused = 0, wrong = 0;
    for_each_variant(
        text,
        [&](const std::string& damaged) {
          const std::string variant = sealed(damaged);
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
            // The first few in full, then only how many.
            if (++wrong <= 3) {
              ADD_FAILURE() << "the fast reader accepted what yaml-cpp refuses: " << e.what()
                            << "\n"
                            << variant;
            }
          }
        },
        from);
    EXPECT_EQ(wrong, 0u) << "texts that the fast reader accepted and yaml-cpp refused";
    // Both outcomes occur: the test would notice a reader that gave up on all.
    EXPECT_GT(accepted, from == 0 ? 1000u : 100u);
    EXPECT_GT(refused, from == 0 ? 1000u : 100u);
  }
}

// The checksum line at work: every one of those variants of a document we
// wrote, left as damage leaves it, is Error{corrupt} or reads back exactly
// as written (the damage hit only the spacing after the checksum or the end
// of the file). Without the line, many would read as other values: a
// changed digit of a record number, say.
TEST(YamlLayoutReader, DamageToOurDocumentIsCorruptOrHarmless) {
  const std::string text = emit(tricky_states());
  const PersistedState original = parse_yaml_document(text, kStore);
  std::size_t corrupt = 0, harmless = 0;
  for_each_variant(text, [&](const std::string& variant) {
    if (variant.empty()) return;  // an empty file is an empty store
    try {
      PersistedState read = parse_yaml_document(variant, kStore);
      ++harmless;
      EXPECT_EQ(read.update_time, original.update_time) << variant;
      EXPECT_EQ(read.states, original.states) << variant;
    } catch (const Error& e) {
      ++corrupt;
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    }
  });
  EXPECT_GT(corrupt, 10000u);
  EXPECT_GT(harmless, 0u);
}

}  // namespace
}  // namespace checkpoint::backends
