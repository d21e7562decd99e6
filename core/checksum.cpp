#include "core/checksum.hpp"

#include <array>

namespace checkpoint::detail {
namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    table[i] = crc;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kTable = make_table();

}  // namespace

Crc32c& Crc32c::add(std::string_view bytes) noexcept {
  for (unsigned char c : bytes) crc_ = kTable[(crc_ ^ c) & 0xFFu] ^ (crc_ >> 8);
  return *this;
}

Crc32c& Crc32c::add(std::uint64_t value) noexcept {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
  return add(std::string_view(bytes, sizeof bytes));
}

std::uint32_t state_checksum(const EventLogState& state) noexcept {
  return Crc32c()
      .add(std::uint64_t{state.name.size()})
      .add(state.name)
      .add(state.record_number)
      .add(static_cast<std::uint64_t>(state.timestamp.unix_seconds()))
      .add(std::uint64_t{state.timestamp.nanos()})
      .add(std::uint64_t{state.bookmark.size()})
      .add(state.bookmark)
      .value();
}

std::uint32_t timestamp_checksum(Timestamp t) noexcept {
  return Crc32c()
      .add(static_cast<std::uint64_t>(t.unix_seconds()))
      .add(std::uint64_t{t.nanos()})
      .value();
}

}  // namespace checkpoint::detail
