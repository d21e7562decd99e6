#include "checkpoint/timestamp.hpp"

#include <cstdio>

#include "checkpoint/error.hpp"
#include "core/timestamp_text.hpp"

namespace checkpoint {
namespace {

using namespace std::chrono;

constexpr std::int64_t kSecondsPerDay = 86400;

[[noreturn]] void bad_text(std::string_view text, const char* why) {
  throw Error(ErrorCode::invalid_argument,
              "invalid timestamp \"" + std::string(text) + "\": " + why);
}

// Reads exactly `n` decimal digits at `pos`, advancing it.
bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char a, char b = '\0') {
  if (pos < s.size() && (s[pos] == a || (b != '\0' && s[pos] == b))) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

Timestamp Timestamp::from_unix(std::int64_t seconds, std::uint32_t nanos) {
  if (seconds < kMinSeconds || seconds > kMaxSeconds || nanos >= 1'000'000'000u) {
    throw Error(ErrorCode::invalid_argument,
                "timestamp out of range: unix seconds " + std::to_string(seconds) + ", nanos " +
                    std::to_string(nanos) + " (allowed: years 0001 to 9999, nanos below 1e9)");
  }
  return Timestamp(seconds, nanos);
}

Timestamp Timestamp::from_time_point(system_clock::time_point tp) {
  auto ns = duration_cast<nanoseconds>(tp.time_since_epoch());
  auto secs = floor<seconds>(ns);
  return from_unix(secs.count(), static_cast<std::uint32_t>((ns - secs).count()));
}

Timestamp Timestamp::now() { return from_time_point(system_clock::now()); }

system_clock::time_point Timestamp::to_time_point() const {
  // system_clock counts nanoseconds in 64 bits: about years 1678 to 2262.
  constexpr std::int64_t kLimit = INT64_MAX / 1'000'000'000 - 1;
  if (seconds_ < -kLimit || seconds_ > kLimit) {
    throw Error(ErrorCode::invalid_argument,
                "timestamp " + to_string() + " is outside std::chrono::system_clock's range");
  }
  return system_clock::time_point(
      duration_cast<system_clock::duration>(seconds(seconds_) + nanoseconds(nanos_)));
}

Timestamp Timestamp::parse(std::string_view text) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, pos, 4, year) || !expect(text, pos, '-') ||
      !read_digits(text, pos, 2, month) || !expect(text, pos, '-') ||
      !read_digits(text, pos, 2, day)) {
    bad_text(text, "expected a date as YYYY-MM-DD");
  }
  if (!expect(text, pos, 'T', 't')) bad_text(text, "expected 'T' after the date");
  if (!read_digits(text, pos, 2, hour) || !expect(text, pos, ':') ||
      !read_digits(text, pos, 2, minute) || !expect(text, pos, ':') ||
      !read_digits(text, pos, 2, second)) {
    bad_text(text, "expected a time as hh:mm:ss");
  }
  std::uint32_t nanos = 0;
  if (expect(text, pos, '.')) {
    std::size_t digits = 0;
    std::uint32_t scale = 100'000'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) bad_text(text, "more than 9 fraction digits");
      nanos += static_cast<std::uint32_t>(text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (digits == 0) bad_text(text, "expected digits after '.'");
  }
  std::int64_t offset = 0;
  if (expect(text, pos, 'Z', 'z')) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!read_digits(text, pos, 2, oh) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, om)) {
      bad_text(text, "expected an offset as +hh:mm or -hh:mm");
    }
    if (oh > 23 || om > 59) bad_text(text, "offset out of range");
    offset = sign * (oh * 3600 + om * 60);
  } else {
    bad_text(text, "expected 'Z' or an offset such as +01:00");
  }
  if (pos != text.size()) bad_text(text, "unexpected text after the offset");

  if (year < 1) bad_text(text, "year out of range (0001 to 9999)");
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) bad_text(text, "no such date");
  if (hour > 23 || minute > 59 || second > 59) bad_text(text, "time of day out of range");

  std::int64_t days = sys_days(ymd).time_since_epoch().count();
  std::int64_t secs = days * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset;
  if (secs < kMinSeconds || secs > kMaxSeconds) {
    bad_text(text, "out of range (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z)");
  }
  return Timestamp(secs, nanos);
}

std::string Timestamp::to_string() const {
  char buf[detail::kMaxTimestampText];
  return std::string(buf, detail::format_timestamp(*this, buf));
}

namespace detail {
namespace {

// Writes `value` as exactly `digits` decimal digits, zero-padded.
char* put_digits(char* out, unsigned value, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + digits;
}

}  // namespace

char* format_timestamp(Timestamp t, char* out) noexcept {
  std::int64_t days = t.unix_seconds() / kSecondsPerDay;
  std::int64_t rem = t.unix_seconds() % kSecondsPerDay;
  if (rem < 0) {
    rem += kSecondsPerDay;
    --days;
  }
  const year_month_day ymd{sys_days{std::chrono::days{days}}};
  const auto secs = static_cast<unsigned>(rem);
  out = put_digits(out, static_cast<unsigned>(int(ymd.year())), 4);
  *out++ = '-';
  out = put_digits(out, unsigned(ymd.month()), 2);
  *out++ = '-';
  out = put_digits(out, unsigned(ymd.day()), 2);
  *out++ = 'T';
  out = put_digits(out, secs / 3600, 2);
  *out++ = ':';
  out = put_digits(out, secs / 60 % 60, 2);
  *out++ = ':';
  out = put_digits(out, secs % 60, 2);
  if (unsigned nanos = t.nanos(); nanos != 0) {
    int digits = 9;
    while (nanos % 10 == 0) {  // trailing zeros trimmed, as Go's RFC3339Nano
      nanos /= 10;
      --digits;
    }
    *out++ = '.';
    out = put_digits(out, nanos, digits);
  }
  *out++ = 'Z';
  return out;
}

void append_timestamp(std::string& out, Timestamp t) {
  char buf[kMaxTimestampText];
  out.append(buf, format_timestamp(t, buf));
}

}  // namespace detail

Timestamp Timestamp::plus(std::chrono::nanoseconds by) const noexcept {
  constexpr std::int64_t kBillion = 1'000'000'000;
  std::int64_t seconds = by.count() / kBillion;
  std::int64_t nanos = by.count() % kBillion + std::int64_t{nanos_};
  if (nanos < 0) {
    nanos += kBillion;
    --seconds;
  } else if (nanos >= kBillion) {
    nanos -= kBillion;
    ++seconds;
  }
  // |seconds| < 2^34 and seconds_ is within the range: no overflow.
  seconds += seconds_;
  if (seconds < kMinSeconds) return Timestamp();
  if (seconds > kMaxSeconds) return Timestamp(kMaxSeconds, kBillion - 1);
  return Timestamp(seconds, static_cast<std::uint32_t>(nanos));
}

}  // namespace checkpoint
