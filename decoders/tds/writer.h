// Private: append helpers for the TDS builders (TDS integers are little-endian unless noted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace midiag::tds::detail {

using Bytes = std::vector<std::uint8_t>;

inline void put_le(Bytes& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put_be(Bytes& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = width; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put_bytes(Bytes& out, std::span<const std::uint8_t> b) {
  out.insert(out.end(), b.begin(), b.end());
}
// Overwrites `width` bytes at `at` (used to patch lengths once the body is known).
inline void patch_le(Bytes& out, std::size_t at, std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace midiag::tds::detail
