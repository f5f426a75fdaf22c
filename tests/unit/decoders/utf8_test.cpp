// to_valid_utf8: every ill-formed sequence becomes U+FFFD, one per maximal subpart (Unicode 15,
// ch. 3.9, table 3-8 — the same counts a WHATWG decoder gives); valid text passes unchanged.
#include <gtest/gtest.h>

#include <string>

#include "decoders/common/utf8.h"
#include "decoders/tds/login7.h"

using midiag::is_valid_utf8;
using midiag::to_valid_utf8;

namespace {

const std::string kFffd = "\xef\xbf\xbd";  // U+FFFD in UTF-8

std::string fffd(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += kFffd;
  return s;
}

struct Case {
  const char* name;
  std::string in;
  std::string out;
  std::size_t replaced;
};

}  // namespace

TEST(Utf8, ValidTextIsUnchanged) {
  const std::string ascii = "mi1.lab0001.database.windows.net";
  const std::string two = "caf\xc3\xa9";        // é U+00E9
  const std::string three = "\xe2\x82\xac";     // € U+20AC
  const std::string four = "\xf0\x9f\x98\x80";  // 😀 U+1F600
  const std::string max = "\xf4\x8f\xbf\xbf";   // U+10FFFF, the last code point
  const std::string c1 = "\xc2\x9b";            // U+009B: valid, a control (renderers escape it)
  const std::string nul(1, '\0');               // NUL is valid UTF-8
  const std::string real_fffd = kFffd;          // a real U+FFFD is not a replacement
  for (const auto& s : {ascii, two, three, four, max, c1, nul, real_fffd}) {
    std::size_t n = 99;
    EXPECT_EQ(to_valid_utf8(s, &n), s);
    EXPECT_EQ(n, 0u);
    EXPECT_TRUE(is_valid_utf8(s));
  }
}

TEST(Utf8, IllFormedSequencesBecomeReplacementCharacters) {
  const Case cases[] = {
      {"0xFF never occurs",
       "a\xff"
       "b",
       "a" + fffd(1) + "b", 1},
      {"0xFE never occurs", "\xfe", fffd(1), 1},
      {"stray continuation 0x9B (the C1 CSI byte, unencoded)", "\x9b[2J", fffd(1) + "[2J", 1},
      {"overlong '/' in two bytes", "\xc0\xaf", fffd(2), 2},
      {"overlong NUL in two bytes", "\xc0\x80", fffd(2), 2},
      {"overlong '/' in three bytes: E0 needs A0..BF next", "\xe0\x80\xaf", fffd(3), 3},
      {"overlong in four bytes: F0 needs 90..BF next", "\xf0\x80\x80\xaf", fffd(4), 4},
      {"high surrogate U+D800", "\xed\xa0\x80", fffd(3), 3},
      {"low surrogate U+DFFF", "\xed\xbf\xbf", fffd(3), 3},
      {"U+110000, above the last code point", "\xf4\x90\x80\x80", fffd(4), 4},
      {"F5 lead byte (would be above U+10FFFF)", "\xf5\x80\x80\x80", fffd(4), 4},
      {"truncated two-byte at the end", "ab\xc3", "ab" + fffd(1), 1},
      {"truncated three-byte at the end: one subpart", "\xe2\x82", fffd(1), 1},
      {"truncated four-byte at the end: one subpart", "\xf0\x9f\x98", fffd(1), 1},
      {"truncated three-byte before ASCII keeps the ASCII",
       "\xe2\x82"
       "x",
       fffd(1) + "x", 1},
      {"lead byte before a valid character keeps the character", "\xe2\xc3\xa9",
       fffd(1) + "\xc3\xa9", 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::size_t n = 0;
    const auto out = to_valid_utf8(c.in, &n);
    EXPECT_EQ(out, c.out);
    EXPECT_EQ(n, c.replaced);
    EXPECT_TRUE(is_valid_utf8(out));
    EXPECT_FALSE(is_valid_utf8(c.in));
    EXPECT_EQ(to_valid_utf8(out), out);  // idempotent
  }
}

TEST(Utf8, LoneSurrogatesFromUtf16BecomeReplacementCharacters) {
  // UTF-16LE as a server sends it in ERROR and ENVCHANGE tokens.
  const std::uint8_t lone_high[] = {'a', 0, 0x00, 0xD8, 'b', 0};  // "a", U+D800, "b"
  const std::uint8_t lone_low[] = {0x00, 0xDC};                   // U+DC00 alone
  const std::uint8_t high_at_end[] = {'a', 0, 0x3D, 0xD8};        // "a", then half a pair
  const std::uint8_t pair[] = {0x3D, 0xD8, 0x00, 0xDE};           // U+1F600 as a pair
  const std::uint8_t odd_length[] = {'a', 0, 'b'};                // a dangling byte
  EXPECT_EQ(midiag::tds::from_utf16le(lone_high), "a" + kFffd + "b");
  EXPECT_EQ(midiag::tds::from_utf16le(lone_low), kFffd);
  EXPECT_EQ(midiag::tds::from_utf16le(high_at_end), "a" + kFffd);
  EXPECT_EQ(midiag::tds::from_utf16le(pair), "\xf0\x9f\x98\x80");
  EXPECT_EQ(midiag::tds::from_utf16le(odd_length), "a" + kFffd);
}
