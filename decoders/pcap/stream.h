// A push parser for capture files (classic pcap and pcapng): the caller feeds byte chunks of any
// size and gets each frame back as a view, without a copy. Between chunks only the one record or
// block that straddles them is kept, and that is capped, so memory does not grow with the file.
// No I/O here: platform/capture/capture_file.h reads files through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/byte_reader.h"
#include "decoders/common/expected.h"
#include "decoders/pcap/duplicates.h"
#include "decoders/pcap/frame_view.h"
#include "decoders/pcap/pcap_file.h"

namespace midiag::pcap {

// The largest captured length a record may claim (tcpdump's maximum snaplen), and the largest
// record or pcapng block kept in memory: a larger claim is a broken file, never an allocation.
inline constexpr std::size_t kMaxFrameBytes = 256U * 1024U;
inline constexpr std::size_t kMaxBlockBytes = kMaxFrameBytes + 4096U;
// IDBs are small, so a hostile file could declare millions: more than this per section is broken.
inline constexpr std::size_t kMaxInterfaces = 4096;

using FrameCallback = std::function<void(const FrameView&)>;

struct StreamOptions {
  // Drop exact duplicates (DuplicateFilter) before the callback; they are counted in the stats.
  bool drop_duplicates = false;
  DuplicateOptions duplicates;
};

struct StreamStats {
  FileFormat format = FileFormat::Pcap;
  std::uint64_t frames = 0;       // frames handed to the callback
  std::uint64_t bytes = 0;        // file bytes fed
  std::uint64_t frame_bytes = 0;  // captured bytes of those frames
  std::uint64_t duplicates = 0;   // exact duplicates dropped (only with drop_duplicates)
  std::uint32_t sections = 0;     // pcapng sections (SHBs); 0 for classic pcap
  std::uint32_t interfaces = 0;   // pcapng interfaces declared in all sections; 1 for pcap
  bool truncated = false;         // reading stopped before the end: `message` says where and why
  std::string message;            // "capture cut short at byte offset N: ..." when truncated
};

class CaptureStream {
 public:
  explicit CaptureStream(FrameCallback on_frame, StreamOptions options = {});

  // Parses what `chunk` completes and calls back for each whole frame in it. Returns false once
  // reading has stopped (not a capture, or a broken structure): feeding more is then pointless.
  bool feed(std::span<const std::uint8_t> chunk);

  // The end of the input. An Error (ErrorKind::Malformed, offset 0) only when the input is not a
  // capture at all (empty, shorter than a magic number, unknown magic); otherwise the stats, with
  // `truncated` set when the file ended inside a record or broke off.
  Expected<StreamStats> finish();

  [[nodiscard]] bool stopped() const { return state_ == State::Stopped; }
  [[nodiscard]] const StreamStats& stats() const { return stats_; }

 private:
  enum class State : std::uint8_t { Magic, PcapHeader, PcapRecord, NgBlock, NgSkip, Stopped };

  struct Interface {
    std::uint32_t link_type = 0;
    std::uint32_t snaplen = 0;
    std::uint8_t tsresol = 6;  // default: microseconds
    std::int64_t tsoffset = 0;
  };

  // Consumes whole units (header, record, block) from `avail`, which starts at file offset
  // `offset_`; sets need_ to the bytes the next unit needs from its start. Returns bytes consumed.
  std::size_t parse(std::span<const std::uint8_t> avail);
  std::size_t parse_magic(std::span<const std::uint8_t> avail);
  std::size_t parse_pcap_header(std::span<const std::uint8_t> avail);
  std::size_t parse_pcap_record(std::span<const std::uint8_t> avail);
  std::size_t parse_ng_block(std::span<const std::uint8_t> avail);
  void ng_block(std::uint32_t type, ByteReader body);
  void ng_packet(std::uint32_t id, std::span<const std::uint8_t> data, std::uint32_t original,
                 std::int64_t timestamp_ns);
  void emit(const FrameView& frame);
  void stop(std::uint64_t offset, const std::string& why);
  [[nodiscard]] std::string describe_cut() const;

  FrameCallback on_frame_;
  StreamOptions options_;
  DuplicateFilter duplicates_;
  StreamStats stats_;
  State state_ = State::Magic;
  std::optional<Error> error_;  // not a capture

  std::vector<std::uint8_t> pending_;  // the one unit that straddles chunks (< need_ bytes)
  std::size_t need_ = 4;               // bytes the current unit needs from its start
  std::uint64_t offset_ = 0;           // file offset of the current unit's start
  std::uint64_t skip_left_ = 0;        // bytes of a skipped pcapng block still to pass
  std::uint64_t skip_start_ = 0;       // where that block started
  std::uint32_t skip_length_ = 0;      // and its claimed length

  ByteOrder order_ = ByteOrder::Little;
  // Classic pcap.
  bool nanoseconds_ = false;
  std::size_t record_header_ = 16;  // 24 in the modified (Kuznetzov) format
  std::uint32_t link_type_ = 0;
  // pcapng: interfaces of the current section.
  std::vector<Interface> interfaces_;
  std::int64_t last_timestamp_ns_ = 0;  // an SPB has none: it keeps the previous frame's
};

}  // namespace midiag::pcap
