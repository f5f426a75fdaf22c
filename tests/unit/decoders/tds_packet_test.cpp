#include "decoders/tds/packet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

using namespace midiag::tds;

namespace {

// The gateway's PRELOGIN answer, frame 6 of fixtures/pcap/tedious-redirect-plain.pcap.
const std::vector<std::uint8_t> kPreloginResponsePacket = {
    0x04, 0x01, 0x00, 0x31, 0x00, 0x00, 0x01, 0x00,  // 0: type 0x04, EOM, length 49, SPID 0, id 1
    0x00, 0x00, 0x1F, 0x00, 0x06,                    // 8: VERSION at 31, 6 bytes
    0x01, 0x00, 0x25, 0x00, 0x01,                    // 13: ENCRYPTION at 37, 1 byte
    0x02, 0x00, 0x26, 0x00, 0x01,                    // 18: INSTOPT at 38, 1 byte
    0x03, 0x00, 0x27, 0x00, 0x00,                    // 23: THREADID at 39, 0 bytes
    0x04, 0x00, 0x27, 0x00, 0x01,                    // 28: MARS at 39, 1 byte
    0x06, 0x00, 0x28, 0x00, 0x01,                    // 33: FEDAUTHREQUIRED at 40, 1 byte
    0xFF,                                            // 38: terminator
    0x10, 0x00, 0x10, 0x09, 0x00, 0x00,              // 39: 16.0.4105.0
    0x02, 0x00, 0x00, 0x00};                         // 45: NOT_SUP, "", MARS off, no fedauth

// A header whose length (7) is shorter than the header itself.
const std::vector<std::uint8_t> kShortLengthHeader = {0x04, 0x01, 0x00, 0x07,
                                                      0x00, 0x00, 0x01, 0x00};

// A PRELOGIN packet without EOM, then a TabularResult packet: the type changes mid-message.
const std::vector<std::uint8_t> kTypeChange = {
    0x12, 0x00, 0x00, 0x09, 0x00, 0x00, 0x01, 0x00, 0xAA,   // 0: PRELOGIN, no EOM, 1 byte
    0x04, 0x01, 0x00, 0x09, 0x00, 0x00, 0x02, 0x00, 0xBB};  // 9: TabularResult, EOM, 1 byte

std::vector<std::uint8_t> sequence(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), std::uint8_t{0});
  return v;
}

}  // namespace

TEST(TdsPacket, ParsesHeaderFields) {
  auto h = parse_header(kPreloginResponsePacket);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->type, 0x04);
  EXPECT_TRUE(h->eom());
  EXPECT_EQ(h->length, 49);
  EXPECT_EQ(h->spid, 0);
  EXPECT_EQ(h->packet_id, 1);
  EXPECT_EQ(h->window, 0);
}

TEST(TdsPacket, RejectsShortHeaderAndShortLength) {
  EXPECT_FALSE(parse_header(std::span(kPreloginResponsePacket).first(7)));
  auto h = parse_header(kShortLengthHeader);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("length 7"), std::string::npos) << h.error().message;
}

TEST(TdsPacket, ReaderTakesCapturedPacket) {
  MessageReader reader;
  reader.feed(kPreloginResponsePacket);
  ASSERT_TRUE(reader.has_message());
  Message m = reader.take();
  EXPECT_EQ(m.type, 0x04);
  EXPECT_EQ(m.packets, 1);
  EXPECT_EQ(m.payload.size(), 41u);
  EXPECT_EQ(m.payload.front(), 0x00);
  EXPECT_FALSE(reader.has_message());
  EXPECT_EQ(reader.pending_bytes(), 0u);
}

TEST(TdsPacket, FrameSplitsAndSetsEomOnLast) {
  const auto payload = sequence(100);
  const auto wire = frame(PacketType::Login7, payload, 32, 5);
  // 24 payload bytes per 32-byte packet: 4 full packets and one of 4 bytes.
  ASSERT_EQ(wire.size(), 100u + 5 * kHeaderSize);
  for (std::size_t i = 0, at = 0; i < 5; ++i) {
    auto h = parse_header(std::span(wire).subspan(at));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, 0x10);
    EXPECT_EQ(h->packet_id, 5 + i);
    EXPECT_EQ(h->eom(), i == 4);
    at += h->length;
  }
}

TEST(TdsPacket, FrameOfEmptyPayloadIsOneHeader) {
  const auto wire = frame(PacketType::Attention, {});
  const std::vector<std::uint8_t> expected = {0x06, 0x01, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00};
  EXPECT_EQ(wire, expected);
}

