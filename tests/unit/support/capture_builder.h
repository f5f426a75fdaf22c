// Test captures built byte by byte: the shared fixtures read in place (LOAD_OR_SKIP), and a
// classic pcap writer with Ethernet/IPv4 frames carrying TCP, UDP or ICMP built here.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace midiag::test_support {

using Bytes = std::vector<std::uint8_t>;

// A file of ../shared/fixtures (relative to the repository), read in place.
inline std::optional<Bytes> load_fixture(const std::string& rel) {
  std::ifstream f(std::string(MIDIAG_SOURCE_DIR) + "/../shared/fixtures/" + rel, std::ios::binary);
  if (!f) return std::nullopt;
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Skips the test when the fixture is missing, fails it in CI (which has ../shared).
#define FIXTURE_OR_SKIP(var, name)                                                      \
  const auto var##_opt = ::midiag::test_support::load_fixture(name);                    \
  if (!var##_opt) {                                                                     \
    if (const char* ci = std::getenv("CI"); ci != nullptr && std::string(ci) == "true") \
      FAIL() << "fixture missing (CI has ../shared): " << name;                         \
    GTEST_SKIP() << "fixture missing: " << name;                                        \
  }                                                                                     \
  const ::midiag::test_support::Bytes& var = *var##_opt

struct Ip4 {
  std::uint8_t a, b, c, d;
};

inline void put16(Bytes& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xFFFF);
}

inline Bytes ipv4(Ip4 src, Ip4 dst, std::uint8_t ttl, std::uint8_t proto, std::uint16_t id,
                  const Bytes& body) {
  Bytes b(20 + body.size(), 0);
  b[0] = 0x45;
  put16(b, 2, b.size());
  put16(b, 4, id);
  b[8] = ttl;
  b[9] = proto;
  for (int i = 0; i < 4; ++i) {
    b[12 + i] = (&src.a)[i];
    b[16 + i] = (&dst.a)[i];
  }
  std::copy(body.begin(), body.end(), b.begin() + 20);
  return b;
}

inline Bytes tcp_segment(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                         std::uint32_t ack, std::uint8_t flags, const Bytes& data = {}) {
  Bytes b(20 + data.size(), 0);
  put16(b, 0, sport);
  put16(b, 2, dport);
  put32(b, 4, seq);
  put32(b, 8, ack);
  b[12] = 0x50;
  b[13] = flags;
  put16(b, 14, 65535);
  std::copy(data.begin(), data.end(), b.begin() + 20);
  return b;
}

inline Bytes udp_datagram(std::uint16_t sport, std::uint16_t dport, const Bytes& data) {
  Bytes b(8 + data.size(), 0);
  put16(b, 0, sport);
  put16(b, 2, dport);
  put16(b, 4, b.size());
  std::copy(data.begin(), data.end(), b.begin() + 8);
  return b;
}

// A classic pcap (microseconds, little-endian, Ethernet) from IP packets and their times.
class PcapBuilder {
 public:
  PcapBuilder() {
    out_ = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0, 0, 0, 0,
            0,    0,    0,    0,    0xff, 0xff, 0, 0, 1, 0, 0, 0};
  }
  void add(double t, const Bytes& ip) {
    Bytes frame(14, 0);
    frame[0] = 2;
    frame[6] = 4;
    frame[12] = 0x08;
    frame.insert(frame.end(), ip.begin(), ip.end());
    auto le32 = [&](std::uint32_t v) {
      for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    le32(static_cast<std::uint32_t>(t));
    le32(static_cast<std::uint32_t>((t - static_cast<std::uint32_t>(t)) * 1e6 + 0.5));
    le32(static_cast<std::uint32_t>(frame.size()));
    le32(static_cast<std::uint32_t>(frame.size()));
    out_.insert(out_.end(), frame.begin(), frame.end());
  }
  [[nodiscard]] const Bytes& bytes() const { return out_; }

 private:
  Bytes out_;
};

}  // namespace midiag::test_support
