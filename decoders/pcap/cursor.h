// Private: a bounds-checked cursor with a chosen byte order; a read past the end fails and stays
// failed, so callers check ok() once after a group of reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace midiag::pcap::detail {

class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> data, bool big_endian = true)
      : data_(data), big_(big_endian) {}

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::size_t pos() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  [[nodiscard]] std::span<const std::uint8_t> rest() const {
    return ok_ ? data_.subspan(pos_) : std::span<const std::uint8_t>{};
  }

  std::uint64_t uint(std::size_t width) {
    if (!take(width)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      const std::size_t at = big_ ? i : width - 1 - i;
      v = (v << 8) | data_[pos_ - width + at];
    }
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(uint(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
  std::uint64_t u64() { return uint(8); }

  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!take(n)) return {};
    return data_.subspan(pos_ - n, n);
  }
  void skip(std::size_t n) { take(n); }

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
  bool big_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace midiag::pcap::detail
