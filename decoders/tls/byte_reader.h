// Private: a bounds-checked big-endian cursor; any read past the end fails and stays failed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace midiag::tls::detail {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::size_t pos() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }

  std::uint32_t uint(std::size_t width) {
    if (!take(width)) return 0;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | data_[pos_ - width + i];
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(uint(2)); }
  std::uint32_t u24() { return uint(3); }

  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!take(n)) return {};
    return data_.subspan(pos_ - n, n);
  }
  // A length-prefixed vector (RFC 8446 3.4): prefix of `width` bytes, then that many bytes.
  std::span<const std::uint8_t> vec(std::size_t width) { return bytes(uint(width)); }

 private:
  bool take(std::size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace midiag::tls::detail
