// The checksum the database backends store with each state.
#include "core/checksum.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace checkpoint::detail {
namespace {

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(Crc32c().value(), 0u);
  EXPECT_EQ(Crc32c().add("123456789").value(), 0xE3069283u);  // the standard check value
  EXPECT_EQ(Crc32c().add("1234").add("56789").value(), 0xE3069283u);
  EXPECT_EQ(Crc32c().add(std::uint64_t{0x0807060504030201}).value(),
            Crc32c().add("\x01\x02\x03\x04\x05\x06\x07\x08").value());
}

// The CPU's crc32 instruction (where Crc32c uses it) and the tables agree
// on every length and alignment.
TEST(Crc32c, InstructionAndTablesAgree) {
  std::mt19937 random(1);
  std::string bytes(300, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  EXPECT_EQ(~crc32c_update_portable(0xFFFFFFFFu, "123456789"), 0xE3069283u);
  for (std::size_t offset = 0; offset < 9; ++offset) {
    for (std::size_t length = 0; length + offset <= bytes.size(); length += 7) {
      const std::string_view piece(bytes.data() + offset, length);
      EXPECT_EQ(Crc32c().add(piece).value(), ~crc32c_update_portable(0xFFFFFFFFu, piece))
          << offset << " " << length;
    }
  }
}

TEST(StateChecksum, EveryFieldCounts) {
  const EventLogState base{"Application", 250502, Timestamp::from_unix(7, 8), "<b/>"};
  const std::uint32_t checksum = state_checksum(base);
  EXPECT_EQ(state_checksum(base), checksum);
  std::vector<EventLogState> others(5, base);
  others[0].name = "Applicatioo";
  others[1].record_number = 250503;
  others[2].timestamp = Timestamp::from_unix(8, 8);
  others[3].timestamp = Timestamp::from_unix(7, 9);
  others[4].bookmark = "<b/ ";
  for (const auto& other : others) EXPECT_NE(state_checksum(other), checksum) << other.name;
  // Lengths keep the strings apart: text moved from name to bookmark counts.
  EXPECT_NE(state_checksum({"ab", 1, Timestamp(), "c"}),
            state_checksum({"a", 1, Timestamp(), "bc"}));
  EXPECT_NE(timestamp_checksum(Timestamp::from_unix(7, 8)),
            timestamp_checksum(Timestamp::from_unix(7, 9)));
}

TEST(StateChecksum, TheSecondVersionCoversTheUpdateTimeAndTheFirstIgnoresIt) {
  EventLogState base{"Application", 250502, Timestamp::from_unix(7, 8), "<b/>"};
  base.update_time = Timestamp::from_unix(100, 5);
  const std::uint32_t checksum = state_checksum_with_update_time(base);
  std::vector<EventLogState> others(6, base);
  others[0].name = "Applicatioo";
  others[1].record_number = 250503;
  others[2].timestamp = Timestamp::from_unix(8, 8);
  others[3].bookmark = "<b/ ";
  others[4].update_time = Timestamp::from_unix(101, 5);
  others[5].update_time = Timestamp::from_unix(100, 6);
  for (const auto& other : others) {
    EXPECT_NE(state_checksum_with_update_time(other), checksum) << other.name;
  }
  // The first version is part of stored formats: the update time leaves it
  // as it was.
  EXPECT_EQ(state_checksum(others[4]), state_checksum(base));
  EXPECT_NE(state_checksum(base), checksum);
}

}  // namespace
}  // namespace checkpoint::detail
