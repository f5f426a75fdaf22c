// The redaction rules for secrets a run does not know (spec §7): table-driven positives and
// negatives per rule, the exact output for each (so over- and under-redaction both fail), the
// counts per rule and member, and hostile inputs that must stay linear and bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "reports/redact.h"

namespace midiag::reports {
namespace {

struct Case {
  std::string_view input;
  std::string_view expected;  // with [REDACTED] where a value was
  std::string_view rule;      // the one rule counted; empty: nothing may be counted
};

void run_cases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    Redactor r;
    EXPECT_EQ(r.redact_text(c.input, "m.txt"), c.expected) << "input: " << c.input;
    if (c.rule.empty()) {
      EXPECT_TRUE(r.counts().empty()) << "input: " << c.input << " counted " << r.counts()[0].rule;
    } else {
      ASSERT_EQ(r.counts().size(), 1u) << "input: " << c.input;
      EXPECT_EQ(r.counts()[0].rule, c.rule) << "input: " << c.input;
      EXPECT_EQ(r.counts()[0].member, "m.txt");
    }
  }
}

TEST(RedactRules, ConnectionStringValuesGoKeysStay) {
  run_cases({
      {"Server=tcp:mi.x.database.windows.net,1433;User ID=app;Password=S3cr;et",
       "Server=tcp:mi.x.database.windows.net,1433;User ID=app;Password=[REDACTED];et",
       "connection-string:Password"},
      // The final pair without ';'.
      {"Server=a;Pwd=hunter2", "Server=a;Pwd=[REDACTED]", "connection-string:Pwd"},
      // Keys are case-insensitive, spaces around and inside them are ignored.
      {"server=a; PASSWORD = x y z ;db=b", "server=a; PASSWORD = [REDACTED] ;db=b",
       "connection-string:Password"},
      {"Server=a;Pass word=abc;", "Server=a;Pass word=[REDACTED];", "connection-string:Password"},
      // Quoted values: doubled quotes inside, ';' inside.
      {R"(Server=a;Password="ab;c""d";Database=x)", "Server=a;Password=[REDACTED];Database=x",
       "connection-string:Password"},
      {"Server=a;Password='it''s;x';Database=x", "Server=a;Password=[REDACTED];Database=x",
       "connection-string:Password"},
      // ODBC braces, '}}' escapes '}'.
      {"Driver={ODBC Driver 18 for SQL Server};PWD={a}}b;c};UID=u",
       "Driver={ODBC Driver 18 for SQL Server};PWD=[REDACTED];UID=u", "connection-string:Pwd"},
      // JDBC.
      {"jdbc:sqlserver://mi.x.database.windows.net:1433;user=app;password=pw1;encrypt=true",
       "jdbc:sqlserver://mi.x.database.windows.net:1433;user=app;password=[REDACTED];encrypt=true",
       "connection-string:Password"},
      {"DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc+/==;EndpointSuffix=x",
       "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=[REDACTED];EndpointSuffix=x",
       "connection-string:AccountKey"},
      {"Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=q=",
       "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=[REDACTED]",
       "connection-string:SharedAccessKey"},
      {"BlobEndpoint=https://x/;SharedAccessSignature=sv=2022&sig=abc",
       "BlobEndpoint=https://x/;SharedAccessSignature=[REDACTED]",
       "connection-string:SharedAccessSignature"},
      {"Authentication=ActiveDirectoryServicePrincipal;ClientSecret=cs~1",
       "Authentication=ActiveDirectoryServicePrincipal;ClientSecret=[REDACTED]",
       "connection-string:ClientSecret"},
      {"Server=a;AccessToken=opaque", "Server=a;AccessToken=[REDACTED]",
       "connection-string:AccessToken"},
      // Inside a JSON string the bare value stops at the string's closing quote.
      {R"({"cs": "Server=a;Password=p1", "n": 1})",
       R"({"cs": "Server=a;Password=[REDACTED]", "n": 1})", "connection-string:Password"},
      // Unterminated quote or brace: the rest of that line only.
      {"Password=\"abc\nnext line", "Password=[REDACTED]\nnext line", "connection-string:Password"},
      {"PWD={abc\nnext line", "PWD=[REDACTED]\nnext line", "connection-string:Pwd"},
  });
}

