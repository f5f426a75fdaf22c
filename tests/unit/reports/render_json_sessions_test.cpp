// render_json writes sessions[] straight into the text (no JSON tree per session); it must give
// the very bytes of the tree's dump, for every optional field and for hostile strings.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "reports/report.h"

using namespace midiag;
using namespace midiag::reports;

namespace {

// Controls, quotes, backslashes, DEL, bytes that are not UTF-8 and valid multi-byte text.
const std::string kHostile = std::string("a\"b\\c\b\f\n\r\t\x01\x1f\x7f", 13) + "\xff\xfe\x9b" +
                             "\xc2\x9b" + "é漢" + std::string(1, '\0') + "z";

CaptureSession full(std::size_t index) {
  CaptureSession s;
  s.index = index;
  s.client = "10.0.0.1:50000" + kHostile;
  s.server = "10.0.0.2:1433";
  s.server_port = 1433;
  s.start = 1764460800.123456;
  s.duration_ms = 0.1 + 0.2;
  s.state = kHostile;
  s.speaks_tds = true;
  s.syn_attempts = 3;
  s.syn_retransmits = 2;
  s.syn_seconds = 3e-7;
  s.syn_ack = true;
  s.packets = 4000000000ULL;
  s.duplicates = 7;
  s.rst = CaptureReset{12.5, 250, std::uint8_t{52}, "session 2", true, 3, true, "x"};
  s.icmp = CaptureIcmp{3, 13, "10.0.0.9" + kHostile, "tcp " + kHostile, 1.5, std::nullopt};
  s.frag_needed = CaptureIcmp{3, 4, "10.0.0.8", "tcp q", 2.5, 1400U};
  s.hole = CaptureHole{1000, 1448, 2896, std::uint16_t{1460}, 3, true};
  s.bytes_to_server = 123456789012ULL;
  s.bytes_to_client = 0;
  s.server_silent_s = 5.0;
  s.dns_name = "mi1.database.windows.net" + kHostile;
  s.client_encryption = "ON";
  s.server_encryption = kHostile;
  s.server_version = "16.0.4135";
  s.instance = kHostile;
  s.fedauth_required = false;
  s.tls = true;
  s.tls_version = "TLS 1.2";
  s.tls_sni = kHostile;
  s.tls_progress = "server_hello";
  s.tls_alerts = {"handshake_failure", kHostile};
  s.tls_complete = false;
  CaptureLogin l;
  l.user = kHostile;
  l.server_name = "srv";
  l.database = "";
  l.app_name = "app";
  l.read_only_intent = true;
  l.encrypted = false;
  l.auth = "sql";
  l.outcome = "error";
  l.error_number = 18456;
  l.error_state = 1;
  l.error_class = 14;
  l.error_message = kHostile;
  l.routing_host = "node" + kHostile;
  l.routing_port = 11002;
  l.server_program = "Microsoft SQL Server";
  s.login = l;
  s.connect_ms = 1.25;
  s.prelogin_ms = -0.0;
  s.tls_ms = std::numeric_limits<double>::quiet_NaN();
  s.login_ms = 1e21;
  s.total_login_ms = 123456.789;
  s.redirect_to = 2;
  s.redirect_inferred = true;
  s.redirected_from = 9;
  return s;
}

std::string tree_text(const Report& r) {
  return to_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

TEST(RenderJsonSessions, StreamedSessionsAreTheTreesBytes) {
  Report r;
  r.evidence.packets.emplace();
  r.evidence.packets->file = "x.pcap";
  r.evidence.packets->sessions.push_back(full(1));
  r.evidence.packets->sessions.emplace_back();  // every optional empty
  CaptureSession partial = full(3);
  partial.login->error_number.reset();
  partial.login->routing_host.reset();
  partial.login->server_program.clear();
  partial.login->auth.clear();
  partial.rst->expected_ttl.reset();
  partial.tls_alerts.clear();
  partial.fedauth_required = true;
  partial.redirect_to.reset();
  r.evidence.packets->sessions.push_back(partial);
  CaptureSession no_tls = full(4);
  no_tls.tls = false;
  no_tls.login.reset();
  no_tls.client_encryption.reset();
  r.evidence.packets->sessions.push_back(no_tls);
  const std::string out = render_json(r);
  EXPECT_EQ(out, tree_text(r));
  const auto parsed = nlohmann::json::parse(out);
  ASSERT_EQ(parsed["sessions"].size(), 4U);
}
