// Private: token bytes (MS-TDS 2.2.7) shared by the token parser and the token builders.
#pragma once

#include <cstdint>

namespace midiag::tds::detail::token {

enum Token : std::uint8_t {
  kTvpRow = 0x01,
  kOffset = 0x78,
  kReturnStatus = 0x79,
  kColMetadata = 0x81,
  kAltMetadata = 0x88,
  kDataClassification = 0xA3,
  kTabName = 0xA4,
  kColInfo = 0xA5,
  kOrder = 0xA9,
  kError = 0xAA,
  kInfo = 0xAB,
  kReturnValue = 0xAC,
  kLoginAck = 0xAD,
  kFeatureExtAck = 0xAE,
  kRow = 0xD1,
  kNbcRow = 0xD2,
  kAltRow = 0xD3,
  kEnvChange = 0xE3,
  kSessionState = 0xE4,
  kSspi = 0xED,
  kFedAuthInfo = 0xEE,
  kDone = 0xFD,
  kDoneProc = 0xFE,
  kDoneInProc = 0xFF,
};

constexpr std::uint8_t kEnvRouting = 20;
constexpr std::uint8_t kEnvEnhancedRouting = 21;

}  // namespace midiag::tds::detail::token
