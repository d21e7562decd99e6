// Damaged stores, for every built-in backend that keeps a file.
//
// Text formats (yaml, json): a file cut short at every byte, NUL-filled,
// random bytes, documents of the wrong shape, repeated names and keys,
// numbers and times out of range, values of the wrong type. Databases
// (sqlite, lmdb): files cut short, pages overwritten, SQLite's log damaged.
//
// The contract (DESIGN.md, "Bad input"): load() throws Error{corrupt} whose
// message names the file, or -- only where the damage leaves a whole
// document or a whole commit -- returns exactly the states that were
// committed; an empty file may be an empty store. Never a crash (the asan
// preset runs this under AddressSanitizer and UBSan), never a changed
// value, never another error. Loads are by stores opened for reading, which
// must leave the files as they are. A writer opened on a text file it
// cannot read refuses its first commit and leaves the file as it is; a
// database is loaded by a writer too, after the reader, since a writer
// reopening a store after a crash is what recovers it.
//
// Our text files end with a checksum line (core/document_checksum.hpp), so
// any change to a file we wrote is refused; files without it (Winlogbeat's,
// older ones) are refused only where the damage shows.
//
// Each backend is one row of kFileFormats or kDatabaseFormats. Every
// damaged document below is one that every text format must refuse; what a
// single format alone refuses or accepts (YAML's plain scalars, JSON's
// unknown keys) is tested with that format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "checkpoint/checkpoint.hpp"
#include "tests/damaged_stores.hpp"
#include "tests/document_checksum_reference.hpp"
#include "tests/state_values.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

using ::testing::HasSubstr;
using namespace damaged;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

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

// A file the store wrote, without its checksum line.
std::string yaml_without_checksum(const std::string& text) {
  const std::size_t at = text.rfind("\nchecksum: ") + 1;
  return text.substr(0, at) + text.substr(text.find('\n', at) + 1);
}
std::string json_without_checksum(const std::string& text) {
  return text.substr(0, text.rfind(",\n  \"checksum\": ")) + "\n}\n";
}

struct FileFormat {
  std::string scheme;  // config string "SCHEME:PATH"; messages "SCHEME store PATH"
  std::string extension;
  std::function<std::string(const Doc&)> spell;  // the tree in the format's syntax
  // A spelled document with a checksum line that matches, as the store writes it.
  std::function<std::string(const std::string&)> seal;
  // A file the store wrote, without its checksum line.
  std::function<std::string(const std::string&)> unseal;
};

void PrintTo(const FileFormat& format, std::ostream* out) { *out << format.scheme; }

