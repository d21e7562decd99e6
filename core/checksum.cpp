#include "core/checksum.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#endif

namespace checkpoint::detail {
namespace {

// Slice-by-8: kTables[k][b] is the CRC of byte b followed by k zero bytes,
// so eight bytes are folded in with eight lookups at once.
using Table = std::array<std::uint32_t, 256>;

constexpr std::array<Table, 8> make_tables() {
  std::array<Table, 8> tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    tables[0][i] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::uint32_t i = 0; i < 256; ++i) {
      const std::uint32_t prev = tables[k - 1][i];
      tables[k][i] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}

constexpr std::array<Table, 8> kTables = make_tables();

std::uint32_t load_le32(const unsigned char* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// SSE 4.2's crc32 instruction computes CRC-32C, eight bytes at a time:
// about ten times the tables' speed. Loads read back a million states, so
// this shows in their time.
__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t crc,
                                                             const unsigned char* p,
                                                             std::size_t n) noexcept {
  std::uint64_t wide = crc;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);  // x86 is little-endian, as the CRC wants
    wide = _mm_crc32_u64(wide, word);
  }
  crc = static_cast<std::uint32_t>(wide);
  for (; n > 0; ++p, --n) crc = _mm_crc32_u8(crc, *p);
  return crc;
}

bool have_sse42() noexcept {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

}  // namespace

std::uint32_t crc32c_update_portable(std::uint32_t crc, std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    const std::uint32_t lo = crc ^ load_le32(p), hi = load_le32(p + 4);
    crc = kTables[7][lo & 0xFFu] ^ kTables[6][(lo >> 8) & 0xFFu] ^ kTables[5][(lo >> 16) & 0xFFu] ^
          kTables[4][lo >> 24] ^ kTables[3][hi & 0xFFu] ^ kTables[2][(hi >> 8) & 0xFFu] ^
          kTables[1][(hi >> 16) & 0xFFu] ^ kTables[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) crc = kTables[0][(crc ^ *p) & 0xFFu] ^ (crc >> 8);
  return crc;
}

Crc32c& Crc32c::add(std::string_view bytes) noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (have_sse42()) {
    crc_ = update_sse42(crc_, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    return *this;
  }
#endif
  crc_ = crc32c_update_portable(crc_, bytes);
  return *this;
}

Crc32c& Crc32c::add(std::uint64_t value) noexcept {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
  return add(std::string_view(bytes, sizeof bytes));
}

namespace {

Crc32c& add_state(Crc32c& crc, const EventLogState& state) noexcept {
  return crc.add(std::uint64_t{state.name.size()})
      .add(state.name)
      .add(state.record_number)
      .add(static_cast<std::uint64_t>(state.timestamp.unix_seconds()))
      .add(std::uint64_t{state.timestamp.nanos()})
      .add(std::uint64_t{state.bookmark.size()})
      .add(state.bookmark);
}

}  // namespace

std::uint32_t state_checksum(const EventLogState& state) noexcept {
  Crc32c crc;
  return add_state(crc, state).value();
}

std::uint32_t state_checksum_with_update_time(const EventLogState& state) noexcept {
  Crc32c crc;
  return add_state(crc, state)
      .add(static_cast<std::uint64_t>(state.update_time.unix_seconds()))
      .add(std::uint64_t{state.update_time.nanos()})
      .value();
}

std::uint32_t timestamp_checksum(Timestamp t) noexcept {
  return Crc32c()
      .add(static_cast<std::uint64_t>(t.unix_seconds()))
      .add(std::uint64_t{t.nanos()})
      .value();
}

}  // namespace checkpoint::detail
