// Damaged stores, for every built-in file format: a file cut short at every
// byte, NUL-filled, random bytes, documents of the wrong shape, repeated
// names and keys, numbers and times out of range, values of the wrong type.
//
// The contract (DESIGN.md, "Bad input"): load() throws Error{corrupt} whose
// message names the file, or -- only for a cut that leaves a whole document
// -- returns some of the original states with exactly their values. Never a
// crash (the asan preset runs this under AddressSanitizer and UBSan), never
// a changed value, never another error.
//
// Each format is one row of kFileFormats: its scheme, its extension and how
// it spells a document tree. Every damaged document below is one that every
// format must refuse; what a single format alone refuses or accepts (YAML's
// plain scalars, JSON's unknown keys) is tested with that format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "checkpoint/checkpoint.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

using ::testing::HasSubstr;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

constexpr std::uint64_t kMaxRecord = std::numeric_limits<std::uint64_t>::max();

// ---- A document tree that every text format can spell ----------------------

// Scalars keep their raw text, so that values no parser would produce
// ("-1", "1.5", "18446744073709551616") can be written; maps may repeat a key.
struct Doc {
  enum class Kind { raw, string, list, map };
  struct Item;
  using Items = std::vector<Item>;
  Kind kind = Kind::raw;
  std::string text;  // raw: the token; string: the value
  Items items;       // list: {"", item}; map: {key, value}

  static Doc raw(std::string token);
  static Doc str(std::string value);
  static Doc list(std::vector<Doc> items);
  static Doc map(Items items);

  bool scalar() const { return kind == Kind::raw || kind == Kind::string; }
  Doc& operator[](std::string_view key);  // the value of the first `key`, which must be there
  Doc& operator[](std::size_t index);
  void erase(std::string_view key);
};

struct Doc::Item {
  std::string key;
  Doc value;
};

Doc Doc::raw(std::string token) { return Doc{Kind::raw, std::move(token), {}}; }
Doc Doc::str(std::string value) { return Doc{Kind::string, std::move(value), {}}; }
Doc Doc::list(std::vector<Doc> items) {
  Doc d{Kind::list, {}, {}};
  for (auto& item : items) d.items.push_back({"", std::move(item)});
  return d;
}
Doc Doc::map(Items items) { return Doc{Kind::map, {}, std::move(items)}; }

Doc& Doc::operator[](std::string_view key) {
  for (auto& [k, v] : items) {
    if (k == key) return v;
  }
  ADD_FAILURE() << "no key " << key;
  static Doc none;
  return none;
}
Doc& Doc::operator[](std::size_t index) { return items.at(index).value; }

void Doc::erase(std::string_view key) {
  std::erase_if(items, [&](const auto& item) { return item.key == key; });
}

std::string json_quoted(const std::string& s) { return nlohmann::json(s).dump(); }

void spell_json(const Doc& d, std::string& out) {
  switch (d.kind) {
    case Doc::Kind::raw:
      out += d.text;
      return;
    case Doc::Kind::string:
      out += json_quoted(d.text);
      return;
    case Doc::Kind::list:
    case Doc::Kind::map:
      out += d.kind == Doc::Kind::list ? "[" : "{";
      for (std::size_t i = 0; i < d.items.size(); ++i) {
        out += i == 0 ? "\n" : ",\n";
        if (d.kind == Doc::Kind::map) out += json_quoted(d.items[i].key) + ": ";
        spell_json(d.items[i].value, out);
      }
      out += d.kind == Doc::Kind::list ? "]" : "}";
      return;
  }
}

std::string spell_json(const Doc& d) {
  std::string out;
  spell_json(d, out);
  return out + "\n";
}

// Double-quoted, with escapes for '"', '\' and control characters. (Test
// values hold no C1 controls or U+2028, which YAML would need escaped too.)
std::string yaml_quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string yaml_inline(const Doc& d) {
  if (d.kind == Doc::Kind::raw) return d.text;
  if (d.kind == Doc::Kind::string) return yaml_quoted(d.text);
  return d.kind == Doc::Kind::list ? "[]" : "{}";  // only for empty collections
}

std::string yaml_key(const std::string& key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
  });
  return plain ? key : yaml_quoted(key);
}

