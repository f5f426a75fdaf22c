#include "decoders/pcap/duplicates.h"

#include <algorithm>
#include <cstring>

#include "decoders/pcap/link_layer.h"

namespace midiag::pcap {

std::uint64_t hash_bytes(std::span<const std::uint8_t> bytes) {
  constexpr std::uint64_t kPrime = 0x100000001B3ULL;
  std::uint64_t h = 0xCBF29CE484222325ULL ^ bytes.size();
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * kPrime;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) h = (h ^ bytes[i]) * kPrime;
  return h ^ (h >> 32);
}

DuplicateFilter::DuplicateFilter(DuplicateOptions options) : options_(options) {
  ring_.resize(std::max<std::size_t>(options_.window, 1));
}

bool DuplicateFilter::is_duplicate(const FrameView& frame) {
  // Compare the IP packet: `-i any` writes the two copies with different SLL2 headers.
  std::span<const std::uint8_t> bytes = frame.data;
  bool ip = false;
  if (auto net = network_layer(frame.link_type, frame.data);
      net && (net->ethertype == 0 || net->ethertype == 0x0800 || net->ethertype == 0x86DD)) {
    bytes = net->bytes;
    ip = true;
  }
  const std::uint64_t h = hash_bytes(bytes);
  for (std::size_t i = 0; i < used_; ++i) {
    const Seen& s = ring_[i];
    if (s.hash != h || s.ip != ip || (!ip && s.link_type != frame.link_type)) continue;
    const std::int64_t gap = frame.timestamp_ns - s.timestamp_ns;
    if (gap > options_.max_gap_ns || gap < -options_.max_gap_ns) continue;
    if (std::equal(s.bytes.begin(), s.bytes.end(), bytes.begin(), bytes.end())) return true;
  }
  Seen& slot = ring_[next_];
  slot.hash = h;
  slot.timestamp_ns = frame.timestamp_ns;
  slot.link_type = frame.link_type;
  slot.ip = ip;
  slot.bytes.assign(bytes.begin(), bytes.end());  // reuses the slot's capacity
  next_ = (next_ + 1) % ring_.size();
  used_ = std::min(used_ + 1, ring_.size());
  return false;
}

}  // namespace midiag::pcap
