#include "decoders/common/byte_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace midiag {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A pcap record header as a little-endian capture writes it, then 2 payload bytes.
const Bytes kLittleEndianRecord = {
    0x10, 0x32, 0x54, 0x76,  // 0: ts_sec 0x76543210
    0x01, 0x00, 0x00, 0x00,  // 4: ts_usec 1
    0x02, 0x00, 0x00, 0x00,  // 8: incl_len 2
    0x40, 0x00, 0x00, 0x00,  // 12: orig_len 64
    0xAB, 0xCD,              // 16: the captured bytes
};

// A TLS-style length-prefixed vector: u16 length 3, then "abc", then one stray byte.
const Bytes kVector = {0x00, 0x03, 'a', 'b', 'c', 0xFF};

// Eight bytes that read differently in each order.
const Bytes kCounting = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

TEST(ByteReader, ReadsBigEndianByDefault) {
  ByteReader r(kCounting);
  EXPECT_EQ(r.order(), ByteOrder::Big);
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0203);
  EXPECT_EQ(r.u24(), 0x040506U);
  EXPECT_EQ(r.u16be(), 0x0708);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(ByteReader, FixedOrderReadsIgnoreTheReaderOrder) {
  ByteReader r(kCounting, ByteOrder::Little);
  EXPECT_EQ(r.u32be(), 0x01020304U);
  EXPECT_EQ(r.u32le(), 0x08070605U);
  ByteReader whole(kCounting, ByteOrder::Big);
  EXPECT_EQ(whole.u64le(), 0x0807060504030201ULL);
  ByteReader again(kCounting, ByteOrder::Little);
  EXPECT_EQ(again.u64be(), 0x0102030405060708ULL);
  ByteReader explicit_order(kCounting);
  EXPECT_EQ(explicit_order.u16(ByteOrder::Little), 0x0201);
  EXPECT_EQ(explicit_order.u16(ByteOrder::Big), 0x0304);
  EXPECT_EQ(explicit_order.u32(ByteOrder::Little), 0x08070605U);
}

TEST(ByteReader, RuntimeOrderReadsALittleEndianPcapRecord) {
  ByteReader r(kLittleEndianRecord, ByteOrder::Little);
  EXPECT_EQ(r.u32(), 0x76543210U);
  EXPECT_EQ(r.u32(), 1U);
  const std::uint32_t captured = r.u32();
  EXPECT_EQ(r.u32(), 64U);
  const auto data = r.bytes(captured);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(data.size(), 2U);
  EXPECT_EQ(data[0], 0xAB);
  EXPECT_TRUE(r.at_end());
}

TEST(ByteReader, SetOrderSwitchesMidStream) {
  ByteReader r(kLittleEndianRecord);
  EXPECT_EQ(r.u32(), 0x10325476U);  // big endian: the wrong guess
  r.set_order(ByteOrder::Little);
  EXPECT_EQ(r.order(), ByteOrder::Little);
  EXPECT_EQ(r.u32(), 1U);
  EXPECT_EQ(r.u64(), 0x0000004000000002ULL);
}

TEST(ByteReader, AReadPastTheEndFailsAndStaysFailed) {
  ByteReader r(kCounting, 100);  // the bytes sit at absolute offset 100 of some message
  EXPECT_EQ(r.u32be(), 0x01020304U);
  EXPECT_EQ(r.offset(), 104U);
  EXPECT_EQ(r.pos(), 4U);
  EXPECT_EQ(r.u64be(), 0U);  // only 4 bytes left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fail_offset(), 104U);  // where the failed read started, absolute
  EXPECT_EQ(r.remaining(), 0U);
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.rest().empty());
  // A read that would fit now still fails, and the first failure is what is remembered.
  EXPECT_EQ(r.u8(), 0);
  EXPECT_FALSE(r.skip(1));
  EXPECT_TRUE(r.bytes(1).empty());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fail_offset(), 104U);
}

