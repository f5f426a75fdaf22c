#include "decoders/tds/login7.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace midiag::tds;

namespace {

// MS-TDS 4.2 "Login Request", packet data after the 8-byte header (a TDS 7.2 login).
const std::vector<std::uint8_t> kMsTdsLogin7 = {
    0x88, 0x00, 0x00, 0x00,              // 0: Length 136
    0x02, 0x00, 0x09, 0x72,              // 4: TDSVersion 0x72090002 (7.2), little-endian
    0x00, 0x10, 0x00, 0x00,              // 8: PacketSize 4096
    0x00, 0x00, 0x00, 0x07,              // 12: ClientProgVer 0x07000000
    0x00, 0x01, 0x00, 0x00,              // 16: ClientPID 256
    0x00, 0x00, 0x00, 0x00,              // 20: ConnectionID
    0xE0, 0x03, 0x00, 0x00,              // 24: OptionFlags1, OptionFlags2, TypeFlags, OptionFlags3
    0x00, 0x00, 0x00, 0x00,              // 28: ClientTimeZone
    0x09, 0x04, 0x00, 0x00,              // 32: ClientLCID 0x0409
    0x5E, 0x00, 0x08, 0x00,              // 36: HostName at 94, 8 chars
    0x6E, 0x00, 0x02, 0x00,              // 40: UserName at 110, 2 chars
    0x72, 0x00, 0x00, 0x00,              // 44: Password at 114, empty
    0x72, 0x00, 0x07, 0x00,              // 48: AppName at 114, 7 chars
    0x80, 0x00, 0x00, 0x00,              // 52: ServerName at 128, empty
    0x80, 0x00, 0x00, 0x00,              // 56: Unused/Extension, empty
    0x80, 0x00, 0x04, 0x00,              // 60: CltIntName at 128, 4 chars
    0x88, 0x00, 0x00, 0x00,              // 64: Language at 136, empty
    0x88, 0x00, 0x00, 0x00,              // 68: Database at 136, empty
    0x00, 0x50, 0x8B, 0xE2, 0xB7, 0x8F,  // 72: ClientID (a MAC address)
    0x88, 0x00, 0x00, 0x00,              // 78: SSPI, empty
    0x88, 0x00, 0x00, 0x00,              // 82: AtchDBFile, empty
    0x88, 0x00, 0x00, 0x00,              // 86: ChangePassword, empty
    0x00, 0x00, 0x00, 0x00,              // 90: cbSSPILong
    's',  0,    'k',  0,    'o',  0,    's', 0, 't', 0, 'o', 0, 'v', 0, '1', 0,  // 94: "skostov1"
    's',  0,    'a',  0,                                                         // 110: "sa"
    'O',  0,    'S',  0,    'Q',  0,    'L', 0, '-', 0, '3', 0, '2', 0,          // 114: "OSQL-32"
    'O',  0,    'D',  0,    'B',  0,    'C', 0};                                 // 128: "ODBC"

// tedious 20.3.9's LOGIN7, frame 8 of fixtures/pcap/tedious-redirect-plain.pcap (encrypt=false,
// so the login travels in clear): TDS 7.4 with a feature extension (UTF-8 support).
const std::vector<std::uint8_t>
    kCapturedTediousLogin7 =
        {0xB3, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x74,  // 0: Length 179, TDSVersion 7.4
         0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 8: PacketSize 4096, ClientProgVer 0
         0x49, 0x1A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 16: ClientPID 6729, ConnectionID 0
         0xF0, 0x00, 0x00, 0x18,                          // 24: flags; 0x18 includes fExtension
         0x00, 0x00, 0x00, 0x00, 0x09, 0x04, 0x00, 0x00,  // 28: time zone, LCID 0x0409
         0x5E, 0x00, 0x02, 0x00, 0x62, 0x00, 0x01, 0x00,  // 36: HostName 94/2, UserName 98/1
         0x64, 0x00, 0x01, 0x00, 0x66, 0x00, 0x07, 0x00,  // 44: Password 100/1, AppName 102/7
         0x74, 0x00, 0x09, 0x00, 0x86, 0x00, 0x04, 0x00,  // 52: ServerName 116/9, Extension 134/4 B
         0x8A, 0x00, 0x07, 0x00, 0x98, 0x00, 0x0A, 0x00,  // 60: CltIntName 138/7, Language 152/10
         0xAC, 0x00, 0x00, 0x00,                          // 68: Database 172/0
         0x01, 0x02, 0x03, 0x04, 0x05, 0x06,              // 72: ClientID
         0xAC, 0x00, 0x00, 0x00, 0xAC, 0x00, 0x00, 0x00,  // 78: SSPI, AtchDBFile: empty
         0xAC, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 86: ChangePassword empty, cbSSPILong 0
         'v',  0,    'm',  0,                             // 94: host "vm"
         'u',  0,                                         // 98: user "u"
         0xA2, 0xA5,                                      // 100: password "p" obfuscated
         'T',  0,    'e',  0,    'd',  0,    'i',  0,    'o', 0, 'u', 0, 's', 0,  // 102: app
         '1',  0,    '2',  0,    '7',  0,    '.',  0,    '0', 0, '.', 0, '0', 0,
         '.',  0,    '1',  0,     // 116: server
         0xAC, 0x00, 0x00, 0x00,  // 134: FeatureExt at 172
         'T',  0,    'e',  0,    'd',  0,    'i',  0,    'o', 0, 'u', 0, 's', 0,  // 138: library
         'u',  0,    's',  0,    '_',  0,    'e',  0,    'n', 0, 'g', 0, 'l', 0,
         'i',  0,    's',  0,    'h',  0,     // 152
         0x0A, 0x01, 0x00, 0x00, 0x00, 0x01,  // 172: feature 0x0A (UTF-8 support), 1 byte, value 1
         0xFF};                               // 178: FeatureExt terminator

std::vector<std::uint8_t> with(std::vector<std::uint8_t> v, std::size_t at,
                               std::vector<std::uint8_t> bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) v[at + i] = bytes[i];
  return v;
}

