#include "checkpoint/timestamp.hpp"

#include <gtest/gtest.h>

#include "checkpoint/error.hpp"

namespace checkpoint {
namespace {

TEST(Timestamp, DefaultIsGoZeroTime) {
  Timestamp t;
  EXPECT_TRUE(t.is_zero());
  EXPECT_EQ(t.to_string(), "0001-01-01T00:00:00Z");
  EXPECT_EQ(t.unix_seconds(), -62135596800);
  EXPECT_EQ(Timestamp::parse("0001-01-01T00:00:00Z"), t);
}

TEST(Timestamp, FormatsLikeGoRfc3339Nano) {
  EXPECT_EQ(Timestamp::parse("2017-12-05T15:16:38.2530588Z").to_string(),
            "2017-12-05T15:16:38.2530588Z");
  EXPECT_EQ(Timestamp::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Timestamp::from_unix(0, 1).to_string(), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(Timestamp::from_unix(0, 500'000'000).to_string(), "1970-01-01T00:00:00.5Z");
  EXPECT_EQ(Timestamp::from_unix(-1).to_string(), "1969-12-31T23:59:59Z");
  EXPECT_EQ(Timestamp::from_unix(Timestamp::kMaxSeconds, 999'999'999).to_string(),
            "9999-12-31T23:59:59.999999999Z");
}

TEST(Timestamp, ParsesOffsetsToUtc) {
  auto t = Timestamp::parse("2017-12-05T07:16:38.25-08:00");
  EXPECT_EQ(t.to_string(), "2017-12-05T15:16:38.25Z");
  EXPECT_EQ(Timestamp::parse("2017-12-06T01:46:38+10:30").to_string(), "2017-12-05T15:16:38Z");
  EXPECT_EQ(Timestamp::parse("2017-12-05t15:16:38z").to_string(), "2017-12-05T15:16:38Z");
}

TEST(Timestamp, ZeroToNineFractionDigits) {
  std::string base = "2020-02-29T12:00:00";
  EXPECT_EQ(Timestamp::parse(base + "Z").nanos(), 0u);
  EXPECT_EQ(Timestamp::parse(base + ".1Z").nanos(), 100'000'000u);
  EXPECT_EQ(Timestamp::parse(base + ".123456789Z").nanos(), 123'456'789u);
  EXPECT_EQ(Timestamp::parse(base + ".000000001Z").nanos(), 1u);
  EXPECT_THROW(Timestamp::parse(base + ".1234567891Z"), Error);
  EXPECT_THROW(Timestamp::parse(base + ".Z"), Error);
}

TEST(Timestamp, RoundTripsEveryBoundary) {
  for (auto s : {"0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000001Z",
                 "1969-12-31T23:59:59.999999999Z", "1970-01-01T00:00:00.000000001Z",
                 "2000-02-29T23:59:59.5Z", "9999-12-31T23:59:59.999999999Z"}) {
    EXPECT_EQ(Timestamp::parse(s).to_string(), s);
    auto t = Timestamp::parse(s);
    EXPECT_EQ(Timestamp::from_unix(t.unix_seconds(), t.nanos()), t);
  }
}

TEST(Timestamp, RejectsMalformedTextWithInvalidArgument) {
  for (auto s :
       {"", "2017-12-05", "2017-12-05T15:16:38", "2017-12-05 15:16:38Z", "2017-13-05T15:16:38Z",
        "2017-02-30T15:16:38Z", "2019-02-29T00:00:00Z", "2017-12-05T24:00:00Z",
        "2017-12-05T23:60:00Z", "2017-12-05T23:59:60Z", "2017-12-05T15:16:38+0800",
        "2017-12-05T15:16:38+24:00", "0000-01-01T00:00:00Z", "2017-12-05T15:16:38Zjunk",
        "17-12-05T15:16:38Z", "+2017-12-05T15:16:38Z", "2017-12-05T15:16:38.-1Z"}) {
    try {
      Timestamp::parse(s);
      ADD_FAILURE() << "accepted \"" << s << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << s;
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
    }
  }
}

TEST(Timestamp, RejectsOutOfRange) {
  EXPECT_THROW(Timestamp::parse("0001-01-01T00:00:00+00:01"), Error);
  EXPECT_THROW(Timestamp::parse("9999-12-31T23:59:59-00:01"), Error);
  EXPECT_THROW(Timestamp::from_unix(Timestamp::kMinSeconds - 1), Error);
  EXPECT_THROW(Timestamp::from_unix(Timestamp::kMaxSeconds + 1), Error);
  EXPECT_THROW(Timestamp::from_unix(0, 1'000'000'000), Error);
  try {
    Timestamp::from_unix(0, 1'000'000'000);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
}

TEST(Timestamp, OrdersChronologically) {
  EXPECT_LT(Timestamp::parse("1969-12-31T23:59:59.9Z"), Timestamp::from_unix(0));
  EXPECT_LT(Timestamp::from_unix(5, 1), Timestamp::from_unix(5, 2));
  EXPECT_EQ(Timestamp::parse("2017-12-05T07:16:38-08:00"),
            Timestamp::parse("2017-12-05T15:16:38Z"));
}

TEST(Timestamp, TimePointConversionKeepsNanoseconds) {
  auto tp = std::chrono::system_clock::time_point(std::chrono::nanoseconds(-1));
  auto t = Timestamp::from_time_point(tp);
  EXPECT_EQ(t.unix_seconds(), -1);
  EXPECT_EQ(t.nanos(), 999'999'999u);
  EXPECT_EQ(t.to_time_point(), tp);
  auto now = Timestamp::now();
  EXPECT_GT(now, Timestamp::parse("2020-01-01T00:00:00Z"));
}

TEST(Timestamp, PlusMovesByNanosecondsAndClampsToTheRange) {
  using namespace std::chrono_literals;
  const Timestamp t = Timestamp::parse("2024-02-29T23:59:59.999999999Z");
  EXPECT_EQ(t.plus(1ns).to_string(), "2024-03-01T00:00:00Z");
  EXPECT_EQ(t.plus(-999999999ns).to_string(), "2024-02-29T23:59:59Z");
  EXPECT_EQ(t.plus(-1000000000ns).to_string(), "2024-02-29T23:59:58.999999999Z");
  EXPECT_EQ(t.plus(-std::chrono::hours(24)).to_string(), "2024-02-28T23:59:59.999999999Z");
  EXPECT_EQ(t.plus(0ns), t);
  EXPECT_EQ(Timestamp().plus(-1ns), Timestamp());
  EXPECT_EQ(Timestamp::parse("9999-12-31T23:59:59Z").plus(std::chrono::hours(48)).to_string(),
            "9999-12-31T23:59:59.999999999Z");
  EXPECT_EQ(Timestamp::parse("0001-01-01T00:00:01Z").plus(-std::chrono::hours(1)), Timestamp());
}

}  // namespace
}  // namespace checkpoint
