// What the fast readers of the text formats' own layouts share (see
// backends/yaml/yaml_layout_reader.hpp): a cursor that matches the text
// piece by piece and gives up, rather than throws, at the first surprise.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/state.hpp"

namespace checkpoint::detail {

class LayoutCursor {
 public:
  explicit LayoutCursor(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ == text_.size(); }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  const char* here() const { return text_.data() + pos_; }
  const char* end() const { return text_.data() + text_.size(); }
  void move_to(const char* p) { pos_ = static_cast<std::size_t>(p - text_.data()); }

  // Skips `s` if the text continues with it.
  bool literal(std::string_view s) {
    if (text_.substr(pos_, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }

  // The text up to (not including) the next `stop`, which is skipped.
  bool until(char stop, std::string_view& out) {
    std::size_t at = text_.find(stop, pos_);
    if (at == std::string_view::npos) return false;
    out = text_.substr(pos_, at - pos_);
    pos_ = at + 1;
    return true;
  }

  // Decimal digits up to `stop` (skipped): no sign, no leading zero, within
  // 64 bits, the only spelling of a record number both formats write.
  bool record_number(char stop, std::uint64_t& out) {
    std::string_view digits;
    if (!until(stop, digits) || digits.empty() || (digits.size() > 1 && digits[0] == '0')) {
      return false;
    }
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && end == digits.data() + digits.size();
  }

  // An RFC 3339 timestamp up to `stop` (skipped), as Timestamp::parse()
  // reads it.
  bool timestamp(char stop, Timestamp& out);

  // A double-quoted string on one line. Printable ASCII is taken as it is;
  // a raw run holding DEL or non-ASCII bytes must pass raw_ok(run); a
  // control character gives up; at a backslash, unescape(p, end, out)
  // decodes the escape whose letter is at p, appends it and returns what
  // follows, or nullptr to give up.
  template <typename RawOk, typename Unescape>
  bool quoted(std::string& out, RawOk raw_ok, Unescape unescape);

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// The code point of the `digits` hex digits at p; false if they are not.
bool read_hex(const char* p, const char* end, int digits, std::uint32_t& out);

// Appends code point `cp` as UTF-8; false for a surrogate or > U+10FFFF.
bool append_utf8(std::string& out, std::uint32_t cp);

// Sorts the states by name; false if a name appears twice.
bool sort_unique_by_name(std::vector<EventLogState>& states);

template <typename RawOk, typename Unescape>
bool LayoutCursor::quoted(std::string& out, RawOk raw_ok, Unescape unescape) {
  if (!literal("\"")) return false;
  out.clear();
  const char* p = here();
  const char* const stop = end();
  const char* run = p;   // start of the raw text not yet copied
  bool unusual = false;  // the run holds DEL or non-ASCII bytes
  auto flush = [&](const char* to) {
    std::string_view raw(run, static_cast<std::size_t>(to - run));
    if (unusual && !raw_ok(raw)) return false;
    out.append(raw);
    unusual = false;
    return true;
  };
  for (; p < stop; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') continue;  // the common case
    if (c >= 0x7F) {
      unusual = true;
      continue;
    }
    if (c == '"') {
      if (!flush(p)) return false;
      move_to(p + 1);
      return true;
    }
    if (c != '\\' || !flush(p) || p + 1 == stop) return false;  // a control character, or cut
    p = unescape(p + 1, stop, out);
    if (p == nullptr) return false;
    run = p--;
  }
  return false;  // no closing quote
}

}  // namespace checkpoint::detail