TEST(RedactRules, OtherShapes) {
  run_cases({
      {"https://admin:pa55@host.example.com:8443/path",
       "https://admin:[REDACTED]@host.example.com:8443/path", "url-userinfo"},
      {"proxy http://u:p@w:rd@10.0.0.1:3128", "proxy http://u:[REDACTED]@10.0.0.1:3128",
       "url-userinfo"},
      {"https://st.blob.core.windows.net/c/b?sv=2022-11-02&se=2030&sig=AbC%2Bd%3D&sp=r",
       "https://st.blob.core.windows.net/c/b?sv=2022-11-02&se=2030&sig=[REDACTED]&sp=r", "sas-sig"},
      {"?sig=abc", "?sig=[REDACTED]", "sas-sig"},
      {"Authorization: Bearer abc.def\r\nHost: x", "Authorization: Bearer [REDACTED]\r\nHost: x",
       "authorization-header"},
      {"authorization:Basic dXNlcjpwYXNz", "authorization:Basic [REDACTED]",
       "authorization-header"},
      {"Proxy-Authorization: Negotiate YII=", "Proxy-Authorization: Negotiate [REDACTED]",
       "authorization-header"},
      {"Authorization: SharedKey acct:sig=", "Authorization: SharedKey [REDACTED]",
       "authorization-header"},
      {"Authorization: opaque-token-only", "Authorization: [REDACTED]", "authorization-header"},
      {R"({"Authorization": "Bearer x1"})", R"({"Authorization": "Bearer [REDACTED]"})",
       "authorization-header"},
      {"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_nature ok", "token [REDACTED] ok", "jwt"},
      {"unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end", "unsigned [REDACTED] end", "jwt"},
      {"-----BEGIN PRIVATE KEY-----\nMIIEv\nQIBAD\n-----END PRIVATE KEY-----\n",
       "-----BEGIN PRIVATE KEY-----\n[REDACTED]\n-----END PRIVATE KEY-----\n", "pem-private-key"},
      {"-----BEGIN RSA PRIVATE KEY-----\r\nabc\r\n-----END RSA PRIVATE KEY-----",
       "-----BEGIN RSA PRIVATE KEY-----\r\n[REDACTED]\r\n-----END RSA PRIVATE KEY-----",
       "pem-private-key"},
      {"-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED PRIVATE KEY-----",
       "-----BEGIN ENCRYPTED PRIVATE KEY-----\n[REDACTED]\n-----END ENCRYPTED PRIVATE KEY-----",
       "pem-private-key"},
      {"-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----",
       "-----BEGIN EC PRIVATE KEY-----\n[REDACTED]\n-----END EC PRIVATE KEY-----",
       "pem-private-key"},
      {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----",
       "-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED]\n-----END OPENSSH PRIVATE KEY-----",
       "pem-private-key"},
      // A BEGIN without END: a truncated key is still a key, redacted to the end of the member.
      {"-----BEGIN PRIVATE KEY-----\nMIIE\nmore\nand more",
       "-----BEGIN PRIVATE KEY-----\n[REDACTED]", "pem-private-key"},
  });
}