Login7 sample() {
  Login7 l;
  l.client_pid = 4242;
  l.client_prog_version = 0x01020304;
  l.connection_id = 7;
  l.option_flags3 = 0x08;
  l.host_name = "hôte-Ω";
  l.user_name = "José";
  l.password = "pässwörd🔑";  // the key is outside the BMP: a surrogate pair on the wire
  l.app_name = "mi-diag";
  l.server_name = "sql-mi.abc123.database.windows.net";
  l.library_name = "mi-diag";
  l.language = "Français";
  l.database = "база";
  return l;
}

}  // namespace

TEST(TdsLogin7, ParsesMsTdsExample) {
  auto l = parse_login7(kMsTdsLogin7, true);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->tds_version, 0x72090002u);
  EXPECT_EQ(l->packet_size, 4096u);
  EXPECT_EQ(l->client_prog_version, 0x07000000u);
  EXPECT_EQ(l->client_pid, 256u);
  EXPECT_EQ(l->option_flags1, 0xE0);
  EXPECT_EQ(l->option_flags2, 0x03);
  EXPECT_EQ(l->host_name, "skostov1");
  EXPECT_EQ(l->user_name, "sa");
  EXPECT_EQ(l->password, "");
  EXPECT_EQ(l->app_name, "OSQL-32");
  EXPECT_EQ(l->server_name, "");
  EXPECT_EQ(l->library_name, "ODBC");
  EXPECT_EQ(l->database, "");
}

TEST(TdsLogin7, ParsesCapturedTediousLogin) {
  auto hidden = parse_login7(kCapturedTediousLogin7);
  ASSERT_TRUE(hidden) << hidden.error().message;
  EXPECT_EQ(hidden->password, "");  // never revealed unless asked
  EXPECT_EQ(hidden->tds_version, kTds74);
  EXPECT_EQ(hidden->client_pid, 6729u);
  EXPECT_EQ(hidden->host_name, "vm");
  EXPECT_EQ(hidden->user_name, "u");
  EXPECT_EQ(hidden->app_name, "Tedious");
  EXPECT_EQ(hidden->server_name, "127.0.0.1");
  EXPECT_EQ(hidden->library_name, "Tedious");
  EXPECT_EQ(hidden->language, "us_english");
  auto revealed = parse_login7(kCapturedTediousLogin7, true);
  ASSERT_TRUE(revealed);
  EXPECT_EQ(revealed->password, "p");  // tsql/tedious were run with -P p
}

TEST(TdsLogin7, PasswordObfuscationMatchesHandComputedBytes) {
  Login7 l;
  l.user_name = "u";
  l.password = "sé";
  const auto payload = build_login7(l);
  // ibPassword/cchPassword at 44: 2 characters.
  const std::size_t at = payload[44] | (payload[45] << 8);
  ASSERT_EQ(payload[46], 2);
  // 's' 0x73 -> nibbles 0x37 ^ 0xA5 = 0x92; 0x00 -> 0xA5; 'é' 0xE9 -> 0x9E ^ 0xA5 = 0x3B.
  const std::vector<std::uint8_t> expected = {0x92, 0xA5, 0x3B, 0xA5};
  EXPECT_EQ(std::vector<std::uint8_t>(payload.begin() + at, payload.begin() + at + 4), expected);
}

