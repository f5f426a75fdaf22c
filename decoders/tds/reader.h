// Private: a bounds-checked little/big-endian cursor for TDS; a read past the end fails, stays
// failed and remembers the absolute byte offset where it happened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace midiag::tds::detail {

class Reader {
 public:
  // `base` is the absolute offset of data[0] in the message, so errors can name real offsets.
  explicit Reader(std::span<const std::uint8_t> data, std::size_t base = 0)
      : data_(data), base_(base) {}

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::size_t offset() const { return base_ + pos_; }  // absolute
  [[nodiscard]] std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  [[nodiscard]] bool at_end() const { return remaining() == 0; }
  // Where the first failed read started (absolute), or the current offset if none failed.
  [[nodiscard]] std::size_t fail_offset() const { return ok_ ? offset() : fail_at_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16le() { return static_cast<std::uint16_t>(le(2)); }
  std::uint16_t u16be() { return static_cast<std::uint16_t>(be(2)); }
  std::uint32_t u32le() { return static_cast<std::uint32_t>(le(4)); }
  std::uint32_t u32be() { return static_cast<std::uint32_t>(be(4)); }
  std::uint64_t u64le() { return le(8); }

  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!take(n)) return {};
    return data_.subspan(pos_ - n, n);
  }
  bool skip(std::size_t n) { return take(n); }
  // A reader over the next n bytes (consumed here); fails like any read when n is too large.
  Reader sub(std::size_t n) {
    const std::size_t at = offset();
    auto b = bytes(n);
    Reader r(b, at);
    if (!ok_) r.fail();
    return r;
  }
  void fail() {
    if (ok_) fail_at_ = offset();
    ok_ = false;
  }

 private:
  bool take(std::size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      fail();
      return false;
    }
    pos_ += n;
    return true;
  }
  std::uint64_t le(std::size_t width) {
    if (!take(width)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = width; i-- > 0;) v = (v << 8) | data_[pos_ - width + i];
    return v;
  }
  std::uint64_t be(std::size_t width) {
    if (!take(width)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | data_[pos_ - width + i];
    return v;
  }

  std::span<const std::uint8_t> data_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
  std::size_t fail_at_ = 0;
  bool ok_ = true;
};

// "0xAD": how token and option bytes are named in error messages.
inline std::string hex_byte(std::uint8_t b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string{'0', 'x', kDigits[b >> 4], kDigits[b & 0x0F]};
}

}  // namespace midiag::tds::detail
