// The bytes an lmdb: store keeps: keys and values of its two databases.
//
// Database "states", one entry per state:
//   key    the name itself, when it is 1..511 bytes long and does not start
//          with byte 0xFF (which never occurs in UTF-8). Any other name
//          (longer than LMDB's key limit, or starting with 0xFF) is keyed
//          by a "hashed key": 0xFF, the 64-bit FNV-1a hash of the name
//          (big-endian) and a 32-bit big-endian probe number that keeps
//          names with equal hashes apart. Its value holds the full name,
//          which is compared on every lookup, so a name is never truncated
//          and a hash collision never mixes two states.
//   value  byte 1       the value encoding version (kValueVersion)
//          varint       record number (unsigned LEB128, 1..10 bytes)
//          8 bytes      timestamp seconds since the Unix epoch (int64, LE)
//          4 bytes      timestamp nanoseconds (uint32, LE)
//          8 + 4 bytes  the state's update time, as the timestamp (version 2)
//          varint       name length: 0 under a direct key (the key is the
//                       name); under a hashed key, the length, then the name
//          the rest     bookmark bytes, then
//          4 bytes      state_checksum_with_update_time() of the state
//                       (uint32, LE), since LMDB does not checksum its pages
//          Version 1 (format 1, release 0.1) has no update time, and its
//          checksum is state_checksum(); such a state reads with the
//          store's update time. The first writer to open a format 1 store
//          rewrites every value as version 2, in one transaction.
// Database "meta":
//   "format_version"  uint32 LE; kFormatVersion for this code
//   "update_time"     8 + 4 bytes as the timestamp above, then its
//                     timestamp_checksum() (uint32, LE); absent before the
//                     first commit
//
// Decoders throw Error{corrupt} naming the store and the key; nothing here
// touches LMDB.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "checkpoint/state.hpp"

namespace checkpoint::backends::lmdb {

inline constexpr std::uint32_t kFormatVersion = 2;
inline constexpr unsigned char kValueVersion = 2;
// LMDB's default key limit (mdb_env_get_maxkeysize()); part of the format,
// so it does not follow a differently built library.
inline constexpr std::size_t kMaxDirectKeySize = 511;
inline constexpr unsigned char kHashedKeyMark = 0xFF;
inline constexpr std::size_t kHashedKeyPrefixSize = 1 + 8;
inline constexpr std::size_t kHashedKeySize = kHashedKeyPrefixSize + 4;

inline constexpr std::string_view kStatesDb = "states";
inline constexpr std::string_view kMetaDb = "meta";
inline constexpr std::string_view kFormatVersionKey = "format_version";
inline constexpr std::string_view kUpdateTimeKey = "update_time";

// True if `name` is its own key; false if it needs a hashed key.
bool is_direct_name(std::string_view name) noexcept;
bool is_hashed_key(std::string_view key) noexcept;

// 0xFF and the name's hash: the start shared by every hashed key of `name`.
std::string hashed_key_prefix(std::string_view name);
std::string hashed_key(std::string_view name, std::uint32_t probe);
std::uint32_t hashed_key_probe(std::string_view key);  // REQUIRES: is_hashed_key(key), full size

// Appends the value for `state` to `out`; `embed_name` for hashed keys.
void encode_value(const EventLogState& state, bool embed_name, std::string& out);

// The state stored as `value` under `key`, checking that they agree. A
// version 1 value takes `update_time`, the store's.
EventLogState decode_value(std::string_view key, std::string_view value, std::string_view store,
                           Timestamp update_time);

// True if `value` is of an older encoding version than kValueVersion (it
// may still be damaged: decode_value() tells).
bool is_old_value(std::string_view value) noexcept;

// Only the name: cheaper than decode_value() when probing hashed keys.
std::string decode_name(std::string_view key, std::string_view value, std::string_view store);

std::string encode_timestamp(Timestamp t);
Timestamp decode_timestamp(std::string_view bytes, std::string_view store, std::string_view what);

// The "update_time" value: the timestamp and its checksum.
std::string encode_update_time(Timestamp t);
Timestamp decode_update_time(std::string_view bytes, std::string_view store);

std::string encode_format_version(std::uint32_t version);
// Any 4-byte value; the caller decides what an unknown version means.
std::uint32_t decode_format_version(std::string_view bytes, std::string_view store);

// A key as people read it in messages: printable text quoted and escaped,
// long names shortened, hashed keys as "hashed key 0x...".
std::string describe_key(std::string_view key);

}  // namespace checkpoint::backends::lmdb
