// The JSON writer and the fast reader of its layout
// (backends/json/json_layout_reader): the writer's text is what
// nlohmann::json's dump(2) gives for the same document, checksum member
// included, and the reader returns exactly what the nlohmann reader
// returns for every text it accepts, with or without the checksum member,
// and gives up on everything else. The nlohmann reader is reached by
// putting a space in front of a document, which our layout never has.
//
// The fast reader skips the checksum: parse_json_document() compares it
// first, for both readers. So where a text's checksum matched, the text
// with a space in front gets one that matches too, and where it did not,
// it keeps one that does not.
#include "backends/json/json_layout_reader.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "backends/json/json_format.hpp"
#include "checkpoint/error.hpp"
#include "core/document_checksum.hpp"

namespace checkpoint::backends {
namespace {

using namespace std::string_literals;

const std::string kStore = "json store test.json";
const Timestamp kUpdateTime = Timestamp::parse("2024-05-06T07:08:09.123456789Z");

constexpr std::string_view kChecksum = "  \"checksum\": ";

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

// `text` without its checksum member, as older versions write.
std::string without_checksum(const std::string& text) {
  const std::size_t at = text.rfind(",\n  \"checksum\": \"");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no checksum in " << text;
    return text;
  }
  return text.substr(0, at) + "\n}\n";
}

// What parse_json_document() makes of `text` through nlohmann::json.
PersistedState general(const std::string& text) {
  std::string spaced = " " + text;
  if (checksum_matches(text)) spaced = sealed(std::move(spaced));
  return parse_json_document(spaced, kStore);
}

StateMap map_of(std::vector<EventLogState> states) {
  StateMap out;
  for (auto& s : states) out.emplace(s.name, s);
  return out;
}

StateMap tricky_states() {
  const Timestamp first = Timestamp::parse("0001-01-01T00:00:00.000000001Z");
  const Timestamp last = Timestamp::parse("9999-12-31T23:59:59.999999999Z");
  return map_of({
      {"Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"),
       "<BookmarkList>\r\n  <Bookmark Channel='Application' "
       "RecordId='250502'/>\r\n</BookmarkList>"},
      {"yes", 0, Timestamp(), ""},
      {"null", 18446744073709551615u, last, "~"},
      {"quote \" backslash \\ slash / tab \t", 3, first, "line\nbreak\rreturn\bback\fform"},
      {"nul \0 del \x7F bell \x07 unit \x1F"s, 4, last, "esc \x1B"},
      {"C1 \xC2\x85, \xC3\xBC, LS \xE2\x80\xA8", 5, first, "\xF0\x9F\x98\x80"},
      {"BOM \xEF\xBB\xBF FFFF \xEF\xBF\xBF", 6, last, "'single'"},
  });
}

std::string emit(const StateMap& states) { return emit_json_document(kUpdateTime, states, kStore); }

// The document as nlohmann::json writes it.
std::string nlohmann_text(const StateMap& states) {
  using Json = nlohmann::ordered_json;
  Json logs = Json::array();
  for (const auto& [name, state] : states) {
    Json entry = Json::object();
    entry["name"] = state.name;
    entry["record_number"] = state.record_number;
    entry["timestamp"] = state.timestamp.to_string();
    entry["update_time"] = state.update_time.to_string();
    if (!state.bookmark.empty()) entry["bookmark"] = state.bookmark;
    logs.push_back(std::move(entry));
  }
  Json doc = Json::object();
  doc["update_time"] = kUpdateTime.to_string();
  doc["event_logs"] = std::move(logs);
  doc["checksum"] = "";
  // The checksum of every byte before its line.
  const std::string text = doc.dump(2) + "\n";
  const std::size_t line = text.rfind("\n  \"checksum\": ") + 1;
  doc["checksum"] = detail::document_checksum(std::string_view(text).substr(0, line));
  return doc.dump(2) + "\n";
}

TEST(JsonWriter, WritesWhatNlohmannWrites) {
  for (const StateMap& states : {StateMap{}, tricky_states()}) {
    EXPECT_EQ(emit(states), nlohmann_text(states));
  }
}