TEST(ByteReader, FailOffsetIsTheCurrentOffsetWhileAllIsWell) {
  ByteReader r(kCounting, 7);
  EXPECT_EQ(r.fail_offset(), 7U);
  r.skip(3);
  EXPECT_EQ(r.fail_offset(), 10U);
  r.fail();  // a decoder that finds a bad value marks the spot itself
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fail_offset(), 10U);
}

TEST(ByteReader, EmptyInputFailsOnFirstRead) {
  ByteReader r(Bytes{}, 5);
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.u8(), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fail_offset(), 5U);
}

TEST(ByteReader, SubReaderKeepsAbsoluteOffsetsAndOrder) {
  ByteReader r(kCounting, 20, ByteOrder::Little);
  r.skip(2);
  ByteReader sub = r.sub(4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.offset(), 26U);  // the parent moved past the sub-reader's bytes
  EXPECT_EQ(sub.offset(), 22U);
  EXPECT_EQ(sub.size(), 4U);
  EXPECT_EQ(sub.order(), ByteOrder::Little);
  EXPECT_EQ(sub.u16(), 0x0403);
  EXPECT_EQ(sub.u32(), 0U);  // past the sub-reader's end, though the parent has more
  EXPECT_FALSE(sub.ok());
  EXPECT_EQ(sub.fail_offset(), 24U);
  EXPECT_TRUE(r.ok());  // the parent does not fail with its child
  EXPECT_EQ(r.u16(), 0x0807);
}

TEST(ByteReader, TooLargeSubReaderFailsBoth) {
  ByteReader r(kCounting, 10);
  r.skip(6);
  ByteReader sub = r.sub(3);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(sub.ok());
  EXPECT_EQ(r.fail_offset(), 16U);
  EXPECT_EQ(sub.fail_offset(), 16U);
  EXPECT_EQ(sub.u8(), 0);
}

TEST(ByteReader, LengthPrefixedVectors) {
  ByteReader r(kVector);
  const auto abc = r.vec(2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(abc.size(), 3U);
  EXPECT_EQ(abc[2], 'c');
  EXPECT_EQ(r.remaining(), 1U);

  ByteReader again(kVector, 50);
  ByteReader list = again.sub_vec(2);
  EXPECT_EQ(list.offset(), 52U);
  EXPECT_EQ(list.remaining(), 3U);

  // The stray 0xFF as a u8 length claims 255 bytes: fails where the vector's bytes start.
  ByteReader bad(kVector, 50);
  bad.skip(5);
  EXPECT_TRUE(bad.vec(1).empty());
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.fail_offset(), 56U);
}

TEST(ByteReader, SeekMovesWithinBoundsOnly) {
  ByteReader r(kCounting, 1000);
  r.skip(6);
  EXPECT_TRUE(r.seek(1));
  EXPECT_EQ(r.offset(), 1001U);
  EXPECT_EQ(r.u8(), 0x02);
  EXPECT_TRUE(r.seek(kCounting.size()));  // the end itself is a place, with nothing to read
  EXPECT_TRUE(r.at_end());
  EXPECT_FALSE(r.seek(kCounting.size() + 1));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fail_offset(), 1008U);
}

TEST(ByteReader, RestIsWhatIsLeft) {
  ByteReader r(kVector);
  r.skip(4);
  const auto rest = r.rest();
  ASSERT_EQ(rest.size(), 2U);
  EXPECT_EQ(rest[0], 'c');
  EXPECT_EQ(r.offset(), 4U);  // rest() does not consume
}

TEST(ByteReader, HexByteNamesBytes) {
  EXPECT_EQ(hex_byte(0x00), "0x00");
  EXPECT_EQ(hex_byte(0xAD), "0xAD");
  EXPECT_EQ(hex_byte(0xFF), "0xFF");
}

}  // namespace
}  // namespace midiag
