#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace checkpoint::detail {
namespace {

using namespace std::string_literals;

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("Application"));
  EXPECT_TRUE(is_valid_utf8("a\0b"s));                     // NUL is a code point
  EXPECT_TRUE(is_valid_utf8("\xC2\x80"));                  // U+0080, smallest 2-byte
  EXPECT_TRUE(is_valid_utf8("Ereignisanzeige \xC3\xBC"));  // ü
  EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80"));              // U+0800, smallest 3-byte
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));              // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));              // U+E000, just above them
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBF"));              // U+FFFF
  EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80"));          // U+10000, smallest 4-byte
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));          // U+10FFFF, the largest
  EXPECT_TRUE(is_valid_utf8("\xE6\x97\xA5\xE6\x9C\xAC"));  // 日本
}

TEST(Utf8, RejectsOverlongEncodings) {
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));
}

TEST(Utf8, RejectsSurrogatesAndCodePointsAboveMax) {
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // U+D800
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));      // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte forms do not exist
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("\xFE"));
}

TEST(Utf8, RejectsTruncatedAndStraySequences) {
  EXPECT_FALSE(is_valid_utf8("\x80"));  // continuation without a lead byte
  EXPECT_FALSE(is_valid_utf8("a\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));  // lead byte at the end
  EXPECT_FALSE(is_valid_utf8("\xE6\x97"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x90\x80"));
  EXPECT_FALSE(
      is_valid_utf8("\xC3"
                    "a"));  // lead byte followed by ASCII
  EXPECT_FALSE(
      is_valid_utf8("\xE6\x97"
                    "a"));
  // Latin-1 text, the usual way invalid names arrive.
  EXPECT_FALSE(is_valid_utf8("Ereignisanzeige \xFC"));
}

// Long ASCII runs are skipped in blocks; a fault must be found at every
// offset inside or after a block, and multi-byte characters between blocks.
TEST(Utf8, FindsAFaultAtEveryOffsetOfLongText) {
  for (std::size_t length : {7u, 8u, 15u, 16u, 17u, 31u, 33u, 130u}) {
    std::string ascii(length, 'a');
    EXPECT_TRUE(is_valid_utf8(ascii)) << length;
    for (std::size_t at = 0; at < length; ++at) {
      std::string bad = ascii;
      bad[at] = '\xFC';
      EXPECT_FALSE(is_valid_utf8(bad)) << length << " " << at;
      std::string good = ascii;
      good.replace(at, 1, "\xC3\xBC");  // ü
      EXPECT_TRUE(is_valid_utf8(good)) << length << " " << at;
      std::string cut = ascii.substr(0, at) + "\xE6\x97";  // a character cut off at the end
      EXPECT_FALSE(is_valid_utf8(cut)) << length << " " << at;
    }
  }
}

}  // namespace
}  // namespace checkpoint::detail