// `d` in block style, `indent` spaces in, starting on a fresh line.
void spell_yaml(const Doc& d, std::size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (d.scalar() || d.items.empty()) {
    out += pad + yaml_inline(d) + "\n";
    return;
  }
  for (const auto& [key, value] : d.items) {
    if (d.kind == Doc::Kind::list) {
      // "- " in place of the item's own first indentation.
      std::string item;
      spell_yaml(value, indent + 2, item);
      out += pad + "- " + item.substr(indent + 2);
    } else if (value.scalar() || value.items.empty()) {
      out += pad + yaml_key(key) + ": " + yaml_inline(value) + "\n";
    } else {
      out += pad + yaml_key(key) + ":\n";
      spell_yaml(value, value.kind == Doc::Kind::list ? indent : indent + 2, out);
    }
  }
}

std::string spell_yaml(const Doc& d) {
  std::string out = "---\n";
  spell_yaml(d, 0, out);
  return out + "...\n";
}

// ---- The formats -----------------------------------------------------------

struct FileFormat {
  std::string scheme;  // config string "SCHEME:PATH"; messages "SCHEME store PATH"
  std::string extension;
  std::function<std::string(const Doc&)> spell;  // the tree in the format's syntax
};

const FileFormat kFileFormats[] = {
    {"yaml", ".yml", [](const Doc& d) { return spell_yaml(d); }},
    {"json", ".json", [](const Doc& d) { return spell_json(d); }},
};

// ---- The states every damaged file started from ------------------------------

const Timestamp kUpdateTime = Timestamp::parse("2024-02-29T12:34:56.123456789Z");

// Sorted by name, as load() returns them.
const std::vector<EventLogState> kStates = {
    {"123", kMaxRecord - 1, Timestamp::parse("1970-01-01T00:00:00Z"), "~"},
    {"Application", 250502, Timestamp::parse("2017-12-05T15:16:02.6721303Z"), ""},
    {"Microsoft-Windows-Sysmon/Operational", kMaxRecord,
     Timestamp::parse("2017-11-28T00:27:30.1588877Z"),
     "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' "
     "RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>"},
    {"key: \"value\" # not a comment\n\tnext line", 123,
     Timestamp::parse("9999-12-31T23:59:59.999999999Z"),
     std::string("\u00fcn\u00efc\u00f8d\u00e9 \u65e5\u672c\u8a9e and a NUL \0 byte", 35)},
    {"null", 1, Timestamp::parse("2000-02-29T23:59:59.000000001+05:30"), "yes"},
    {"yes", 0, Timestamp(), ""},
};

Doc document_of(Timestamp update_time, const std::vector<EventLogState>& states) {
  std::vector<Doc> logs;
  for (const auto& s : states) {
    Doc entry = Doc::map({{"name", Doc::str(s.name)},
                          {"record_number", Doc::raw(std::to_string(s.record_number))},
                          {"timestamp", Doc::str(s.timestamp.to_string())}});
    if (!s.bookmark.empty()) entry.items.push_back({"bookmark", Doc::str(s.bookmark)});
    logs.push_back(std::move(entry));
  }
  return Doc::map(
      {{"update_time", Doc::str(update_time.to_string())}, {"event_logs", Doc::list(logs)}});
}

// A damaged document: what was done to the valid one, and how.
struct Damage {
  const char* what;
  std::function<void(Doc&)> apply;
};

// Sets field `key` of state `index` (adding it if absent).
Damage set_field(const char* what, std::size_t index, std::string key, Doc value) {
  return {what, [=](Doc& d) {
            Doc& entry = d["event_logs"][index];
            for (auto& [k, v] : entry.items) {
              if (k == key) {
                v = value;
                return;
              }
            }
            entry.items.push_back({key, value});
          }};
}

// ---- The test ----------------------------------------------------------------

class DamagedFile : public ::testing::TestWithParam<FileFormat> {
 protected:
  void SetUp() override { path_ = dir_ / ("state" + GetParam().extension); }

  void TearDown() override {
    RecordProperty("damaged_inputs", static_cast<int>(tried_));
    std::printf("[ damaged  ] %s: %zu inputs\n", GetParam().scheme.c_str(), tried_);
  }