TEST(RedactRules, KeysNamedLikeSecrets) {
  run_cases({
      {"db_password=abc next", "db_password=[REDACTED] next", "secret-key-name"},
      {"export MSSQL_SA_PASSWORD='a b c'", "export MSSQL_SA_PASSWORD='[REDACTED]'",
       "secret-key-name"},
      {"export API_KEY=k123", "export API_KEY=[REDACTED]", "secret-key-name"},
      {"client_secret: abc def\nnext: 1", "client_secret: [REDACTED]\nnext: 1", "secret-key-name"},
      {R"({"clientSecret": "a\"b", "n": 2})", R"({"clientSecret": "[REDACTED]", "n": 2})",
       "secret-key-name"},
      {R"({"access_token":"x.y"})", R"({"access_token":"[REDACTED]"})", "secret-key-name"},
      {"--password=hunter2 --host h", "--password=[REDACTED] --host h", "secret-key-name"},
      {"X-Api-Key: abc", "X-Api-Key: [REDACTED]", "secret-key-name"},
      {"pass: x", "pass: [REDACTED]", "secret-key-name"},
      {"https://h/cb?code=1&refresh_token=rt&x=2",
       "https://h/cb?code=1&refresh_token=[REDACTED]&x=2", "secret-key-name"},
      // A numeric value is a secret for pass/pwd/secret keys (PINs are digits)...
      {"password_hint=x secret=1234", "password_hint=x secret=[REDACTED]", "secret-key-name"},
      // ...connection_string: the whole value, to the end of the line when bare.
      {"connection_string: Server=a; Database=b\nx", "connection_string: [REDACTED]\nx",
       "secret-key-name"},
  });
  // A JSON connection string: its Password first, then the whole value.
  Redactor r;
  EXPECT_EQ(r.redact_text(R"({"connection_string": "Server=a;Password=p"})", "m.json"),
            R"({"connection_string": "[REDACTED]"})");
  ASSERT_EQ(r.counts().size(), 2u);
  EXPECT_EQ(r.counts()[0].rule, "connection-string:Password");
  EXPECT_EQ(r.counts()[1].rule, "secret-key-name");
}

TEST(RedactRules, NegativesStayUntouched) {
  run_cases({
      {"mi-diag 0.1.0", "mi-diag 0.1.0", ""},
      {"version 1.2.3", "version 1.2.3", ""},
      {"OpenSSL 3.0.11 19 Sep 2023", "OpenSSL 3.0.11 19 Sep 2023", ""},
      {"12 tests passed, 0 failed", "12 tests passed, 0 failed", ""},
      {"passed: 12", "passed: 12", ""},
      // Decision: a count is not a secret. token=3, tokens=3, max_tokens: 100 stay.
      {"tokens=3 token=3 max_tokens: 100", "tokens=3 token=3 max_tokens: 100", ""},
      {R"({"token_count": 3, "token": 42})", R"({"token_count": 3, "token": 42})", ""},
      // The watch config names where the password is, not the password.
      {"password_env: MI_PW", "password_env: MI_PW", ""},
      {"password_file: /etc/mi-diag/pw", "password_file: /etc/mi-diag/pw", ""},
      {"Server=a;Password=;Database=b", "Server=a;Password=;Database=b", ""},
      {"Server=a;Password=", "Server=a;Password=", ""},
      {"password=", "password=", ""},
      {"pwdx 1234", "pwdx 1234", ""},
      {"pwdx=1", "pwdx=1", ""},
      {"TDS_LOGIN_FAILED TLS_CERT_NAME_MISMATCH", "TDS_LOGIN_FAILED TLS_CERT_NAME_MISMATCH", ""},
      {R"({"code": "DNS_PRIVATE_ZONE_MISSING", "severity": "error"})",
       R"({"code": "DNS_PRIVATE_ZONE_MISSING", "severity": "error"})", ""},
      {"sha256: 3f8a9c0e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a",
       "sha256: 3f8a9c0e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a", ""},
      {"10.0.0.4:1433 -> 10.0.1.5:11000 TDS 7.4", "10.0.0.4:1433 -> 10.0.1.5:11000 TDS 7.4", ""},
      {"fe80::1%eth0 2001:db8::5", "fe80::1%eth0 2001:db8::5", ""},
      {"https://mi.public.x.database.windows.net:3342/",
       "https://mi.public.x.database.windows.net:3342/", ""},
      {"user@host.example.com", "user@host.example.com", ""},
      {"design=signature sig", "design=signature sig", ""},
      {"Authorization", "Authorization", ""},
      {"Authorization:", "Authorization:", ""},
      {"eyJhbGciOi is not a token", "eyJhbGciOi is not a token", ""},
      {"std::string x; a == b; http://x:y", "std::string x; a == b; http://x:y", ""},
      {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
       "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", ""},
      {"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
       "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", ""},
  });
}

