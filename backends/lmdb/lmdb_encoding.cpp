#include "backends/lmdb/lmdb_encoding.hpp"

#include <algorithm>
#include <optional>

#include "checkpoint/error.hpp"
#include "core/checksum.hpp"

namespace checkpoint::backends::lmdb {
namespace {

constexpr std::size_t kTimestampSize = 8 + 4;
constexpr std::size_t kChecksumSize = 4;

[[noreturn]] void corrupt(std::string_view store, std::string_view key, const std::string& what) {
  throw Error(ErrorCode::corrupt, std::string(store) + ": " + describe_key(key) + ": " + what);
}

// FNV-1a, 64 bits: simple, stable across builds and platforms. Collisions
// are handled by the probe number, so its quality matters only for speed.
std::uint64_t name_hash(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint64_t get_le(std::string_view in, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return v;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// Reads an unsigned LEB128 number at the front of `in`, consuming it; false
// if it is cut short or does not fit 64 bits.
bool get_varint(std::string_view& in, std::uint64_t& out) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 10 && i < in.size(); ++i) {
    auto byte = static_cast<unsigned char>(in[i]);
    if (i == 9 && byte > 1) return false;  // bits beyond 64
    v |= static_cast<std::uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(i + 1);
      out = v;
      return true;
    }
  }
  return false;
}

// The timestamp in kTimestampSize bytes, or nullopt and why not.
std::optional<Timestamp> read_timestamp(std::string_view bytes, std::string& problem) {
  auto seconds = static_cast<std::int64_t>(get_le(bytes, 8));
  auto nanos = static_cast<std::uint32_t>(get_le(bytes.substr(8), 4));
  if (seconds < Timestamp::kMinSeconds || seconds > Timestamp::kMaxSeconds ||
      nanos >= 1'000'000'000u) {
    problem = "timestamp out of range (unix seconds " + std::to_string(seconds) + ", nanos " +
              std::to_string(nanos) + ")";
    return std::nullopt;
  }
  return Timestamp::from_unix(seconds, nanos);
}

// The fields common to decode_value() and decode_name(), in stored order.
struct Fields {
  unsigned char version = 0;
  std::uint64_t record_number = 0;
  std::string_view timestamp;    // kTimestampSize bytes
  std::string_view update_time;  // kTimestampSize bytes; empty in version 1
  std::string_view name;         // empty under a direct key
  std::string_view bookmark;
  std::uint32_t checksum = 0;
};

Fields split_value(std::string_view key, std::string_view value, std::string_view store) {
  if (key.empty()) corrupt(store, key, "empty key");
  if (value.empty()) corrupt(store, key, "empty value");
  auto version = static_cast<unsigned char>(value[0]);
  if (version != 1 && version != kValueVersion) {
    corrupt(store, key, "value encoding version " + std::to_string(version) + " is unknown");
  }
  std::string_view rest = value.substr(1);
  Fields f;
  f.version = version;
  if (!get_varint(rest, f.record_number)) corrupt(store, key, "value too short (record number)");
  if (rest.size() < kTimestampSize) corrupt(store, key, "value too short (timestamp)");
  f.timestamp = rest.substr(0, kTimestampSize);
  rest.remove_prefix(kTimestampSize);
  if (version >= 2) {
    if (rest.size() < kTimestampSize) corrupt(store, key, "value too short (update time)");
    f.update_time = rest.substr(0, kTimestampSize);
    rest.remove_prefix(kTimestampSize);
  }
  std::uint64_t name_size;
  if (!get_varint(rest, name_size)) corrupt(store, key, "value too short (name length)");
  if (name_size > rest.size()) corrupt(store, key, "value too short (name)");
  f.name = rest.substr(0, name_size);
  rest.remove_prefix(name_size);
  if (rest.size() < kChecksumSize) corrupt(store, key, "value too short (checksum)");
  f.bookmark = rest.substr(0, rest.size() - kChecksumSize);
  f.checksum = static_cast<std::uint32_t>(get_le(rest.substr(f.bookmark.size()), 4));

  // The key and the name must agree, or lookups would miss this entry.
  if (is_hashed_key(key)) {
    if (key.size() != kHashedKeySize) corrupt(store, key, "hashed key of wrong length");
    if (f.name.empty()) corrupt(store, key, "hashed key without a name in its value");
    if (is_direct_name(f.name))
      corrupt(store, key, "name stored under a hashed key it does not need");
    if (hashed_key_prefix(f.name) != key.substr(0, kHashedKeyPrefixSize)) {
      corrupt(store, key, "name does not match its hashed key");
    }
  } else {
    if (key.size() > kMaxDirectKeySize) corrupt(store, key, "key too long");
    if (!f.name.empty()) corrupt(store, key, "name stored twice under a direct key");
  }
  return f;
}

}  // namespace

bool is_direct_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= kMaxDirectKeySize &&
         static_cast<unsigned char>(name[0]) != kHashedKeyMark;
}

bool is_hashed_key(std::string_view key) noexcept {
  return !key.empty() && static_cast<unsigned char>(key[0]) == kHashedKeyMark;
}

std::string hashed_key_prefix(std::string_view name) {
  std::string key(1, static_cast<char>(kHashedKeyMark));
  std::uint64_t h = name_hash(name);
  // Big-endian, so equal hashes sort together and probes follow in order.
  for (int i = 7; i >= 0; --i) key += static_cast<char>((h >> (8 * i)) & 0xFF);
  return key;
}

