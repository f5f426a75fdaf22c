// Fuzzes mi-diag analyze end to end: capture file bytes -> read_capture -> sessions -> TDS
// exchange -> explain -> report -> text, JSON and Markdown, which must never throw, always be
// valid (JSON parses, text has no raw control bytes) and never show a LOGIN7 password.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/analyze.h"
#include "decoders/common/utf8.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool no_raw_controls(const std::string& s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
  }
  return midiag::is_valid_utf8(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  midiag::agent::AnalyzeOptions options;
  options.file = "fuzz.pcap";
  options.flow.max_bytes_per_direction = 4096;  // reach the caps, keep memory small
  options.flow.max_sessions = 64;
  options.flow.max_packets_per_session = 64;
  auto report = midiag::agent::analyze_capture(std::span(data, size), options);
  if (!report) {
    FUZZ_CHECK(!report.error().message.empty());
    return 0;
  }
  const auto& cap = *report->evidence.packets;
  FUZZ_CHECK(cap.sessions.size() <= cap.tcp_connections);
  FUZZ_CHECK(cap.tcp_connections <= options.flow.max_sessions);
  for (const auto& s : cap.sessions) {
    if (s.redirect_to)
      FUZZ_CHECK(*s.redirect_to > s.index && *s.redirect_to <= cap.sessions.size());
    FUZZ_CHECK(s.syn_retransmits <= s.syn_attempts);
  }
  const std::string json = midiag::reports::render_json(*report);
  FUZZ_CHECK(nlohmann::json::accept(json));
  for (bool verbose : {false, true})
    FUZZ_CHECK(no_raw_controls(midiag::reports::render_text(*report, {verbose, false})));
  FUZZ_CHECK(midiag::is_valid_utf8(midiag::reports::render_markdown(*report)));
  return 0;
}