TEST(TdsPacket, ReassemblesAcrossEverySplitPoint) {
  const auto payload = sequence(100);
  const auto wire = frame(PacketType::TabularResult, payload, 32);
  for (std::size_t split = 0; split <= wire.size(); ++split) {
    MessageReader reader;
    reader.feed(std::span(wire).first(split));
    EXPECT_EQ(reader.has_message(), split == wire.size()) << split;
    reader.feed(std::span(wire).subspan(split));
    ASSERT_TRUE(reader.has_message()) << split;
    Message m = reader.take();
    EXPECT_EQ(m.payload, payload) << split;
    EXPECT_EQ(m.packets, 5);
    EXPECT_FALSE(reader.failed());
  }
}

TEST(TdsPacket, ReassemblesByteByByteAndReportsPendingHeader) {
  const auto payload = sequence(40);
  const auto wire = frame(PacketType::Prelogin, payload, 4096);
  MessageReader reader;
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
    reader.feed(std::span(wire).subspan(i, 1));
    EXPECT_EQ(reader.pending_header().has_value(), i + 1 >= kHeaderSize);
  }
  EXPECT_EQ(reader.pending_bytes(), wire.size() - 1);
  EXPECT_EQ(reader.pending_header()->length, wire.size());
  reader.feed(std::span(wire).last(1));
  ASSERT_TRUE(reader.has_message());
  EXPECT_EQ(reader.take().payload, payload);
  EXPECT_EQ(reader.pending_bytes(), 0u);
}

// A stalled multi-packet message: what arrived of its payload, across whole packets and into
// the one cut off, is available for diagnosis (the probe walks it as TLS records).
TEST(TdsPacket, PendingPayloadIsWhatArrivedOfTheMessage) {
  const auto payload = sequence(100);
  const auto wire = frame(PacketType::Prelogin, payload, 40);  // 32 payload bytes per packet
  for (std::size_t cut = 0; cut < wire.size(); ++cut) {
    MessageReader reader;
    reader.feed(std::span(wire).first(cut));
    ASSERT_FALSE(reader.has_message());
    const auto got = reader.pending_payload();
    // Every payload byte of the cut prefix: the wire minus the 8-byte headers it contains.
    std::size_t headers = 0;
    for (std::size_t pos = 0; pos < cut; pos += 40)
      headers += std::min<std::size_t>(kHeaderSize, cut - pos);
    const std::size_t want = cut - headers;
    ASSERT_EQ(got.size(), want) << cut;
    EXPECT_TRUE(std::equal(got.begin(), got.end(), payload.begin())) << cut;
  }
}

TEST(TdsPacket, SeveralMessagesInOneFeed) {
  auto wire = frame(PacketType::Prelogin, sequence(10));
  const auto second = frame(PacketType::TabularResult, sequence(70), 40);
  wire.insert(wire.end(), second.begin(), second.end());
  wire.push_back(0x04);  // the first byte of a third packet stays pending
  MessageReader reader;
  reader.feed(wire);
  ASSERT_TRUE(reader.has_message());
  EXPECT_EQ(reader.take().type, 0x12);
  ASSERT_TRUE(reader.has_message());
  Message m = reader.take();
  EXPECT_EQ(m.type, 0x04);
  EXPECT_EQ(m.payload, sequence(70));
  EXPECT_EQ(m.packets, 3);
  EXPECT_EQ(reader.pending_bytes(), 1u);
  EXPECT_FALSE(reader.pending_header());
}

TEST(TdsPacket, MessageOverTheLimitIsAStickyError) {
  MessageReader reader(50);
  reader.feed(frame(PacketType::TabularResult, sequence(60), 40));
  EXPECT_TRUE(reader.failed());
  EXPECT_FALSE(reader.has_message());
  EXPECT_NE(reader.error().find("50"), std::string::npos) << reader.error();
  reader.feed(frame(PacketType::TabularResult, sequence(10)));
  EXPECT_FALSE(reader.has_message());  // sticky
}

TEST(TdsPacket, HeaderLengthBelowEightFailsTheStream) {
  MessageReader reader;
  reader.feed(kShortLengthHeader);
  EXPECT_TRUE(reader.failed());
  EXPECT_NE(reader.error().find("stream offset 0"), std::string::npos) << reader.error();
}

TEST(TdsPacket, TypeChangeMidMessageFails) {
  MessageReader reader;
  reader.feed(kTypeChange);
  EXPECT_TRUE(reader.failed());
  EXPECT_FALSE(reader.has_message());
  EXPECT_NE(reader.error().find("stream offset 9"), std::string::npos) << reader.error();
}

TEST(TdsPacket, ErrorOffsetCountsEarlierMessages) {
  MessageReader reader;
  reader.feed(kPreloginResponsePacket);
  reader.feed(kShortLengthHeader);
  EXPECT_TRUE(reader.has_message());  // what completed before the error is kept
  EXPECT_NE(reader.error().find("stream offset 49"), std::string::npos) << reader.error();
}