TEST(JsonLayoutReader, ReadsWhatTheWriterWrites) {
  for (const StateMap& states : {StateMap{}, tricky_states()}) {
    const std::string ours = emit(states);
    ASSERT_TRUE(checksum_matches(ours)) << ours;
    for (const std::string& text : {ours, without_checksum(ours)}) {
      auto fast = read_json_layout(text);
      ASSERT_TRUE(fast.has_value()) << text;
      EXPECT_EQ(fast->update_time, kUpdateTime);
      ASSERT_EQ(fast->states.size(), states.size());
      for (const auto& state : fast->states) EXPECT_EQ(state, states.at(state.name));
      const PersistedState slow = general(text);
      EXPECT_EQ(fast->update_time, slow.update_time);
      EXPECT_EQ(fast->states, slow.states);
      EXPECT_EQ(parse_json_document(text, kStore).states, slow.states);
    }
  }
}

TEST(JsonLayoutReader, GivesUpOnOtherLayoutsAndRepeatedNames) {
  const std::string ours = emit(tricky_states());
  const std::string entry =
      "    {\n      \"name\": \"a\",\n      \"record_number\": 1,\n"
      "      \"timestamp\": \"2024-01-01T00:00:00Z\"\n    }";
  const std::string head = "{\n  \"update_time\": \"2024-01-01T00:00:00Z\",\n  \"event_logs\": [\n";
  const std::string others[] = {
      "",
      ours.substr(0, ours.size() - 1),  // no final line break
      ours + " ",
      "\xEF\xBB\xBF" + ours,
      head + entry + ",\n" + entry + "\n  ]\n}\n",  // the same name twice
      head + entry + "\n  ],\n  \"version\": 2\n}\n",
      R"({"update_time":"2024-01-01T00:00:00Z","event_logs":[]})"
      "\n",  // compact
      "{\n  \"update_time\": \"2024-01-01T00:00:00Z\",\n  \"event_logs\": []\n}\r\n",
      head +
          "    {\n      \"name\": \"a\",\n      \"record_number\": 1.0,\n"
          "      \"timestamp\": \"2024-01-01T00:00:00Z\"\n    }\n  ]\n}\n",
      head +
          "    {\n      \"name\": \"\\ud83d\\ude00\",\n      \"record_number\": 1,\n"
          "      \"timestamp\": \"2024-01-01T00:00:00Z\"\n    }\n  ]\n}\n",  // a surrogate pair
      head +
          "    {\n      \"name\": \"a\\/b\",\n      \"record_number\": 1,\n"
          "      \"timestamp\": \"2024-01-01T00:00:00Z\"\n    }\n  ]\n}\n",  // "\/"
      // The checksum anywhere but last, twice, or not on a line of its own.
      head + entry + "\n  ],\n  \"checksum\": \"0\",\n  \"version\": 2\n}\n",
      "{\n  \"checksum\": \"0\",\n  \"update_time\": \"2024-01-01T00:00:00Z\",\n  "
      "\"event_logs\": []\n}\n",
      "{\n  \"update_time\": \"2024-01-01T00:00:00Z\",\n  \"checksum\": \"0\",\n  "
      "\"event_logs\": []\n}\n",
      head + entry + "\n  ],\n  \"checksum\": \"0\",\n  \"checksum\": \"0\"\n}\n",
      head + entry + "\n  ]\n  \"checksum\": \"0\"\n}\n",
      head + entry + "\n  ], \"checksum\": \"0\"\n}\n",
      head + entry + "\n  ],\n  \"checksum\": \"0\"}\n",
      head + entry + "\n  ],\n  \"checksum\": \"0\"\n}",
      head + entry + ",\n  \"checksum\": \"0\"\n  ]\n}\n",
  };
  for (const std::string& text : others) {
    EXPECT_FALSE(read_json_layout(text).has_value()) << text;
  }
  // What the general reader makes of two of them.
  EXPECT_EQ(general(head + "    {\n      \"name\": \"a\\/b\",\n      \"record_number\": 1,\n"
                           "      \"timestamp\": \"2024-01-01T00:00:00Z\"\n    }\n  ]\n}\n")
                .states.at(0)
                .name,
            "a/b");
  EXPECT_THROW(parse_json_document(head + entry + ",\n" + entry + "\n  ]\n}\n", kStore), Error);
}

