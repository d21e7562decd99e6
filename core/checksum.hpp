// Checksums for the database backends (sqlite, lmdb). Neither SQLite nor
// LMDB checksums its pages, so a page of NULs or stray bytes over a stored
// value would read back as another value. Each state is stored with the
// checksum of its fields, and a state that no longer matches its checksum
// is Error{corrupt}, never a changed value.
#pragma once

#include <cstdint>
#include <string_view>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

// CRC-32C (Castagnoli), fed piece by piece.
class Crc32c {
 public:
  Crc32c& add(std::string_view bytes) noexcept;
  Crc32c& add(std::uint64_t value) noexcept;  // as 8 bytes, little-endian
  std::uint32_t value() const noexcept { return ~crc_; }

 private:
  std::uint32_t crc_ = 0xFFFFFFFFu;
};

// Feeds `bytes` to a CRC-32C register (not inverted) with lookup tables.
// Crc32c uses the CPU's crc32 instruction instead where there is one; this
// is declared so that tests can compare the two.
std::uint32_t crc32c_update_portable(std::uint32_t crc, std::string_view bytes) noexcept;

// The CRC-32C of every field of `state`: name, record number, timestamp
// and bookmark, each string preceded by its length. Part of the stored
// formats: never change it.
std::uint32_t state_checksum(const EventLogState& state) noexcept;

// state_checksum() that also covers the state's update_time (its seconds,
// then its nanoseconds), for the formats that store it (SQLite schema 2,
// LMDB format 2, PostgreSQL schema 2). Part of the stored formats too.
std::uint32_t state_checksum_with_update_time(const EventLogState& state) noexcept;

// The same for an update time.
std::uint32_t timestamp_checksum(Timestamp t) noexcept;

}  // namespace checkpoint::detail