  std::string uri() const { return GetParam().scheme + ":" + path_.string(); }
  std::string label() const { return GetParam().scheme + " store " + path_.string(); }

  // The file the store itself writes for kStates.
  std::string valid_file() {
    StateMap map;
    std::vector<std::string> upserted, removed;
    for (const auto& s : kStates) {
      map.emplace(s.name, s);
      upserted.push_back(s.name);
    }
    open_store(uri())->commit(Commit{kUpdateTime, map, upserted, removed});
    return read_bytes(path_);
  }

  // Loads a file holding `bytes`: the states, or nullopt after checking that
  // it threw Error{corrupt} naming the file.
  std::optional<PersistedState> load(std::string_view bytes) {
    ++tried_;
    write_bytes(path_, bytes);
    try {
      return open_store(uri())->load();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(label() + ": "));
    }
    return std::nullopt;
  }

  void expect_refused(std::string_view bytes) {
    if (auto loaded = load(bytes)) {
      ADD_FAILURE() << "loaded " << loaded->states.size() << " states from "
                    << ::testing::PrintToString(std::string(bytes.substr(0, 300)));
    }
  }

  // Refused, or exactly the original states; an empty file may also be an
  // empty store. Our text formats end with a closing mark (YAML's "...",
  // JSON's "}"), so a cut never loads only some of the states.
  void expect_refused_or_whole(std::string_view bytes) {
    auto loaded = load(bytes);
    if (!loaded) return;
    if (bytes.empty() && loaded->states.empty() && loaded->update_time.is_zero()) return;
    EXPECT_EQ(loaded->update_time, kUpdateTime);
    EXPECT_EQ(loaded->states, kStates);
  }

  // Refused, or states a store can hold: sorted, distinct, non-empty names,
  // which the store writes back and reads again unchanged. (A byte changed
  // in the middle of a number is a valid file holding another number; no
  // text format can tell.)
  void expect_refused_or_well_formed(std::string_view bytes) {
    auto loaded = load(bytes);
    if (!loaded) return;
    StateMap map;
    std::vector<std::string> upserted, removed;
    for (std::size_t i = 0; i < loaded->states.size(); ++i) {
      const EventLogState& s = loaded->states[i];
      EXPECT_FALSE(s.name.empty());
      if (i > 0) {
        EXPECT_LT(loaded->states[i - 1].name, s.name);
      }
      map.emplace(s.name, s);
      upserted.push_back(s.name);
    }
    try {
      open_store(uri())->commit(Commit{loaded->update_time, map, upserted, removed});
      auto again = open_store(uri())->load();
      EXPECT_EQ(again.update_time, loaded->update_time);
      EXPECT_EQ(again.states, loaded->states);
    } catch (const Error& e) {
      ADD_FAILURE() << "what loaded cannot be written back: " << e.what();
    }
  }

  void expect_each_refused(const std::vector<Damage>& damages) {
    for (const auto& damage : damages) {
      Doc doc = document_of(kUpdateTime, kStates);
      damage.apply(doc);
      const std::string text = GetParam().spell(doc);
      SCOPED_TRACE(::testing::Message() << damage.what << ":\n" << text);
      expect_refused(text);
    }
  }

  TempDir dir_{"damaged-store-test"};
  std::filesystem::path path_;
  std::size_t tried_ = 0;
};

// The undamaged tree loads as kStates, so each damaged one below fails
// because of its damage alone.
TEST_P(DamagedFile, TheUndamagedDocumentLoads) {
  auto loaded = load(GetParam().spell(document_of(kUpdateTime, kStates)));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->update_time, kUpdateTime);
  EXPECT_EQ(loaded->states, kStates);
  loaded = load(valid_file());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->states, kStates);
}

TEST_P(DamagedFile, CutAtEveryByte) {
  const std::string valid = valid_file();
  for (std::size_t size = 0; size <= valid.size(); ++size) {
    SCOPED_TRACE(::testing::Message() << "cut at " << size << " of " << valid.size());
    expect_refused_or_whole(std::string_view(valid).substr(0, size));
  }
}