TEST(TdsLogin7, RoundTripsNonAsciiStrings) {
  const Login7 in = sample();
  const auto payload = build_login7(in);
  auto out = parse_login7(payload, true);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->tds_version, kTds74);
  EXPECT_EQ(out->packet_size, in.packet_size);
  EXPECT_EQ(out->client_prog_version, in.client_prog_version);
  EXPECT_EQ(out->client_pid, in.client_pid);
  EXPECT_EQ(out->connection_id, in.connection_id);
  EXPECT_EQ(out->option_flags1, in.option_flags1);
  EXPECT_EQ(out->option_flags2, in.option_flags2);
  EXPECT_EQ(out->type_flags, in.type_flags);
  EXPECT_EQ(out->option_flags3, in.option_flags3);
  EXPECT_EQ(out->host_name, in.host_name);
  EXPECT_EQ(out->user_name, in.user_name);
  EXPECT_EQ(out->password, in.password);
  EXPECT_EQ(out->app_name, in.app_name);
  EXPECT_EQ(out->server_name, in.server_name);
  EXPECT_EQ(out->library_name, in.library_name);
  EXPECT_EQ(out->language, in.language);
  EXPECT_EQ(out->database, in.database);
  EXPECT_EQ(parse_login7(payload)->password, "");
}

TEST(TdsLogin7, EveryTruncationIsAnError) {
  const auto payload = build_login7(sample());
  for (std::size_t n = 0; n < payload.size(); ++n) {
    EXPECT_FALSE(parse_login7(std::span(payload).first(n))) << "prefix of " << n << " bytes";
  }
}

TEST(TdsLogin7, OffsetsAreValidated) {
  // UserName at 130 with 4 chars ends at 138 > 136.
  auto past = parse_login7(with(kMsTdsLogin7, 40, {0x82, 0x00, 0x04, 0x00}));
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("ibUserName"), std::string::npos) << past.error().message;
  EXPECT_NE(past.error().message.find("offset 40"), std::string::npos);
  // HostName pointing into the fixed part.
  auto inside = parse_login7(with(kMsTdsLogin7, 36, {0x10, 0x00, 0x02, 0x00}));
  ASSERT_FALSE(inside);
  EXPECT_NE(inside.error().message.find("fixed part"), std::string::npos);
  // cbSSPI = 0xFFFF hands over to cbSSPILong, which claims 1 MiB.
  auto sspi =
      parse_login7(with(with(kMsTdsLogin7, 80, {0xFF, 0xFF}), 90, {0x00, 0x00, 0x10, 0x00}));
  ASSERT_FALSE(sspi);
  EXPECT_NE(sspi.error().message.find("ibSSPI"), std::string::npos);
  // Length below the fixed part, and above the payload.
  EXPECT_FALSE(parse_login7(with(kMsTdsLogin7, 0, {0x10, 0x00, 0x00, 0x00})));
  EXPECT_FALSE(parse_login7(with(kMsTdsLogin7, 0, {0x89, 0x00, 0x00, 0x00})));
  // A FeatureExt offset outside the structure.
  auto ext = parse_login7(with(kCapturedTediousLogin7, 134, {0xFF, 0x00, 0x00, 0x00}));
  ASSERT_FALSE(ext);
  EXPECT_NE(ext.error().message.find("FeatureExt"), std::string::npos);
}

TEST(TdsLogin7, Utf16HelpersReplaceMalformedInput) {
  EXPECT_EQ(from_utf16le(to_utf16le("a€😀")), "a€😀");
  EXPECT_EQ(to_utf16le("\xC3"), (std::vector<std::uint8_t>{0xFD, 0xFF}));      // cut sequence
  EXPECT_EQ(to_utf16le("\xC0\xAF"), (std::vector<std::uint8_t>{0xFD, 0xFF}));  // overlong
  const std::vector<std::uint8_t> lone_surrogate = {0x00, 0xD8, 'a', 0x00};
  EXPECT_EQ(from_utf16le(lone_surrogate),
            "\xEF\xBF\xBD"
            "a");
  const std::vector<std::uint8_t> odd = {'a', 0x00, 'b'};
  EXPECT_EQ(from_utf16le(odd), "a\xEF\xBF\xBD");
}

