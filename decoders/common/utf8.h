// UTF-8 validation for strings a server controls: bad bytes become U+FFFD at the boundary, so
// every string stored in evidence is valid UTF-8 (JSON needs it; terminals deserve it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace midiag {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point at s[i] and advances i past it. An ill-formed sequence (overlong,
// surrogate, above U+10FFFF, truncated, stray continuation byte) yields U+FFFD and advances past
// its maximal subpart only (Unicode ch. 3 "U+FFFD substitution of maximal subparts", as WHATWG
// decoders do), so the next valid character is never swallowed. Requires i < s.size().
// `invalid` is set when U+FFFD stands for bad bytes rather than a real U+FFFD in the input.
char32_t next_code_point(std::string_view s, std::size_t& i, bool& invalid);

// Appends the UTF-8 encoding of cp; surrogates and values above U+10FFFF become U+FFFD.
void append_utf8(std::string& out, char32_t cp);

// `bytes` with every ill-formed sequence replaced by U+FFFD; `replaced` (when given) receives
// how many replacements were made. Valid input comes back unchanged.
std::string to_valid_utf8(std::string_view bytes, std::size_t* replaced = nullptr);

// True when `bytes` is well-formed UTF-8.
bool is_valid_utf8(std::string_view bytes);

}  // namespace midiag
