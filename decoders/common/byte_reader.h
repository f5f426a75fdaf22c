// The one bounded byte reader every decoder uses (TDS, TLS, pcap, DNS): a read past the end
// fails, stays failed and remembers the absolute offset where the first failed read started.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace midiag {

enum class ByteOrder : std::uint8_t { Big, Little };

class ByteReader {
 public:
  // `base` is the absolute offset of data[0] in the whole input, so errors can name real offsets;
  // `order` is what u16()/u32()/u64() use (pcap files come in either order).
  explicit ByteReader(std::span<const std::uint8_t> data, std::size_t base = 0,
                      ByteOrder order = ByteOrder::Big)
      : data_(data), base_(base), order_(order) {}
  ByteReader(std::span<const std::uint8_t> data, ByteOrder order) : ByteReader(data, 0, order) {}

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::size_t offset() const { return base_ + pos_; }  // absolute
  [[nodiscard]] std::size_t pos() const { return pos_; }             // relative to data[0]
  [[nodiscard]] std::size_t size() const { return data_.size(); }
  [[nodiscard]] std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  [[nodiscard]] bool at_end() const { return remaining() == 0; }
  // Where the first failed read started (absolute), or the current offset if none failed.
  [[nodiscard]] std::size_t fail_offset() const { return ok_ ? offset() : fail_at_; }
  // The unread bytes; empty once failed.
  [[nodiscard]] std::span<const std::uint8_t> rest() const {
    return ok_ ? data_.subspan(pos_) : std::span<const std::uint8_t>{};
  }

  [[nodiscard]] ByteOrder order() const { return order_; }
  void set_order(ByteOrder order) { order_ = order; }

  // An unsigned integer of `width` (1..8) bytes; 0 once failed.
  std::uint64_t uint(std::size_t width, ByteOrder order) {
    if (width == 0 || width > 8 || !take(width)) {
      fail();
      return 0;
    }
    const std::uint8_t* p = data_.data() + pos_ - width;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      v = (v << 8) | p[order == ByteOrder::Big ? i : width - 1 - i];
    }
    return v;
  }
  std::uint64_t uint(std::size_t width) { return uint(width, order_); }

  std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1, ByteOrder::Big)); }
  std::uint16_t u16(ByteOrder order) { return static_cast<std::uint16_t>(uint(2, order)); }
  std::uint32_t u24(ByteOrder order) { return static_cast<std::uint32_t>(uint(3, order)); }
  std::uint32_t u32(ByteOrder order) { return static_cast<std::uint32_t>(uint(4, order)); }
  std::uint64_t u64(ByteOrder order) { return uint(8, order); }
  std::uint16_t u16() { return u16(order_); }
  std::uint32_t u24() { return u24(order_); }
  std::uint32_t u32() { return u32(order_); }
  std::uint64_t u64() { return u64(order_); }
  std::uint16_t u16be() { return u16(ByteOrder::Big); }
  std::uint16_t u16le() { return u16(ByteOrder::Little); }
  std::uint32_t u24be() { return u24(ByteOrder::Big); }
  std::uint32_t u32be() { return u32(ByteOrder::Big); }
  std::uint32_t u32le() { return u32(ByteOrder::Little); }
  std::uint64_t u64be() { return u64(ByteOrder::Big); }
  std::uint64_t u64le() { return u64(ByteOrder::Little); }

  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!take(n)) return {};
    return data_.subspan(pos_ - n, n);
  }
  bool skip(std::size_t n) { return take(n); }
  // A reader over the next n bytes (consumed here), same byte order, absolute offsets kept;
  // when n is too large both this reader and the returned one are failed.
  ByteReader sub(std::size_t n) {
    const std::size_t at = offset();
    ByteReader r(bytes(n), at, order_);
    if (!ok_) r.fail();
    return r;
  }
  // A length-prefixed vector (RFC 8446 3.4): a `width`-byte length in this reader's order, then
  // that many bytes.
  std::span<const std::uint8_t> vec(std::size_t width) { return bytes(uint(width)); }
  ByteReader sub_vec(std::size_t width) { return sub(uint(width)); }
  // Moves to `pos` (relative to data[0]) for formats that point backwards (DNS compression);
  // past the end fails.
  bool seek(std::size_t pos) {
    if (!ok_ || pos > data_.size()) {
      fail();
      return false;
    }
    pos_ = pos;
    return true;
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

  std::span<const std::uint8_t> data_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
  std::size_t fail_at_ = 0;
  ByteOrder order_ = ByteOrder::Big;
  bool ok_ = true;
};

// "0xAD": how a single byte (token, option, type) is named in error messages.
inline std::string hex_byte(std::uint8_t b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string{'0', 'x', kDigits[b >> 4], kDigits[b & 0x0F]};
}

}  // namespace midiag
