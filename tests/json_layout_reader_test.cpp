// The JSON writer and the fast reader of its layout
// (backends/json/json_layout_reader): the writer's text is what
// nlohmann::json's dump(2) gives for the same document, and the reader
// returns exactly what the nlohmann reader returns for every text it
// accepts, and gives up on everything else. The nlohmann reader is reached
// by putting a space in front of a document, which our layout never has.
#include "backends/json/json_layout_reader.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "backends/json/json_format.hpp"
#include "checkpoint/error.hpp"

namespace checkpoint::backends {
namespace {

using namespace std::string_literals;

const std::string kStore = "json store test.json";
const Timestamp kUpdateTime = Timestamp::parse("2024-05-06T07:08:09.123456789Z");

PersistedState general(const std::string& text) { return parse_json_document(" " + text, kStore); }

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
    if (!state.bookmark.empty()) entry["bookmark"] = state.bookmark;
    logs.push_back(std::move(entry));
  }
  Json doc = Json::object();
  doc["update_time"] = kUpdateTime.to_string();
  doc["event_logs"] = std::move(logs);
  return doc.dump(2) + "\n";
}

TEST(JsonWriter, WritesWhatNlohmannWrites) {
  for (const StateMap& states : {StateMap{}, tricky_states()}) {
    EXPECT_EQ(emit(states), nlohmann_text(states));
  }
}

TEST(JsonLayoutReader, ReadsWhatTheWriterWrites) {
  for (const StateMap& states : {StateMap{}, tricky_states()}) {
    const std::string text = emit(states);
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

// Every text the fast reader accepts, among thousands of damaged variants
// of one of our documents, reads the same through nlohmann::json.
TEST(JsonLayoutReader, AcceptsOnlyWhatTheGeneralReaderReadsTheSame) {
  const std::string text = emit(tricky_states());
  const std::string replacements[] = {"",  "\"", "\\", "\n", " ",  "0",        "9",   "x",
                                      ",", "}",  "]",  ":",  "\t", "\xC2\x85", "\0"s, "-"};
  std::size_t accepted = 0, refused = 0;
  auto check = [&](const std::string& variant) {
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
      ADD_FAILURE() << "the fast reader accepted what nlohmann refuses: " << e.what() << "\n"
                    << variant;
    }
  };
  for (std::size_t at = 0; at < text.size(); ++at) {
    for (const std::string& r : replacements) {
      check(text.substr(0, at) + r + text.substr(at + 1));
      if (!r.empty()) check(text.substr(0, at) + r + text.substr(at));
    }
    check(text.substr(0, at));
  }
  EXPECT_GT(accepted, 1000u);
  EXPECT_GT(refused, 1000u);
}

}  // namespace
}  // namespace checkpoint::backends