// A power cut can leave a file whose size was written but whose data was
// not: NUL bytes over all of it, over a block of it, or past its end.
TEST_P(DamagedFile, NulFilled) {
  const std::string valid = valid_file();
  for (std::size_t size : {std::size_t{1}, valid.size(), std::size_t{4096}}) {
    expect_refused(std::string(size, '\0'));
  }
  // One NUL at every offset; longer runs at every fifth.
  for (std::size_t length : {std::size_t{1}, std::size_t{16}, std::size_t{512}, valid.size()}) {
    for (std::size_t offset = 0; offset < valid.size(); offset += length == 1 ? 1 : 5) {
      SCOPED_TRACE(::testing::Message() << length << " NULs at " << offset);
      std::string holed = valid;
      holed.replace(offset, length, std::min(length, valid.size() - offset), '\0');
      expect_refused(holed);
    }
  }
  for (std::size_t length : {1, 512, 4096}) {
    expect_refused(valid + std::string(length, '\0'));
    expect_refused(std::string(length, '\0') + valid);
  }
}

TEST_P(DamagedFile, RandomBytes) {
  const std::size_t valid_size = valid_file().size();
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 random(seed);
    std::string bytes(16 + random() % (2 * valid_size), '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    expect_refused(bytes);
  }
}

// Bytes overwritten inside a valid file: refused, or a file that still reads
// as well-formed states. Never a crash, never another error.
TEST_P(DamagedFile, RandomBytesOverAValidFile) {
  const std::string valid = valid_file();
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    std::mt19937_64 random(seed);
    std::string bytes = valid;
    const std::size_t changes = 1 + random() % 8;
    for (std::size_t i = 0; i < changes; ++i) {
      bytes[random() % bytes.size()] = static_cast<char>(random());
    }
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    expect_refused_or_well_formed(bytes);
  }
}

TEST_P(DamagedFile, WrongShapes) {
  expect_each_refused({
      {"the top level a list", [](Doc& d) { d = Doc::list({d}); }},
      {"the top level a string", [](Doc& d) { d = Doc::str("update_time"); }},
      {"the top level a number", [](Doc& d) { d = Doc::raw("42"); }},
      {"the top level an empty list", [](Doc& d) { d = Doc::list({}); }},
      {"event_logs a map",
       [](Doc& d) {
         Doc first = d["event_logs"][0];
         d["event_logs"] = first;
       }},
      {"event_logs a string", [](Doc& d) { d["event_logs"] = Doc::str("Application"); }},
      {"event_logs a number", [](Doc& d) { d["event_logs"] = Doc::raw("6"); }},
      {"event_logs a list of lists",
       [](Doc& d) { d["event_logs"] = Doc::list({d["event_logs"]}); }},
      {"a state a string", [](Doc& d) { d["event_logs"][1] = Doc::str("Application"); }},
      {"a state a number", [](Doc& d) { d["event_logs"][1] = Doc::raw("250502"); }},
      {"a state null", [](Doc& d) { d["event_logs"][1] = Doc::raw("null"); }},
      {"a state a list", [](Doc& d) { d["event_logs"][1] = Doc::list({d["event_logs"][1]}); }},
      {"a state an empty map", [](Doc& d) { d["event_logs"][1] = Doc::map({}); }},
      {"update_time a list", [](Doc& d) { d["update_time"] = Doc::list({d["update_time"]}); }},
      {"update_time a map",
       [](Doc& d) {
         d["update_time"] = Doc::map({{"update_time", d["update_time"]}});
       }},
  });
}

TEST_P(DamagedFile, MissingFields) {
  std::vector<Damage> damages;
  for (const char* field : {"name", "record_number", "timestamp"}) {
    damages.push_back({field, [field](Doc& d) { d["event_logs"][2].erase(field); }});
  }
  expect_each_refused(damages);
}

