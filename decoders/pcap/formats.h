// Private: the two file-format readers behind read_capture().
#pragma once

#include <cstdint>
#include <span>

#include "decoders/common/byte_reader.h"
#include "decoders/pcap/pcap_file.h"

namespace midiag::pcap::detail {

CaptureFile read_classic(std::span<const std::uint8_t> bytes, ByteOrder order, bool nanoseconds);
CaptureFile read_pcapng(std::span<const std::uint8_t> bytes);

// Marks a capture as cut short at `offset`, explaining why.
void stop_at(CaptureFile& file, std::size_t offset, const std::string& why);

}  // namespace midiag::pcap::detail
