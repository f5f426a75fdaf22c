#include "decoders/tds/tokens.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "decoders/tds/login7.h"

using namespace midiag::tds;

namespace {

// Gateway's login response, frame 9 of fixtures/pcap/tedious-redirect-plain.pcap:
// LOGINACK + ENVCHANGE 20 (routing to 127.0.0.1:21042) + DONE.
const std::vector<std::uint8_t> kRedirectResponse = {
    0xAD, 0x32, 0x00,        // 0: LOGINACK, length 50
    0x01,                    // 3: interface SQL_TSQL
    0x74, 0x00, 0x00, 0x04,  // 4: TDS 7.4, big-endian
    0x14,                    // 8: ProgName, 20 characters
    'M', 0, 'i', 0, 'c', 0, 'r', 0, 'o', 0, 's', 0, 'o', 0, 'f', 0, 't', 0, ' ', 0, 'S', 0, 'Q', 0,
    'L', 0, ' ', 0, 'S', 0, 'e', 0, 'r', 0, 'v', 0, 'e', 0, 'r', 0, 0x10, 0x00, 0x10,
    0x09,              // 49: version 16.0, build
                       // 0x10 0x09 = 4105
    0xE3, 0x1C, 0x00,  // 53: ENVCHANGE, length 28
    0x14,              // 56: type 20, routing
    0x17, 0x00,        // 57: RoutingDataValueLength 23
    0x00,              // 59: protocol 0 = TCP
    0x32, 0x52,        // 60: ProtocolProperty: port 0x5232 = 21042, little-endian
    0x09, 0x00,        // 62: AlternateServer, 9 characters
    '1', 0, '2', 0, '7', 0, '.', 0, '0', 0, '.', 0, '0', 0, '.', 0, '1', 0, 0x00,
    0x00,                                             // 82: old value, empty
    0xFD, 0x00, 0x00, 0x00, 0x00,                     // 84: DONE, status 0, curcmd 0
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};  // 89: row count 0
const std::set<std::size_t> kRedirectTokenStarts = {0, 53, 84, 97};

// Node's login response, frame 21 of the same capture: ENVCHANGE 1 (database) first.
const std::vector<std::uint8_t> kNodeResponse = {
    0xE3, 0x1B, 0x00, 0x01,  // 0: ENVCHANGE, length 27, type 1
    0x06, 'm',  0,    'a',  0,    's',  0,    't',  0,    'e',  0,    'r',  0,  // 4: new "master"
    0x06, 'm',  0,    'a',  0,    's',  0,    't',  0,    'e',  0,    'r',  0,  // 17: old "master"
    0xAD, 0x32, 0x00, 0x01, 0x74, 0x00, 0x00, 0x04, 0x14,  // 30: LOGINACK as above
    'M',  0,    'i',  0,    'c',  0,    'r',  0,    'o',  0,    's',  0,    'o',  0,    'f',
    0,    't',  0,    ' ',  0,    'S',  0,    'Q',  0,    'L',  0,    ' ',  0,    'S',  0,
    'e',  0,    'r',  0,    'v',  0,    'e',  0,    'r',  0,    0x10, 0x00, 0x10, 0x09, 0xFD,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};  // DONE

// A rejected login, frame 13 of fixtures/pcap/tsql-login-failed.pcap.
const std::vector<std::uint8_t> kLoginFailed = {
    0xAA, 0x48, 0x00,        // 0: ERROR, length 72
    0x18, 0x48, 0x00, 0x00,  // 3: number 0x4818 = 18456
    0x01, 0x0E,              // 7: state 1, class 14
    0x1A, 0x00,              // 9: message, 26 characters
    'L', 0, 'o', 0, 'g', 0, 'i', 0, 'n', 0, ' ', 0, 'f', 0, 'a', 0, 'i', 0, 'l', 0, 'e', 0, 'd', 0,
    ' ', 0, 'f', 0, 'o', 0, 'r', 0, ' ', 0, 'u', 0, 's', 0, 'e', 0, 'r', 0, ' ', 0, '\'', 0, 'u', 0,
    '\'', 0, '.', 0, 0x03, 'm', 0, 'i', 0, '1', 0,  // 63: server name
                                                    // "mi1"
    0x00,                                           // 70: procedure name, empty
    0x01, 0x00, 0x00, 0x00,                         // 71: line 1
    0xFD, 0x02, 0x00, 0x00, 0x00,                   // 75: DONE, status 0x0002 (error), curcmd 0
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

// Built by hand per MS-TDS 2.2.7.9: routing to a named instance "node1.abc\inst", port 11000.
const std::vector<std::uint8_t> kRoutingToInstance = {
    0xE3, 0x26, 0x00,  // 0: ENVCHANGE, length 38 = type 1 + 2 + value 33 + old 2
    0x14, 0x21, 0x00,  // 3: type 20, RoutingDataValueLength 33 = 1 + 2 + 2 + 28
    0x00, 0xF8, 0x2A,  // 6: TCP, port 0x2AF8 = 11000
    0x0E, 0x00,        // 9: 14 characters
    'n',  0,    'o',  0, 'd', 0, 'e', 0, '1', 0, '.', 0, 'a',  0,   'b', 0,
    'c',  0,    '\\', 0, 'i', 0, 'n', 0, 's', 0, 't', 0, 0x00, 0x00};  // 39: old value

// Built by hand: ENVCHANGE type 21 (enhanced routing) to node2:11002, database "appdb".
const std::vector<std::uint8_t> kEnhancedRouting = {
    0xE3, 0x20, 0x00,  // 0: ENVCHANGE, length 32 = type 1 + 2 + value 27 + old 2
    0x15, 0x1B, 0x00,  // 3: type 21, value length 27 = 1 + 2 + (2 + 10) + (2 + 10)
    0x00, 0xFA, 0x2A,  // 6: TCP, port 11002
    0x05, 0x00, 'n',  0, 'o', 0, 'd', 0, 'e', 0, '2', 0,  // 9: server "node2"
    0x05, 0x00, 'a',  0, 'p', 0, 'p', 0, 'd', 0, 'b', 0,  // 21: database "appdb"
    0x00, 0x00};                                          // 33: old value

// Built by hand: an ENVCHANGE of type 99 (not in MS-TDS), then a DONE: skipped by its length.
const std::vector<std::uint8_t> kUnknownEnvChange = {
    0xE3, 0x05, 0x00, 0x63, 0x01, 0x02, 0x03, 0x04,  // 0: ENVCHANGE length 5, type 99, 4 bytes
    0xFD, 0x00, 0x00, 0x00, 0x00, 0,    0,    0,    0, 0, 0, 0, 0};

// Built by hand: INFO, collation ENVCHANGE (binary), and tokens that are skipped by length.
const std::vector<std::uint8_t> kSkippable = {
    0xAB, 0x12, 0x00, 0x45, 0x16, 0x00, 0x00, 0x01, 0x0A,  // 0: INFO len 18, 5701, state 1, class
                                                           // 10
    0x02, 0x00, 'h', 0, 'i', 0,                            // 9: message "hi"
    0x00, 0x00, 0x07, 0x00, 0x00, 0x00,                    // 15: no server, no proc, line 7
    0xE3, 0x08, 0x00, 0x07, 0x05, 0x09, 0x04, 0xD0, 0x00, 0x34, 0x00,  // 21: collation 5 bytes
    0xAE, 0x0A, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFF,         // 32: FEATUREEXTACK: 0x0A, 1 byte
    0xED, 0x02, 0x00, 0xAA, 0xBB,                           // 40: SSPI, 2 bytes
    0xEE, 0x01, 0x00, 0x00, 0x00, 0xCC,                     // 45: FEDAUTHINFO, u32 length 1
    0x79, 0x00, 0x00, 0x00, 0x00,                           // 51: RETURNSTATUS 0
    0xFE, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};  // 56: DONEPROC

// Row data has no length of its own: the walk must stop there, naming it.
const std::vector<std::uint8_t> kColMetadata = {0xFD, 0, 0, 0, 0, 0,    0,    0,
                                                0,    0, 0, 0, 0, 0x81, 0x01, 0x00};
// LOGINACK whose declared length (5) is too short for its own fields.
const std::vector<std::uint8_t> kShortLoginAck = {0xAD, 0x05, 0x00, 0x01, 0x74, 0x00, 0x00, 0x04};

// SQL Server 2000 (8.0.2039) accepting a TDS 7.1 login: arkime_tds7.pcap frame 7 after the
// 8-byte header. ENVCHANGE database, INFO 5701, ENVCHANGE collation (type 7), ENVCHANGE language,
// INFO 5703, LOGINACK 0x71000001, ENVCHANGE packet size, DONE. Before TDS 7.2 the INFO line
// number is a u16 and DONE's row count a u32 (an 8-byte DONE).
// clang-format off
const std::vector<std::uint8_t> kTds71LoginAck = {
    0xE3, 0x1B, 0x00, 0x01, 0x06, 0x6D, 0x00, 0x61, 0x00, 0x73, 0x00, 0x74, 0x00, 0x65, 0x00, 0x72,
    0x00, 0x06, 0x6D, 0x00, 0x61, 0x00, 0x73, 0x00, 0x74, 0x00, 0x65, 0x00, 0x72, 0x00, 0xAB, 0x6A,
    0x00, 0x45, 0x16, 0x00, 0x00, 0x02, 0x00, 0x25, 0x00, 0x43, 0x00, 0x68, 0x00, 0x61, 0x00, 0x6E,
    0x00, 0x67, 0x00, 0x65, 0x00, 0x64, 0x00, 0x20, 0x00, 0x64, 0x00, 0x61, 0x00, 0x74, 0x00, 0x61,
    0x00, 0x62, 0x00, 0x61, 0x00, 0x73, 0x00, 0x65, 0x00, 0x20, 0x00, 0x63, 0x00, 0x6F, 0x00, 0x6E,
    0x00, 0x74, 0x00, 0x65, 0x00, 0x78, 0x00, 0x74, 0x00, 0x20, 0x00, 0x74, 0x00, 0x6F, 0x00, 0x20,
    0x00, 0x27, 0x00, 0x6D, 0x00, 0x61, 0x00, 0x73, 0x00, 0x74, 0x00, 0x65, 0x00, 0x72, 0x00, 0x27,
    0x00, 0x2E, 0x00, 0x0A, 0x4A, 0x00, 0x42, 0x00, 0x2D, 0x00, 0x4D, 0x00, 0x53, 0x00, 0x41, 0x00,
    0x44, 0x00, 0x2D, 0x00, 0x30, 0x00, 0x31, 0x00, 0x00, 0x00, 0x00, 0xE3, 0x08, 0x00, 0x07, 0x05,
    0x09, 0x04, 0xD0, 0x00, 0x00, 0x00, 0xE3, 0x17, 0x00, 0x02, 0x0A, 0x75, 0x00, 0x73, 0x00, 0x5F,
    0x00, 0x65, 0x00, 0x6E, 0x00, 0x67, 0x00, 0x6C, 0x00, 0x69, 0x00, 0x73, 0x00, 0x68, 0x00, 0x00,
    0xAB, 0x6E, 0x00, 0x47, 0x16, 0x00, 0x00, 0x01, 0x00, 0x27, 0x00, 0x43, 0x00, 0x68, 0x00, 0x61,
    0x00, 0x6E, 0x00, 0x67, 0x00, 0x65, 0x00, 0x64, 0x00, 0x20, 0x00, 0x6C, 0x00, 0x61, 0x00, 0x6E,
    0x00, 0x67, 0x00, 0x75, 0x00, 0x61, 0x00, 0x67, 0x00, 0x65, 0x00, 0x20, 0x00, 0x73, 0x00, 0x65,
    0x00, 0x74, 0x00, 0x74, 0x00, 0x69, 0x00, 0x6E, 0x00, 0x67, 0x00, 0x20, 0x00, 0x74, 0x00, 0x6F,
    0x00, 0x20, 0x00, 0x75, 0x00, 0x73, 0x00, 0x5F, 0x00, 0x65, 0x00, 0x6E, 0x00, 0x67, 0x00, 0x6C,
    0x00, 0x69, 0x00, 0x73, 0x00, 0x68, 0x00, 0x2E, 0x00, 0x0A, 0x4A, 0x00, 0x42, 0x00, 0x2D, 0x00,
    0x4D, 0x00, 0x53, 0x00, 0x41, 0x00, 0x44, 0x00, 0x2D, 0x00, 0x30, 0x00, 0x31, 0x00, 0x00, 0x00,
    0x00, 0xAD, 0x36, 0x00, 0x01, 0x71, 0x00, 0x00, 0x01, 0x16, 0x4D, 0x00, 0x69, 0x00, 0x63, 0x00,
    0x72, 0x00, 0x6F, 0x00, 0x73, 0x00, 0x6F, 0x00, 0x66, 0x00, 0x74, 0x00, 0x20, 0x00, 0x53, 0x00,
    0x51, 0x00, 0x4C, 0x00, 0x20, 0x00, 0x53, 0x00, 0x65, 0x00, 0x72, 0x00, 0x76, 0x00, 0x65, 0x00,
    0x72, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x07, 0xF7, 0xE3, 0x13, 0x00, 0x04, 0x04, 0x34,
    0x00, 0x30, 0x00, 0x39, 0x00, 0x36, 0x00, 0x04, 0x34, 0x00, 0x30, 0x00, 0x39, 0x00, 0x36, 0x00,
    0xFD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
// clang-format on

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST(TdsTokens, DecodesCapturedRedirect) {
  auto ts = parse_tokens(kRedirectResponse);
  ASSERT_TRUE(ts) << ts.error().message;
  ASSERT_TRUE(ts->login_ack);
  EXPECT_EQ(ts->login_ack->interface, 1);
  EXPECT_EQ(ts->login_ack->tds_version, 0x74000004u);
  EXPECT_EQ(ts->login_ack->prog_name, "Microsoft SQL Server");
  EXPECT_EQ(ts->login_ack->major, 16);
  EXPECT_EQ((ts->login_ack->build_hi << 8) | ts->login_ack->build_lo, 4105);
  ASSERT_TRUE(ts->routing);
  EXPECT_EQ(ts->routing->protocol, 0);
  EXPECT_EQ(ts->routing->port, 21042);
  EXPECT_EQ(ts->routing->server, "127.0.0.1");
  EXPECT_EQ(ts->routing->host, "127.0.0.1");
  EXPECT_EQ(ts->routing->instance, "");
  EXPECT_FALSE(ts->routing->enhanced);
  ASSERT_EQ(ts->env_changes.size(), 1u);
  EXPECT_EQ(ts->env_changes[0].type, 20);
  ASSERT_EQ(ts->dones.size(), 1u);
  EXPECT_FALSE(ts->dones[0].error());
  EXPECT_EQ(ts->first_error(), nullptr);
}

TEST(TdsTokens, BuildersReproduceCapturedRedirect) {
  LoginAck ack;
  ack.interface = 1;
  ack.tds_version = 0x74000004;
  ack.prog_name = "Microsoft SQL Server";
  ack.major = 16;
  ack.build_hi = 0x10;
  ack.build_lo = 0x09;
  Routing r;
  r.port = 21042;
  r.server = "127.0.0.1";
  EXPECT_EQ(concat({build_loginack(ack), build_envchange_routing(r), build_done(Done{})}),
            kRedirectResponse);
  EXPECT_EQ(concat({build_envchange_database("master", "master"), build_loginack(ack),
                    build_done(Done{})}),
            kNodeResponse);
}

TEST(TdsTokens, DecodesDatabaseChange) {
  auto ts = parse_tokens(kNodeResponse);
  ASSERT_TRUE(ts) << ts.error().message;
  ASSERT_EQ(ts->env_changes.size(), 1u);
  EXPECT_EQ(ts->env_changes[0].type, 1);
  EXPECT_EQ(ts->env_changes[0].new_value, "master");
  EXPECT_EQ(ts->env_changes[0].old_value, "master");
  EXPECT_FALSE(ts->routing);
  EXPECT_TRUE(ts->login_ack);
}

TEST(TdsTokens, DecodesCapturedLoginFailure) {
  auto ts = parse_tokens(kLoginFailed);
  ASSERT_TRUE(ts) << ts.error().message;
  const ServerMessage* e = ts->first_error();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->number, 18456);
  EXPECT_EQ(e->state, 1);
  EXPECT_EQ(e->severity, 14);
  EXPECT_EQ(e->message, "Login failed for user 'u'.");
  EXPECT_EQ(e->server_name, "mi1");
  EXPECT_EQ(e->proc_name, "");
  EXPECT_EQ(e->line, 1u);
  ASSERT_EQ(ts->dones.size(), 1u);
  EXPECT_EQ(ts->dones[0].status, 0x0002);
  EXPECT_TRUE(ts->dones[0].error());
  EXPECT_FALSE(ts->login_ack);

  ServerMessage m = *e;
  Done d;
  d.status = 0x0002;
  EXPECT_EQ(concat({build_server_message(m), build_done(d)}), kLoginFailed);
}

TEST(TdsTokens, SplitsHostAndInstance) {
  auto ts = parse_tokens(kRoutingToInstance);
  ASSERT_TRUE(ts) << ts.error().message;
  ASSERT_TRUE(ts->routing);
  EXPECT_EQ(ts->routing->server, "node1.abc\\inst");
  EXPECT_EQ(ts->routing->host, "node1.abc");
  EXPECT_EQ(ts->routing->instance, "inst");
  EXPECT_EQ(ts->routing->port, 11000);
  Routing r;
  r.port = 11000;
  r.host = "node1.abc";
  r.instance = "inst";  // server left empty: the builder joins host and instance
  EXPECT_EQ(build_envchange_routing(r), kRoutingToInstance);
}

TEST(TdsTokens, DecodesEnhancedRouting) {
  auto ts = parse_tokens(kEnhancedRouting);
  ASSERT_TRUE(ts) << ts.error().message;
  ASSERT_TRUE(ts->routing);
  EXPECT_TRUE(ts->routing->enhanced);
  EXPECT_EQ(ts->routing->port, 11002);
  EXPECT_EQ(ts->routing->server, "node2");
  EXPECT_EQ(ts->routing->database, "appdb");
  EXPECT_EQ(ts->env_changes[0].type, 21);
  Routing r = *ts->routing;
  EXPECT_EQ(build_envchange_routing(r), kEnhancedRouting);
}

TEST(TdsTokens, SkipsUnknownEnvChangeTypeByLength) {
  auto ts = parse_tokens(kUnknownEnvChange);
  ASSERT_TRUE(ts) << ts.error().message;
  ASSERT_EQ(ts->env_changes.size(), 1u);
  EXPECT_EQ(ts->env_changes[0].type, 99);
  EXPECT_EQ(ts->env_changes[0].new_value, "");
  EXPECT_FALSE(ts->routing);
  EXPECT_EQ(ts->dones.size(), 1u);
}

TEST(TdsTokens, SkipsTokensWithAKnownLengthRule) {
  auto ts = parse_tokens(kSkippable);
  ASSERT_TRUE(ts) << ts.error().message;
  ASSERT_EQ(ts->messages.size(), 1u);
  EXPECT_FALSE(ts->messages[0].is_error);
  EXPECT_EQ(ts->messages[0].number, 5701);
  EXPECT_EQ(ts->messages[0].message, "hi");
  EXPECT_EQ(ts->messages[0].line, 7u);
  EXPECT_EQ(ts->first_error(), nullptr);
  ASSERT_EQ(ts->env_changes.size(), 1u);
  EXPECT_EQ(ts->env_changes[0].type, 7);
  EXPECT_EQ(ts->skipped_tokens, (std::vector<std::uint8_t>{0xAE, 0xED, 0xEE, 0x79}));
  ASSERT_EQ(ts->dones.size(), 1u);
  EXPECT_EQ(ts->dones[0].token, 0xFE);
}

TEST(TdsTokens, StopsAtRowDataNamingTheToken) {
  auto ts = parse_tokens(kColMetadata);
  ASSERT_FALSE(ts);
  EXPECT_NE(ts.error().message.find("COLMETADATA (0x81) token at offset 13"), std::string::npos)
      << ts.error().message;
}

TEST(TdsTokens, FieldsPastTheTokenLengthAreAnError) {
  auto ts = parse_tokens(kShortLoginAck);
  ASSERT_FALSE(ts);
  EXPECT_NE(ts.error().message.find("LOGINACK (0xAD) token at offset 0"), std::string::npos)
      << ts.error().message;
}

TEST(TdsTokens, EveryTruncationInsideATokenIsAnError) {
  for (std::size_t n = 0; n <= kRedirectResponse.size(); ++n) {
    auto ts = parse_tokens(std::span(kRedirectResponse).first(n));
    // A cut between tokens leaves a shorter, well-formed stream; anywhere else is an error.
    EXPECT_EQ(ts.ok(), kRedirectTokenStarts.count(n) == 1) << "prefix of " << n << " bytes";
    if (!ts) {
      EXPECT_NE(ts.error().message.find("token at offset"), std::string::npos);
    }
  }
  for (std::size_t n = 1; n < kLoginFailed.size(); ++n) {
    if (n == 75) continue;  // the ERROR token alone
    EXPECT_FALSE(parse_tokens(std::span(kLoginFailed).first(n))) << n;
  }
}

TEST(TdsTokens, SurvivesEverySingleByteCorruption) {
  // Not a fuzzer, but under ASan it checks every length field is bounds-checked.
  const auto base = concat({kRedirectResponse, kSkippable, kLoginFailed, kEnhancedRouting});
  for (std::size_t i = 0; i < base.size(); ++i) {
    for (std::uint8_t v : std::initializer_list<std::uint8_t>{0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF}) {
      auto bytes = base;
      bytes[i] = v;
      const auto ts = parse_tokens(bytes);
      if (ts) continue;  // many corruptions only change a value
      EXPECT_EQ(ts.error().kind, midiag::ErrorKind::Malformed);
      EXPECT_LE(ts.error().offset, bytes.size()) << ts.error().message;
      EXPECT_NE(ts.error().message.find("token at offset"), std::string::npos);
    }
  }
}

TEST(TdsTokens, BuiltMessagesRoundTrip) {
  ServerMessage info;
  info.number = 5703;
  info.state = 2;
  info.severity = 10;
  info.message = "Changed language setting to us_english — ünïcode.";
  info.server_name = "node-ß";
  info.proc_name = "sp_x";
  info.line = 99;
  Done d;
  d.token = 0xFF;
  d.status = 0x0011;
  d.cur_cmd = 0x00C1;
  d.row_count = 0x0102030405060708ULL;
  auto ts = parse_tokens(concat({build_server_message(info), build_done(d)}));
  ASSERT_TRUE(ts) << ts.error().message;
  const ServerMessage& m = ts->messages.at(0);
  EXPECT_FALSE(m.is_error);
  EXPECT_EQ(m.number, info.number);
  EXPECT_EQ(m.state, info.state);
  EXPECT_EQ(m.severity, info.severity);
  EXPECT_EQ(m.message, info.message);
  EXPECT_EQ(m.server_name, info.server_name);
  EXPECT_EQ(m.proc_name, info.proc_name);
  EXPECT_EQ(m.line, info.line);
  const Done& out = ts->dones.at(0);
  EXPECT_EQ(out.token, 0xFF);
  EXPECT_EQ(out.status, d.status);
  EXPECT_EQ(out.cur_cmd, d.cur_cmd);
  EXPECT_EQ(out.row_count, d.row_count);
}

TEST(TdsTokens, DecodesTds71LoginResponse) {
  auto ts = parse_tokens(kTds71LoginAck);
  ASSERT_TRUE(ts) << ts.error().message;
  ASSERT_TRUE(ts->login_ack);
  EXPECT_EQ(ts->login_ack->tds_version, 0x71000001u);
  EXPECT_EQ(ts->login_ack->prog_name, "Microsoft SQL Server");
  const std::uint32_t progver =
      (std::uint32_t{ts->login_ack->major} << 24) | (std::uint32_t{ts->login_ack->minor} << 16) |
      (std::uint32_t{ts->login_ack->build_hi} << 8) | ts->login_ack->build_lo;
  EXPECT_EQ(progver, 134219767u);  // 8.0.2039
  ASSERT_EQ(ts->messages.size(), 2u);
  EXPECT_EQ(ts->messages[0].number, 5701);
  EXPECT_EQ(ts->messages[0].message, "Changed database context to 'master'.");
  EXPECT_EQ(ts->messages[0].server_name, "JB-MSAD-01");
  EXPECT_EQ(ts->messages[0].line, 0u);
  EXPECT_EQ(ts->messages[1].number, 5703);
  EXPECT_FALSE(ts->messages[1].is_error);
  ASSERT_EQ(ts->env_changes.size(), 4u);
  EXPECT_EQ(ts->env_changes[0].type, 1);
  EXPECT_EQ(ts->env_changes[0].new_value, "master");
  EXPECT_EQ(ts->env_changes[1].type, 7);
  EXPECT_EQ(ts->env_changes[2].type, 2);
  EXPECT_EQ(ts->env_changes[2].new_value, "us_english");
  EXPECT_EQ(ts->env_changes[3].type, 4);
  EXPECT_EQ(ts->env_changes[3].new_value, "4096");
  EXPECT_EQ(ts->env_changes[3].old_value, "4096");
  ASSERT_EQ(ts->dones.size(), 1u);
  EXPECT_FALSE(ts->dones[0].error());
  EXPECT_EQ(ts->first_error(), nullptr);
}

TEST(TdsTokens, DoneLayoutFollowsTheTdsVersion) {
  // An 8-byte DONE (7.0/7.1) with no LOGINACK before it: the caller's version decides.
  const std::vector<std::uint8_t> done8 = {0xFD, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00};
  auto old = parse_tokens_as(done8, 0x71000001);
  ASSERT_TRUE(old) << old.error().message;
  ASSERT_EQ(old->dones.size(), 1u);
  EXPECT_TRUE(old->dones[0].error());
  EXPECT_EQ(old->dones[0].row_count, 5u);
  EXPECT_FALSE(parse_tokens(done8));  // as 7.2+: 4 bytes short
  Done d;
  d.status = 0x0002;
  d.row_count = 5;
  EXPECT_EQ(build_done(d, 0x71000001), done8);
  EXPECT_EQ(build_done(d, kTds74).size(), 13u);
  // The server's LOGINACK overrides the caller: a 7.4 client talking to a 7.1 server.
  LoginAck ack;
  ack.tds_version = 0x71000001;
  ack.prog_name = "Microsoft SQL Server";
  auto acked = parse_tokens_as(concat({build_loginack(ack), done8}), kTds74);
  ASSERT_TRUE(acked) << acked.error().message;
  EXPECT_EQ(acked->dones.at(0).row_count, 5u);
  // And a 7.4 LOGINACK keeps the 12-byte DONE even when the client asked for 7.1.
  ack.tds_version = kTds74;
  auto modern = parse_tokens_as(concat({build_loginack(ack), build_done(Done{})}), 0x71000001);
  ASSERT_TRUE(modern) << modern.error().message;
  EXPECT_EQ(modern->dones.size(), 1u);
}