const FileFormat kFileFormats[] = {
    {"yaml", ".yml", [](const Doc& d) { return spell_yaml(d); },
     [](const std::string& text) { return testing::with_yaml_checksum(text); },
     yaml_without_checksum},
    {"json", ".json", [](const Doc& d) { return spell_json(d); },
     [](const std::string& text) { return testing::with_json_checksum(text); },
     json_without_checksum},
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

  // The file the store itself writes for kStates (kStates is sorted by name).
  std::string valid_file() {
    std::filesystem::remove(path_);
    Store::open(uri())->commit(Changes{kUpdateTime, kStates, {}});
    return read_bytes(path_);
  }

  // Loads a file holding `bytes` through a store opened for reading, which
  // changes nothing: the states, or nullopt after checking that it threw
  // Error{corrupt} naming the file, and that a writer refuses it too.
  std::optional<PersistedState> load(std::string_view bytes) {
    ++tried_;
    write_bytes(path_, bytes);
    const std::filesystem::path lock = path_.string() + ".lock";
    const bool had_lock = std::filesystem::exists(lock);
    std::optional<PersistedState> loaded;
    try {
      loaded = Store::open(uri(), {.mode = OpenMode::read})->load();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(label() + ": "));
    }
    EXPECT_EQ(read_bytes(path_), bytes) << "a reader changed the file";
    if (!had_lock) {
      EXPECT_FALSE(std::filesystem::exists(lock)) << "a reader made a lock file";
    }
    if (!loaded) expect_writer_refuses(bytes);
    return loaded;
  }

  // A writer opened on a file it cannot read (opening reads nothing) fails
  // its first commit with Error{corrupt} and leaves the file as it is.
  void expect_writer_refuses(std::string_view bytes) {
    try {
      auto writer = Store::open(uri());
      writer->commit(Changes{kUpdateTime, std::span(kStates).first(1), {}});
      ADD_FAILURE() << "a writer committed over a file it cannot read";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(label() + ": "));
    }
    EXPECT_EQ(read_bytes(path_), bytes) << "a writer changed a file it cannot read";
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
    EXPECT_EQ(testing::values(loaded->states), kStates);
  }

  // Refused, or states a store can hold: sorted, distinct, non-empty names,
  // which the store writes back and reads again unchanged. (A byte changed
  // in the middle of a number is a valid file holding another number; no
  // text format can tell.)
  void expect_refused_or_well_formed(std::string_view bytes) {
    auto loaded = load(bytes);
    if (!loaded) return;
    for (std::size_t i = 0; i < loaded->states.size(); ++i) {
      const EventLogState& s = loaded->states[i];
      EXPECT_FALSE(s.name.empty());
      if (i > 0) {
        EXPECT_LT(loaded->states[i - 1].name, s.name);
      }
    }
    try {
      // Written again by a writer, which reads the same states first.
      Store::open(uri())->commit(Changes{loaded->update_time, loaded->states, {}});
      auto again = Store::open(uri(), {.mode = OpenMode::read})->load();
      EXPECT_EQ(again.update_time, loaded->update_time);
      EXPECT_EQ(again.states, loaded->states);
    } catch (const Error& e) {
      ADD_FAILURE() << "what loaded cannot be written back: " << e.what();
    }
  }

  // Each damaged document is refused, with or without a checksum line
  // that matches: the checksum says the bytes are as written, not that they
  // hold states.
  void expect_each_refused(const std::vector<Damage>& damages) {
    for (const auto& damage : damages) {
      Doc doc = document_of(kUpdateTime, kStates);
      damage.apply(doc);
      const std::string text = GetParam().spell(doc);
      SCOPED_TRACE(::testing::Message() << damage.what << ":\n" << text);
      expect_refused(text);
      if (doc.kind == Doc::Kind::map) expect_refused(GetParam().seal(text));
    }
  }

  TempDir dir_{"damaged-store-test"};
  std::filesystem::path path_;
  std::size_t tried_ = 0;
};