namespace {

// A TDS 7.1 LOGIN7 laid out by hand as SQL Server 2000's clients send it (MDAC, as in
// arkime_tds7.pcap): an 86-byte fixed part that ends after ibAtchDBFile/cchAtchDBFile, with the
// strings right after it where a 7.2 login has ibChangePassword and cbSSPILong.
std::vector<std::uint8_t> tds71_login7(std::uint32_t version) {
  std::vector<std::uint8_t> b(86, 0);
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  auto pair = [&](std::size_t at, std::size_t ib, std::size_t count) {
    b[at] = static_cast<std::uint8_t>(ib);
    b[at + 1] = static_cast<std::uint8_t>(ib >> 8);
    b[at + 2] = static_cast<std::uint8_t>(count);
    b[at + 3] = static_cast<std::uint8_t>(count >> 8);
  };
  std::vector<std::uint8_t> data;
  auto text = [&](std::size_t table_at, std::string_view s) {
    pair(table_at, 86 + data.size(), s.size());
    for (char c : s) {
      data.push_back(static_cast<std::uint8_t>(c));
      data.push_back(0);
    }
  };
  put32(4, version);
  put32(8, 4096);
  put32(12, 0x07000000);
  put32(16, 0x07B0);
  b[24] = 0xE0;
  b[25] = 0x03;
  put32(32, 0x0409);
  text(36, "LIV-VXP-007");
  text(40, "testuser");
  pair(44, 86 + data.size(), 2);  // password "ab", obfuscated: swap nibbles, XOR 0xA5
  for (std::uint8_t c :
       {std::uint8_t{0xB3}, std::uint8_t{0xA5}, std::uint8_t{0x83}, std::uint8_t{0xA5}}) {
    data.push_back(c);
  }
  text(48, "Microsoft Data Access Components");
  text(52, "217.77.3.25");
  pair(56, 86 + data.size(), 0);  // ibUnused
  text(60, "ODBC");
  text(64, "");
  text(68, "");
  for (std::size_t i = 0; i < 6; ++i) b[72 + i] = static_cast<std::uint8_t>(0x10 + i);
  pair(78, 0, 0);                 // no SSPI
  pair(82, 86 + data.size(), 0);  // no AtchDBFile
  b.insert(b.end(), data.begin(), data.end());
  put32(0, static_cast<std::uint32_t>(b.size()));
  return b;
}

}  // namespace

TEST(TdsLogin7, ParsesTds71LayoutWithItsShorterFixedPart) {
  for (std::uint32_t version : {0x71000001U, 0x71000000U, 0x70000000U, 0x07010000U}) {
    const auto payload = tds71_login7(version);
    auto l = parse_login7(payload, /*reveal_password=*/true);
    ASSERT_TRUE(l) << std::hex << version << ": " << l.error().message;
    EXPECT_EQ(l->tds_version, version);
    EXPECT_EQ(l->packet_size, 4096U);
    EXPECT_EQ(l->host_name, "LIV-VXP-007");
    EXPECT_EQ(l->user_name, "testuser");
    EXPECT_EQ(l->password, "ab");
    EXPECT_EQ(l->app_name, "Microsoft Data Access Components");
    EXPECT_EQ(l->server_name, "217.77.3.25");
    EXPECT_EQ(l->library_name, "ODBC");
    EXPECT_EQ(l->database, "");
  }
  // The same bytes claiming TDS 7.4: the strings at 86 now overlap the 94-byte fixed part.
  auto as74 = parse_login7(tds71_login7(kTds74));
  ASSERT_FALSE(as74);
  EXPECT_NE(as74.error().message.find("overlaps the 94-byte fixed part"), std::string::npos)
      << as74.error().message;
}

TEST(TdsLogin7, Tds71LayoutTruncationsAndLengthsAreErrors) {
  const auto payload = tds71_login7(0x71000001);
  for (std::size_t n = 0; n < payload.size(); ++n) {
    EXPECT_FALSE(parse_login7(std::span(payload).first(n))) << "prefix of " << n << " bytes";
  }
  // Length 85: below the 86-byte 7.1 fixed part.
  auto shorter = parse_login7(with(payload, 0, {85, 0, 0, 0}));
  ASSERT_FALSE(shorter);
  EXPECT_NE(shorter.error().message.find("86"), std::string::npos) << shorter.error().message;
  // The 7.1 fixed part has no fExtension: OptionFlags3 bit 4 is ignored, not followed.
  auto flagged = parse_login7(with(payload, 27, {0x10}));
  ASSERT_TRUE(flagged) << flagged.error().message;
  EXPECT_EQ(flagged->user_name, "testuser");
}

TEST(TdsLogin7, BuilderWritesTheFixedPartOfTheVersion) {
  Login7 l;
  l.tds_version = 0x71000001;
  l.user_name = "testuser";
  l.password = "secret";
  l.server_name = "217.77.3.25";
  const auto wire = build_login7(l);
  EXPECT_EQ(wire[36], 86);  // the first string right after the 86-byte fixed part
  auto back = parse_login7(wire, /*reveal_password=*/true);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->user_name, "testuser");
  EXPECT_EQ(back->password, "secret");
  EXPECT_EQ(back->server_name, "217.77.3.25");
  EXPECT_EQ(build_login7(*back), wire);
  l.tds_version = kTds74;
  EXPECT_EQ(build_login7(l)[36], 94);
}