TEST_P(DamagedFile, RepeatedNamesAndKeys) {
  expect_each_refused({
      {"a name twice, other values",
       [](Doc& d) { d["event_logs"][3]["name"] = d["event_logs"][1]["name"]; }},
      {"a state twice", [](Doc& d) { d["event_logs"].items.push_back(d["event_logs"].items[2]); }},
      {"record_number twice",
       [](Doc& d) {
         d["event_logs"][1].items.push_back({"record_number", Doc::raw("7")});
       }},
      {"record_number twice, same value",
       [](Doc& d) { d["event_logs"][1].items.push_back(d["event_logs"][1].items[1]); }},
      {"name twice",
       [](Doc& d) {
         d["event_logs"][1].items.push_back({"name", Doc::str("B")});
       }},
      {"timestamp twice",
       [](Doc& d) { d["event_logs"][0].items.push_back(d["event_logs"][0].items[2]); }},
      {"bookmark twice",
       [](Doc& d) { d["event_logs"][2].items.push_back(d["event_logs"][2].items[3]); }},
      {"event_logs twice", [](Doc& d) { d.items.push_back(d.items[1]); }},
      {"update_time twice", [](Doc& d) { d.items.push_back(d.items[0]); }},
  });
}

TEST_P(DamagedFile, RecordNumbersOutOfRange) {
  std::vector<Damage> damages;
  for (const char* number :
       {"-1", "-0", "18446744073709551616", "99999999999999999999999", "-9223372036854775809",
        "1.5", "1.0", "1e3", "1E0", "0.0", "007", "0x1F", "+5", "Infinity", "NaN", ".inf"}) {
    damages.push_back(set_field(number, 1, "record_number", Doc::raw(number)));
  }
  damages.push_back(set_field("\"12\"", 1, "record_number", Doc::str("12")));
  damages.push_back(set_field("\"\"", 1, "record_number", Doc::str("")));
  expect_each_refused(damages);
}

TEST_P(DamagedFile, TimesOutOfRange) {
  std::vector<Damage> damages;
  for (const char* time : {"0000-01-01T00:00:00Z",
                           "0000-12-31T23:00:00-01:00",
                           "10000-01-01T00:00:00Z",
                           "9999-12-31T23:59:59-00:01",
                           "2017-13-05T00:00:00Z",
                           "2017-00-05T00:00:00Z",
                           "2017-12-32T00:00:00Z",
                           "2017-02-29T00:00:00Z",
                           "2017-12-05T24:00:00Z",
                           "2017-12-05T23:60:00Z",
                           "2017-12-05T23:59:60Z",
                           "2017-12-05T15:16:07.1234567890Z",
                           "2017-12-05T15:16:07.Z",
                           "2017-12-05T15:16:07",
                           "2017-12-05T15:16:07+24:00",
                           "2017-12-05",
                           "15:16:07",
                           "",
                           "yesterday",
                           "1512486967"}) {
    damages.push_back(set_field(time, 2, "timestamp", Doc::str(time)));
    Damage update_time{time, [time](Doc& d) { d["update_time"] = Doc::str(time); }};
    damages.push_back(update_time);
  }
  expect_each_refused(damages);
}

TEST_P(DamagedFile, WrongTypes) {
  std::vector<Damage> damages;
  const std::vector<std::pair<const char*, Doc>> not_scalars = {
      {"a list", Doc::list({Doc::str("a")})},
      {"a map", Doc::map({{"name", Doc::str("a")}})},
      {"an empty list", Doc::list({})},
  };
  for (const auto& [what, value] : not_scalars) {
    for (const char* field : {"name", "record_number", "timestamp", "bookmark"}) {
      damages.push_back(set_field(what, 2, field, value));
    }
  }
  damages.push_back(set_field("name empty", 2, "name", Doc::str("")));
  damages.push_back(set_field("name null", 2, "name", Doc::raw("null")));
  damages.push_back(set_field("record_number true", 2, "record_number", Doc::raw("true")));
  damages.push_back(set_field("record_number null", 2, "record_number", Doc::raw("null")));
  damages.push_back(set_field("timestamp a number", 2, "timestamp", Doc::raw("1512486967")));
  damages.push_back(set_field("timestamp null", 2, "timestamp", Doc::raw("null")));
  damages.push_back(set_field("timestamp true", 2, "timestamp", Doc::raw("true")));
  damages.push_back({"update_time a number", [](Doc& d) { d["update_time"] = Doc::raw("1"); }});
  expect_each_refused(damages);
}

INSTANTIATE_TEST_SUITE_P(FileFormats, DamagedFile, ::testing::ValuesIn(kFileFormats),
                         [](const auto& info) { return info.param.scheme; });

}  // namespace
}  // namespace checkpoint
