// A point in time with nanosecond precision, like google.protobuf.Timestamp:
// seconds since the Unix epoch plus nanoseconds, always UTC.
// Range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "checkpoint/export.h"

namespace checkpoint {

class CHECKPOINT_API Timestamp {
 public:
  // 0001-01-01T00:00:00Z, Go's zero time.
  constexpr Timestamp() noexcept = default;

  // Out of range (year 1..9999, nanos < 1e9): Error{invalid_argument}.
  static Timestamp from_unix(std::int64_t seconds, std::uint32_t nanos = 0);
  // Out of range: Error{invalid_argument}.
  static Timestamp from_time_point(std::chrono::system_clock::time_point tp);
  static Timestamp now();
  // RFC 3339 with "Z" or a "+hh:mm"/"-hh:mm" offset and 0 to 9 fraction
  // digits ("T" or "t", "Z" or "z"); normalised to UTC. Bad text or a result
  // out of range: Error{invalid_argument} quoting the text.
  static Timestamp parse(std::string_view rfc3339);

  std::int64_t unix_seconds() const noexcept { return seconds_; }
  std::uint32_t nanos() const noexcept { return nanos_; }
  bool is_zero() const noexcept { return seconds_ == kMinSeconds && nanos_ == 0; }
  std::chrono::system_clock::time_point to_time_point() const;
  // This time moved by `by` (forwards or backwards), clamped to the range.
  Timestamp plus(std::chrono::nanoseconds by) const noexcept;

  // UTC with "Z", fraction trimmed of trailing zeros, as Go's RFC3339Nano:
  // "2017-12-05T15:16:38.2530588Z", "0001-01-01T00:00:00Z".
  std::string to_string() const;

  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;

  static constexpr std::int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
  static constexpr std::int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

 private:
  constexpr Timestamp(std::int64_t seconds, std::uint32_t nanos) noexcept
      : seconds_(seconds), nanos_(nanos) {}

  std::int64_t seconds_ = kMinSeconds;
  std::uint32_t nanos_ = 0;
};

}  // namespace checkpoint