std::string hashed_key(std::string_view name, std::uint32_t probe) {
  std::string key = hashed_key_prefix(name);
  for (int i = 3; i >= 0; --i) key += static_cast<char>((probe >> (8 * i)) & 0xFF);
  return key;
}

std::uint32_t hashed_key_probe(std::string_view key) {
  std::uint32_t probe = 0;
  for (std::size_t i = kHashedKeyPrefixSize; i < kHashedKeySize; ++i) {
    probe = (probe << 8) | static_cast<unsigned char>(key[i]);
  }
  return probe;
}

void encode_value(const EventLogState& state, bool embed_name, std::string& out) {
  out += static_cast<char>(kValueVersion);
  put_varint(out, state.record_number);
  out += encode_timestamp(state.timestamp);
  out += encode_timestamp(state.update_time);
  if (embed_name) {
    put_varint(out, state.name.size());
    out += state.name;
  } else {
    put_varint(out, 0);
  }
  out += state.bookmark;
  put_le(out, detail::state_checksum_with_update_time(state), 4);
}

bool is_old_value(std::string_view value) noexcept {
  return !value.empty() && static_cast<unsigned char>(value[0]) < kValueVersion;
}

EventLogState decode_value(std::string_view key, std::string_view value, std::string_view store,
                           Timestamp update_time) {
  Fields f = split_value(key, value, store);
  EventLogState state;
  state.name = std::string(f.name.empty() ? key : f.name);
  state.record_number = f.record_number;
  std::string problem;
  auto timestamp = read_timestamp(f.timestamp, problem);
  if (!timestamp) corrupt(store, key, problem);
  state.timestamp = *timestamp;
  state.bookmark = std::string(f.bookmark);
  if (f.version >= 2) {
    auto own = read_timestamp(f.update_time, problem);
    if (!own) corrupt(store, key, "update time: " + problem);
    state.update_time = *own;
  } else {
    state.update_time = update_time;
  }
  if ((f.version >= 2 ? detail::state_checksum_with_update_time(state)
                      : detail::state_checksum(state)) != f.checksum) {
    corrupt(store, key, "the value does not match its checksum: the file is damaged");
  }
  return state;
}

std::string decode_name(std::string_view key, std::string_view value, std::string_view store) {
  Fields f = split_value(key, value, store);
  return std::string(f.name.empty() ? key : f.name);
}

std::string encode_timestamp(Timestamp t) {
  std::string out;
  put_le(out, static_cast<std::uint64_t>(t.unix_seconds()), 8);
  put_le(out, t.nanos(), 4);
  return out;
}

Timestamp decode_timestamp(std::string_view bytes, std::string_view store, std::string_view what) {
  if (bytes.size() != kTimestampSize) {
    throw Error(ErrorCode::corrupt, std::string(store) + ": " + std::string(what) +
                                        ": timestamp of " + std::to_string(bytes.size()) +
                                        " bytes, expected " + std::to_string(kTimestampSize));
  }
  std::string problem;
  if (auto t = read_timestamp(bytes, problem)) return *t;
  throw Error(ErrorCode::corrupt, std::string(store) + ": " + std::string(what) + ": " + problem);
}

std::string encode_update_time(Timestamp t) {
  std::string out = encode_timestamp(t);
  put_le(out, detail::timestamp_checksum(t), 4);
  return out;
}

Timestamp decode_update_time(std::string_view bytes, std::string_view store) {
  if (bytes.size() != kTimestampSize + kChecksumSize) {
    throw Error(ErrorCode::corrupt, std::string(store) + ": update_time of " +
                                        std::to_string(bytes.size()) + " bytes, expected " +
                                        std::to_string(kTimestampSize + kChecksumSize));
  }
  Timestamp t = decode_timestamp(bytes.substr(0, kTimestampSize), store, "update_time");
  if (detail::timestamp_checksum(t) != get_le(bytes.substr(kTimestampSize), 4)) {
    throw Error(
        ErrorCode::corrupt,
        std::string(store) + ": update_time does not match its checksum: the file is damaged");
  }
  return t;
}

std::string encode_format_version(std::uint32_t version) {
  std::string out;
  put_le(out, version, 4);
  return out;
}

std::uint32_t decode_format_version(std::string_view bytes, std::string_view store) {
  if (bytes.size() != 4) {
    throw Error(ErrorCode::corrupt, std::string(store) + ": format version of " +
                                        std::to_string(bytes.size()) + " bytes, expected 4");
  }
  return static_cast<std::uint32_t>(get_le(bytes, 4));
}

std::string describe_key(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (is_hashed_key(key)) {
    std::string out = "hashed key 0x";
    for (unsigned char c : key) {
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    return out;
  }
  // Shortened at a UTF-8 character boundary.
  std::size_t shown = std::min<std::size_t>(key.size(), 80);
  while (shown < key.size() && shown > 0 &&
         (static_cast<unsigned char>(key[shown]) & 0xC0) == 0x80) {
    --shown;
  }
  std::string out = "key \"";
  for (std::size_t i = 0; i < shown; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);  // UTF-8 passes through
    }
  }
  out += '"';
  if (shown < key.size()) out += " (" + std::to_string(key.size()) + " bytes, shortened)";
  return out;
}

}  // namespace checkpoint::backends::lmdb