TEST(RedactRules, CountsPerRuleAndMember) {
  Redactor r;
  r.add_known_secret("K9!known");
  r.redact_text("Password=a;Pwd=b;Password=c;\nK9!known", "log.txt");
  r.redact_text("Password=d;\nhttps://x/?sig=z", "report.txt");
  auto get = [&](std::string_view rule, std::string_view member) -> std::size_t {
    for (const auto& c : r.counts())
      if (c.rule == rule && c.member == member) return c.count;
    return 0;
  };
  EXPECT_EQ(get("connection-string:Password", "log.txt"), 2u);
  EXPECT_EQ(get("connection-string:Pwd", "log.txt"), 1u);
  EXPECT_EQ(get("known-secret", "log.txt"), 1u);
  EXPECT_EQ(get("connection-string:Password", "report.txt"), 1u);
  EXPECT_EQ(get("sas-sig", "report.txt"), 1u);
  EXPECT_EQ(r.counts().size(), 5u);
}

TEST(RedactRules, RulesRunBeforeKnownSecretsAndNothingIsRedactedTwice) {
  Redactor r;
  r.add_known_secret("hunter2");
  EXPECT_EQ(r.redact_text("Password=hunter2; also hunter2", "m"),
            "Password=[REDACTED]; also [REDACTED]");
  ASSERT_EQ(r.counts().size(), 2u);
  EXPECT_EQ(r.counts()[0].rule, "connection-string:Password");
  EXPECT_EQ(r.counts()[1].rule, "known-secret");
  EXPECT_EQ(r.counts()[1].count, 1u);
}

TEST(RedactRules, HostileInputsStayBoundedAndCorrect) {
  Redactor r;
  const std::string semis(1 << 20, ';');
  EXPECT_EQ(r.redact_text(semis, "m"), semis);
  std::string quotes = "Password=\"" + std::string(1 << 20, 'x');  // unterminated
  EXPECT_EQ(r.redact_text(quotes, "m"), "Password=[REDACTED]");
  std::string begins;
  for (int k = 0; k < 50000; ++k) begins += "-----BEGIN ";
  EXPECT_EQ(r.redact_text(begins, "m"), begins);
  std::string schemes;
  for (int k = 0; k < 100000; ++k) schemes += "://@";
  EXPECT_EQ(r.redact_text(schemes, "m"), schemes);
  std::string keys;
  for (int k = 0; k < 100000; ++k) keys += "a a=";
  EXPECT_EQ(r.redact_text(keys, "m"), keys);
  std::string eyj;
  for (int k = 0; k < 100000; ++k) eyj += "eyJ.";
  EXPECT_EQ(r.redact_text(eyj, "m"), eyj);
  std::string braces = "PWD={" + std::string(1 << 20, '}');  // every '}}' an escape
  EXPECT_EQ(r.redact_text(braces, "m"), "PWD=[REDACTED]");
}

// A 10 MB member of realistic lines with a secret every few lines: correctness only here; the
// time (measured by hand, see the report) is printed.
TEST(RedactRules, TenMegabytesAreRedactedWhole) {
  std::string big;
  std::string expected;
  std::size_t planted = 0;
  for (std::size_t k = 0; big.size() < 10u << 20; ++k) {
    const std::string n = std::to_string(k);
    big +=
        "2026-11-30 04:19:32 probe tcp 10.0.0." + std::to_string(k % 250) + ":1433 ok rtt=1.2ms\n";
    expected +=
        "2026-11-30 04:19:32 probe tcp 10.0.0." + std::to_string(k % 250) + ":1433 ok rtt=1.2ms\n";
    if (k % 7 == 0) {
      big += "conn Server=mi;User ID=a;Password=pw" + n + ";Encrypt=yes\n";
      expected += "conn Server=mi;User ID=a;Password=[REDACTED];Encrypt=yes\n";
      ++planted;
    }
  }
  Redactor r;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string out = r.redact_text(big, "log.txt");
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("redact_text over %zu bytes: %lld ms\n", big.size(), static_cast<long long>(ms));
  EXPECT_TRUE(out == expected);
  ASSERT_EQ(r.counts().size(), 1u);
  EXPECT_EQ(r.counts()[0].count, planted);
}

}  // namespace
}  // namespace midiag::reports