// The undamaged tree loads as kStates, so each damaged one below fails
// because of its damage alone.
TEST_P(DamagedFile, TheUndamagedDocumentLoads) {
  const std::string text = GetParam().spell(document_of(kUpdateTime, kStates));
  for (const std::string& undamaged : {text, GetParam().seal(text)}) {
    auto loaded = load(undamaged);
    ASSERT_TRUE(loaded.has_value()) << undamaged;
    EXPECT_EQ(loaded->update_time, kUpdateTime);
    // Spelled without the states' own update times: each takes the store's.
    for (const auto& state : loaded->states) EXPECT_EQ(state.update_time, kUpdateTime);
    EXPECT_EQ(testing::values(loaded->states), kStates);
  }
  EXPECT_NE(GetParam().seal(text), text);
  const std::string valid = valid_file();
  for (const std::string& undamaged : {valid, GetParam().unseal(valid)}) {
    auto loaded = load(undamaged);
    ASSERT_TRUE(loaded.has_value()) << undamaged;
    EXPECT_EQ(loaded->update_time, kUpdateTime);
    EXPECT_EQ(testing::values(loaded->states), kStates);
  }
  EXPECT_NE(GetParam().unseal(valid), valid);
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

// Bytes overwritten inside a file the store wrote: its checksum line finds
// every change that could read as other values, so the file is refused or
// reads exactly as written. Without the line (as in Winlogbeat's files), a
// changed digit reads as another number: refused, or a file that still
// reads as well-formed states. Never a crash, never another error.
TEST_P(DamagedFile, RandomBytesOverAValidFile) {
  const std::string valid = valid_file();
  const std::string unsealed = GetParam().unseal(valid);
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    for (const std::string* file : {&valid, &unsealed}) {
      std::mt19937_64 random(seed);
      std::string bytes = *file;
      const std::size_t changes = 1 + random() % 8;
      for (std::size_t i = 0; i < changes; ++i) {
        bytes[random() % bytes.size()] = static_cast<char>(random());
      }
      SCOPED_TRACE(::testing::Message()
                   << "seed " << seed << (file == &valid ? "" : ", without the checksum"));
      if (file == &valid) {
        expect_refused_or_whole(bytes);
      } else {
        expect_refused_or_well_formed(bytes);
      }
    }
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

// ---- Databases -----------------------------------------------------------------
//
// SQLite and LMDB keep pages of rows. A damaged file: Error{corrupt} (or
// Error{unsupported} where a damaged header names another version) naming
// the file, or exactly the states of a commit that was made; an empty file
// is an empty store. Neither format checksums its pages, so the backends
// store a checksum with every state (core/checksum.hpp). The formats and
// the states they start from: damaged_stores.hpp.

// The next commit: `step` removes some streams, changes others, adds a few.
Snapshot changed(const Snapshot& before, int step) {
  Snapshot s = before;
  s.update_time = Timestamp::from_unix(before.update_time.unix_seconds() + 60);
  for (int i = step; i < 2000; i += 7) s.states.erase("stream-" + std::to_string(i));
  for (int i = step + 1; i < 2000; i += 5) {
    auto it = s.states.find("stream-" + std::to_string(i));
    if (it != s.states.end()) it->second.record_number += 1000 + step;
  }
  for (int i = 0; i < 5; ++i) {
    std::string name = "new-" + std::to_string(step) + "-" + std::to_string(i);
    s.states.emplace(name, EventLogState{name, 1, Timestamp(), ""});
  }
  return s;
}

// Commits the difference from `before` to `after`.
void commit_change(Store& store, const Snapshot& before, const Snapshot& after) {
  std::vector<EventLogState> upserted;  // in name order, as the maps are
  std::vector<std::string> removed;
  for (const auto& [name, state] : after.states) {
    auto it = before.states.find(name);
    if (it == before.states.end() || it->second != state) upserted.push_back(state);
  }
  for (const auto& [name, state] : before.states) {
    if (!after.states.contains(name)) removed.push_back(name);
  }
  store.commit(Changes{after.update_time, upserted, removed});
}

// The first difference between what was committed and what loaded.
std::string difference(const Snapshot& want, const PersistedState& got) {
  std::ostringstream out;
  if (want.update_time != got.update_time) {
    out << "; update_time " << got.update_time.to_string() << " instead of "
        << want.update_time.to_string();
  }
  std::size_t extra = 0, changed = 0;
  std::string example;
  StateMap got_map;
  for (const auto& s : got.states) {
    got_map.emplace(s.name, s);
    auto it = want.states.find(s.name);
    if (it == want.states.end()) {
      ++extra;
      if (example.empty()) example = "state \"" + s.name + "\" was never committed";
    } else if (it->second != s) {
      ++changed;
      if (example.empty()) {
        example = "state \"" + s.name + "\": record_number " + std::to_string(s.record_number) +
                  " (committed " + std::to_string(it->second.record_number) + "), timestamp " +
                  s.timestamp.to_string() + " (" + it->second.timestamp.to_string() +
                  "), bookmark of " + std::to_string(s.bookmark.size()) + " bytes (" +
                  std::to_string(it->second.bookmark.size()) + ")";
      }
    }
  }
  std::size_t missing = 0;
  for (const auto& [name, state] : want.states) missing += got_map.contains(name) ? 0 : 1;
  out << "; " << missing << " missing, " << extra << " not committed, " << changed
      << " with other values";
  if (!example.empty()) out << "; e.g. " << example;
  return out.str();
}

class DamagedDatabase : public ::testing::TestWithParam<DatabaseFormat> {
 protected:
  // Two commits, so that both formats have free pages beside the live ones.
  void SetUp() override {
    snapshots_.push_back(many_states());
    snapshots_.push_back(changed(snapshots_[0], 1));
    const std::filesystem::path path = dir_ / ("valid" + GetParam().extension);
    {
      auto store = Store::open(GetParam().scheme + ":" + path.string());
      commit_change(*store, Snapshot{}, snapshots_[0]);
      commit_change(*store, snapshots_[0], snapshots_[1]);
    }
    valid_ = read_bytes(path);
    ASSERT_GT(valid_.size(), 20 * kPageSize);
  }

  void TearDown() override {
    RecordProperty("damaged_inputs", static_cast<int>(tried_));
    std::printf("[ damaged  ] %s: %zu inputs, %zu loaded by a reader, %zu by a writer\n",
                GetParam().scheme.c_str(), tried_, loaded_, writer_loaded_);
  }

  // Loads a store whose data file holds `bytes` (and whose side files hold
  // `side`, by suffix): Error{corrupt} or Error{unsupported} naming the
  // file, or exactly the states of the last commit (or, given `earlier`,
  // of any commit up to it).
  void expect_refused_or_committed(std::string_view bytes,
                                   const std::map<std::string, std::string>& side = {},
                                   bool earlier = false) {
    const std::filesystem::path path =
        dir_ / ("damaged-" + std::to_string(tried_++) + GetParam().extension);
    write_bytes(path, bytes);
    for (const auto& [suffix, content] : side) write_bytes(path.string() + suffix, content);
    // First a reader, which must leave the files as they are; then a
    // writer, which may recover what a crash left (and change the files).
    for (OpenMode mode : {OpenMode::read, OpenMode::write}) {
      SCOPED_TRACE(mode == OpenMode::read ? "opened for reading" : "opened for writing");
      try {
        PersistedState loaded =
            Store::open(GetParam().scheme + ":" + path.string() + GetParam().no_sync,
                        {.mode = mode})
                ->load();
        ++(mode == OpenMode::read ? loaded_ : writer_loaded_);
        // An empty data file is a new store (SQLite keeps its first commits in
        // the -wal file).
        if (bytes.empty() && side.empty() && loaded.states.empty() &&
            loaded.update_time.is_zero()) {
          continue;
        }
        StateMap map;
        for (auto& s : loaded.states) map.emplace(s.name, s);
        auto same = [&](const Snapshot& s) {
          return s.update_time == loaded.update_time && s.states == map;
        };
        EXPECT_TRUE(earlier ? std::any_of(snapshots_.begin(), snapshots_.end(), same)
                            : same(snapshots_.back()))
            << "loaded " << loaded.states.size() << " states, not those of "
            << (earlier ? "a commit" : "the last commit") << difference(snapshots_.back(), loaded);
      } catch (const Error& e) {
        EXPECT_TRUE(e.code() == ErrorCode::corrupt || e.code() == ErrorCode::unsupported)
            << e.what();
        EXPECT_THAT(e.what(), HasSubstr(path.string()));
      }
      if (mode == OpenMode::read) {
        EXPECT_TRUE(read_bytes(path) == bytes) << "a reader changed the data file";
        for (const auto& [suffix, content] : side) {
          EXPECT_TRUE(read_bytes(path.string() + suffix) == content)
              << "a reader changed the " << suffix << " file";
        }
      }
    }
    remove(path);
  }

  void remove(const std::filesystem::path& path) const {
    std::filesystem::remove(path);
    for (const auto& suffix : GetParam().side_files) {
      std::filesystem::remove(path.string() + suffix);
    }
  }

  TempDir dir_{"damaged-database-test"};
  std::vector<Snapshot> snapshots_;
  std::string valid_;
  std::size_t tried_ = 0, loaded_ = 0, writer_loaded_ = 0;
};

TEST_P(DamagedDatabase, TheUndamagedFileLoads) {
  const std::filesystem::path path = dir_ / ("copy" + GetParam().extension);
  write_bytes(path, valid_);
  PersistedState loaded =
      Store::open(GetParam().scheme + ":" + path.string(), {.mode = OpenMode::read})->load();
  EXPECT_EQ(loaded.update_time, snapshots_.back().update_time);
  std::vector<EventLogState> expected;
  for (const auto& [name, state] : snapshots_.back().states) expected.push_back(state);
  EXPECT_EQ(loaded.states, expected);
}

TEST_P(DamagedDatabase, CutAtASpreadOfOffsets) {
  for (std::size_t cut = 0; cut < valid_.size(); cut += cut < 3 * kPageSize ? 512 : kPageSize) {
    for (std::size_t size : {cut, cut + 1, cut + 2048, cut + kPageSize - 1}) {
      if (size >= valid_.size()) continue;
      SCOPED_TRACE(::testing::Message() << "cut at " << size << " of " << valid_.size());
      expect_refused_or_committed(std::string_view(valid_).substr(0, size));
    }
  }
}

TEST_P(DamagedDatabase, PagesOfNulsOrRandomBytes) {
  for (std::size_t page = 0; page * kPageSize < valid_.size(); ++page) {
    const std::size_t offset = page * kPageSize;
    const std::size_t length = std::min(kPageSize, valid_.size() - offset);
    SCOPED_TRACE(::testing::Message() << "page " << page);
    std::string damaged = valid_;
    damaged.replace(offset, length, length, '\0');
    expect_refused_or_committed(damaged);

    std::mt19937_64 random(page);
    for (std::size_t i = 0; i < length; ++i) damaged[offset + i] = static_cast<char>(random());
    expect_refused_or_committed(damaged);
  }
  // The whole file.
  expect_refused_or_committed(std::string(valid_.size(), '\0'));
}

// Commits kept in the log (SQLite's write-ahead log, before it is copied
// into the database): the log cut short, frames of it overwritten, or the
// log gone, yield the states of an earlier commit, never a mix; a damaged
// page of the database that the log does not replace is refused.
class DamagedDatabaseLog : public DamagedDatabase {};

TEST_P(DamagedDatabaseLog, CommitsInTheLog) {
  const std::filesystem::path path = dir_ / ("live" + GetParam().extension);
  const std::string uri = GetParam().scheme + ":" + path.string();
  // Snapshot 1 in the database (closing the store copies the log into it),
  // 2 to 4 only in the log: copied while the store is open, the files are
  // what a crash would leave.
  {
    auto store = Store::open(uri);
    commit_change(*store, Snapshot{}, snapshots_[0]);
    commit_change(*store, snapshots_[0], snapshots_[1]);
  }
  snapshots_.erase(snapshots_.begin());
  std::string database, log;
  {
    auto store = Store::open(uri);
    for (int step = 2; step <= 4; ++step) {
      snapshots_.push_back(changed(snapshots_.back(), step));
      commit_change(*store, snapshots_[snapshots_.size() - 2], snapshots_.back());
    }
    database = read_bytes(path);
    log = read_bytes(path.string() + GetParam().log);
  }
  const std::size_t frame = GetParam().log_frame, header = GetParam().log_header;
  ASSERT_GT(log.size(), header + 3 * frame) << "the commits are not in the log";
  const auto with_log = [&](std::string_view bytes) {
    return std::map<std::string, std::string>{{GetParam().log, std::string(bytes)}};
  };

  expect_refused_or_committed(database, with_log(log));  // the last commit
  expect_refused_or_committed(database, {}, true);       // the log gone
  for (std::size_t size : {std::size_t{0}, std::size_t{16}, header - 1}) {
    expect_refused_or_committed(database, with_log(log.substr(0, size)), true);
  }
  // Cut before each frame and inside it (its header written, its page not);
  // every fourth frame overwritten.
  for (std::size_t at = header, index = 0; at < log.size(); at += frame, ++index) {
    SCOPED_TRACE(::testing::Message() << "log frame at " << at);
    for (std::size_t cut : {at, at + 24}) {
      expect_refused_or_committed(database, with_log(log.substr(0, cut)), true);
    }
    if (index % 4 != 0) continue;
    std::string damaged = log;
    damaged.replace(at, frame, frame, '\0');
    expect_refused_or_committed(database, with_log(damaged), true);
    std::mt19937_64 random(at);
    for (std::size_t i = at; i < at + frame; ++i) damaged[i] = static_cast<char>(random());
    expect_refused_or_committed(database, with_log(damaged), true);
  }
  std::string nul_header = log;
  nul_header.replace(0, header, header, '\0');
  expect_refused_or_committed(database, with_log(nul_header), true);
  // Pages of the database with the log intact.
  for (std::size_t offset = 0; offset < database.size(); offset += kPageSize) {
    SCOPED_TRACE(::testing::Message() << "database page at " << offset);
    std::string damaged = database;
    damaged.replace(offset, kPageSize, std::min(kPageSize, database.size() - offset), '\0');
    expect_refused_or_committed(damaged, with_log(log));
  }
}

std::vector<DatabaseFormat> formats_with_a_log() {
  std::vector<DatabaseFormat> out;
  for (const auto& format : kDatabaseFormats) {
    if (!format.log.empty()) out.push_back(format);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Databases, DamagedDatabase, ::testing::ValuesIn(kDatabaseFormats),
                         [](const auto& info) { return info.param.scheme; });
INSTANTIATE_TEST_SUITE_P(Databases, DamagedDatabaseLog, ::testing::ValuesIn(formats_with_a_log()),
                         [](const auto& info) { return info.param.scheme; });

}  // namespace
}  // namespace checkpoint