// parse_json_document() compares the checksum line before either reader
// runs, and the fast reader skips the line; so a line that matches must
// also be JSON for the document to load, as the general reader requires.
TEST(JsonLayoutReader, TheChecksumLineMustAlsoBeJson) {
  const std::string ours = emit(tricky_states());
  const PersistedState original = parse_json_document(ours, kStore);
  const std::size_t line = ours.rfind("\n  \"checksum\": ") + 1;
  const std::string covered = ours.substr(0, line);
  const std::string sum = detail::document_checksum(covered);
  ASSERT_EQ(ours, covered + "  \"checksum\": \"" + sum + "\"\n}\n");

  for (const std::string& loads : {covered + "  \"checksum\": \"" + sum + "\"  \n}\n",
                                   covered + "  \"checksum\": \"" + sum + "\"\r\n}\r\n"}) {
    EXPECT_EQ(parse_json_document(loads, kStore).states, original.states) << loads;
    EXPECT_EQ(general(loads).states, original.states) << loads;
  }
  for (const std::string& refused : {covered + "  \"checksum\": " + sum + "\n}\n",  // unquoted
                                     covered + "  \"checksum\": \"" + sum + "\",\n}\n"}) {
    try {
      parse_json_document(refused, kStore);
      ADD_FAILURE() << "loaded, though it is not JSON:\n" << refused;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    }
    EXPECT_THROW(general(refused), Error) << refused;
  }
}

// Calls check(variant) for thousands of damaged variants of `text`: each
// byte from `from` on replaced by, or preceded by, one of a set of strings,
// and the text cut there.
template <typename Check>
void for_each_variant(const std::string& text, Check check, std::size_t from = 0) {
  const std::string replacements[] = {"",  "\"", "\\", "\n", " ",  "0",        "9",   "x",
                                      ",", "}",  "]",  ":",  "\t", "\xC2\x85", "\0"s, "-"};
  for (std::size_t at = from; at < text.size(); ++at) {
    for (const std::string& r : replacements) {
      check(text.substr(0, at) + r + text.substr(at + 1));              // replaced (or deleted)
      if (!r.empty()) check(text.substr(0, at) + r + text.substr(at));  // inserted
    }
    check(text.substr(0, at));  // cut
  }
}

// Every text the fast reader accepts, among thousands of damaged variants
// of one of our documents, reads the same through nlohmann::json: with the
// checksum member (made to match each variant, as the fast reader leaves it
// to its caller), and without it, where damage to the last state and the
// end is enough (the states before are read by the same code either way).
TEST(JsonLayoutReader, AcceptsOnlyWhatTheGeneralReaderReadsTheSame) {
  const std::string ours = emit(tricky_states());
  const std::string without = without_checksum(ours);
  for (const auto& [text, from] : {std::pair<std::string, std::size_t>(ours, 0),
                                   std::pair(without, without.rfind("\n    {\n"))}) {
    SCOPED_TRACE(from == 0 ? "with the checksum member" : "without it");
    std::size_t accepted = 0, refused = 0, wrong = 0;
    for_each_variant(
        text,
        [&](const std::string& damaged) {
          const std::string variant = sealed(damaged);
          auto fast = read_json_layout(variant);
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
              ADD_FAILURE() << "the fast reader accepted what nlohmann refuses: " << e.what()
                            << "\n"
                            << variant;
            }
          }
        },
        from);
    EXPECT_EQ(wrong, 0u) << "texts that the fast reader accepted and nlohmann refused";
    EXPECT_GT(accepted, from == 0 ? 1000u : 100u);
    EXPECT_GT(refused, from == 0 ? 1000u : 100u);
  }
}

// The checksum at work: every one of those variants of a document we wrote,
// left as damage leaves it, is Error{corrupt} or reads back exactly as
// written (the damage hit only the spacing after the checksum or the end of
// the file). Without it, many would read as other values: a changed digit
// of a record number, say.
TEST(JsonLayoutReader, DamageToOurDocumentIsCorruptOrHarmless) {
  const std::string text = emit(tricky_states());
  const PersistedState original = parse_json_document(text, kStore);
  std::size_t corrupt = 0, harmless = 0;
  for_each_variant(text, [&](const std::string& variant) {
    try {
      PersistedState read = parse_json_document(variant, kStore);
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
