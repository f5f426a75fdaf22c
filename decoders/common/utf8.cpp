#include "decoders/common/utf8.h"

namespace midiag {

char32_t next_code_point(std::string_view s, std::size_t& i, bool& invalid) {
  invalid = false;
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  std::size_t extra = 0;
  char32_t cp = 0;
  // The first continuation byte's range rules out overlongs, surrogates and > U+10FFFF up front.
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    extra = 1, cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    extra = 2, cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (b0 == 0xED) hi = 0x9F;  // U+D800..U+DFFF
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    extra = 3, cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    invalid = true;  // a continuation byte, C0/C1 (always overlong) or F5..FF
    return kReplacementChar;
  }
  for (std::size_t k = 0; k < extra; ++k) {
    if (i >= s.size()) {
      invalid = true;  // truncated at the end
      return kReplacementChar;
    }
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < lo || b > hi) {
      invalid = true;  // leave this byte: it may start the next character
      return kReplacementChar;
    }
    lo = 0x80, hi = 0xBF;
    cp = (cp << 6) | (b & 0x3Fu);
    ++i;
  }
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = kReplacementChar;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string to_valid_utf8(std::string_view bytes, std::size_t* replaced) {
  std::size_t count = 0;
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t start = i;
    bool invalid = false;
    (void)next_code_point(bytes, i, invalid);
    if (invalid) {
      ++count;
      append_utf8(out, kReplacementChar);
    } else {
      out.append(bytes.substr(start, i - start));  // valid: copy the bytes as they were
    }
  }
  if (replaced != nullptr) *replaced = count;
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    bool invalid = false;
    (void)next_code_point(bytes, i, invalid);
    if (invalid) return false;
  }
  return true;
}

}  // namespace midiag
