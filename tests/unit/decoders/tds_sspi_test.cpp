// NTLMSSP inside TDS (MS-NLMP 2.2.1): the message type and flags of NEGOTIATE and CHALLENGE, the
// names of AUTHENTICATE (UTF-16 or OEM as its UNICODE flag says), SPNEGO-wrapped NTLM found by
// its signature, Kerberos told apart, and names pointing outside the message refused.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "decoders/tds/login7.h"
#include "decoders/tds/sspi.h"

using namespace midiag;
using Bytes = std::vector<std::uint8_t>;

namespace {

void le16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void le32(Bytes& b, std::size_t at, std::uint32_t v) {
  le16(b, at, static_cast<std::uint16_t>(v));
  le16(b, at + 2, static_cast<std::uint16_t>(v >> 16));
}

// An AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3): signature, type 3, six security buffers (Len u16,
// MaxLen u16, Offset u32: LM response, NT response, domain, user, workstation, session key),
// NegotiateFlags at 60, then the payload. The responses are stand-in bytes (0xEE): the decoder
// must never surface them.
Bytes authenticate(const std::string& domain, const std::string& user,
                   const std::string& workstation, bool unicode) {
  auto enc = [&](const std::string& s) {
    return unicode ? tds::to_utf16le(s) : Bytes(s.begin(), s.end());
  };
  Bytes m(64, 0);
  const std::string sig = "NTLMSSP";
  std::copy(sig.begin(), sig.end(), m.begin());  // byte 7 stays 0
  le32(m, 8, tds::kNtlmAuthenticate);
  le32(m, 60, unicode ? 0xE2888215U : 0xE2888216U);  // UNICODE bit 0 set / OEM bit 1 instead
  const Bytes lm(24, 0xEE), nt(24, 0xEE), key(16, 0xEE);
  const std::vector<Bytes> parts = {lm, nt, enc(domain), enc(user), enc(workstation), key};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    le16(m, 12 + 8 * i, static_cast<std::uint16_t>(parts[i].size()));
    le16(m, 14 + 8 * i, static_cast<std::uint16_t>(parts[i].size()));
    le32(m, 16 + 8 * i, static_cast<std::uint32_t>(m.size()));
    m.insert(m.end(), parts[i].begin(), parts[i].end());
  }
  return m;
}

}  // namespace

TEST(Sspi, AuthenticateNamesTheDomainAndUserInUtf16) {
  const auto m = tds::parse_ntlmssp(authenticate("TDSDOM", "mona", "TDSHOST", true));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->type, tds::kNtlmAuthenticate);
  EXPECT_EQ(m->domain, "TDSDOM");
  EXPECT_EQ(m->user, "mona");
  EXPECT_EQ(m->workstation, "TDSHOST");
  EXPECT_EQ(tds::ntlm_login_name(*m), "TDSDOM\\mona");
}

TEST(Sspi, OemNamesAreReadAsBytesAndMadeValidUtf8) {
  const auto m = tds::parse_ntlmssp(authenticate("D\xff", "u", "", false));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->domain, "D\xEF\xBF\xBD");  // 0xFF is no UTF-8: U+FFFD
  EXPECT_EQ(m->user, "u");
  EXPECT_EQ(tds::ntlm_login_name(*m), "D\xEF\xBF\xBD\\u");
}

TEST(Sspi, ANameOutsideTheMessageIsAnErrorWithItsOffset) {
  auto bytes = authenticate("TDSDOM", "mona", "W", true);
  le32(bytes, 40, 5000);  // UserName's offset
  const auto m = tds::parse_ntlmssp(bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Malformed);
  EXPECT_EQ(m.error().offset, 36U);
  EXPECT_NE(m.error().message.find("UserName"), std::string::npos);
  bytes.resize(50);  // the header itself cut
  EXPECT_FALSE(tds::parse_ntlmssp(bytes).ok());
  EXPECT_FALSE(tds::parse_ntlmssp(Bytes{'N', 'T', 'L', 'M'}).ok());
}

TEST(Sspi, NegotiateInsideSpnegoIsNtlmAndKerberosIsSspi) {
  // SPNEGO NegTokenInit (GSS-API 0x60 ... OID 1.3.6.1.5.5.2) around an NTLMSSP NEGOTIATE.
  Bytes spnego = {0x60, 0x40, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x36};
  Bytes negotiate = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0, 0x07, 0x82, 0x08, 0xa2};
  spnego.insert(spnego.end(), negotiate.begin(), negotiate.end());
  const auto m = tds::find_ntlmssp(spnego);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, tds::kNtlmNegotiate);
  EXPECT_EQ(m->flags, 0xa2088207U);
  EXPECT_EQ(tds::sspi_kind(spnego), "ntlm");
  // A Kerberos AP-REQ in GSS-API framing (OID 1.2.840.113554.1.2.2): no NTLMSSP in it.
  const Bytes kerberos = {0x60, 0x82, 0x01, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48,
                          0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0x6e};
  EXPECT_FALSE(tds::find_ntlmssp(kerberos));
  EXPECT_EQ(tds::sspi_kind(kerberos), "sspi");
}

TEST(Sspi, Login7CarriesItsSspiTokenAndIntegratedSecurityFlag) {
  tds::Login7 l;
  l.option_flags2 = 0x83;  // fIntSecurity
  auto wire = tds::build_login7(l);
  auto parsed = tds::parse_login7(wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->integrated_security);
  EXPECT_TRUE(parsed->sspi.empty());
  EXPECT_FALSE(parsed->fedauth);
}
