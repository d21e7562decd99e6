// The checksum the database backends store with each state.
#include "core/checksum.hpp"

#include <gtest/gtest.h>

namespace checkpoint::detail {
namespace {

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(Crc32c().value(), 0u);
  EXPECT_EQ(Crc32c().add("123456789").value(), 0xE3069283u);  // the standard check value
  EXPECT_EQ(Crc32c().add("1234").add("56789").value(), 0xE3069283u);
  EXPECT_EQ(Crc32c().add(std::uint64_t{0x0807060504030201}).value(),
            Crc32c().add("\x01\x02\x03\x04\x05\x06\x07\x08").value());
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

}  // namespace
}  // namespace checkpoint::detail
