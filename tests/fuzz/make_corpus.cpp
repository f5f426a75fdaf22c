// Writes the seed corpus: small valid inputs for every fuzz target, made with the decoders' own
// builders where they exist so the seeds follow the code. Usage: make_corpus <corpus-dir>
// (the fixture pcaps in corpus/pcap_fuzzer/ are copied by hand; see README.md).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/tds/login7.h"
#include "decoders/tds/packet.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"

namespace {

namespace fs = std::filesystem;
namespace tds = midiag::tds;
using Bytes = std::vector<std::uint8_t>;

fs::path g_root;
int g_written = 0;

void write(const std::string& target, const std::string& name, const Bytes& bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
  ++g_written;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
void be(Bytes& out, std::uint64_t v, int width) {
  for (int i = width; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void le(Bytes& out, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
// A vector with a big-endian length prefix of `width` bytes (TLS style).
Bytes vec(int width, const Bytes& body) {
  Bytes out;
  be(out, body.size(), width);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
Bytes text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// ---------------------------------------------------------------- TDS

tds::Prelogin client_prelogin() {
  tds::Prelogin p;
  tds::Version v;
  v.major = 12;  // a client advertises its library version
  v.build = 0x0100;
  p.version = v;
  p.encryption = tds::Encryption::Off;
  p.instance = "MSSQLServer";
  p.thread_id = 0x1234;
  p.mars = false;
  return p;
}

tds::Prelogin fedauth_prelogin() {
  tds::Prelogin p = client_prelogin();
  p.encryption = tds::Encryption::On;
  p.instance = "";
  p.fedauth_required = true;
  p.trace_id = Bytes(36, 0x5A);
  p.nonce = Bytes(32, 0xA5);
  return p;
}

// Server answer as SQL Server 2022 sends it: VERSION 16.0.4105.0, ENCRYPTION, INSTOPT (a single
// NUL), empty THREADID, MARS, FEDAUTHREQUIRED.
Bytes server_prelogin(tds::Encryption e) {
  Bytes out;
  const std::uint8_t opts[][2] = {{0x00, 6}, {0x01, 1}, {0x02, 1}, {0x03, 0}, {0x04, 1}, {0x06, 1}};
  std::size_t offset = 6 * 5 + 1;
  for (const auto& o : opts) {
    out.push_back(o[0]);
    be(out, offset, 2);
    be(out, o[1], 2);
    offset += o[1];
  }
  out.push_back(0xFF);
  out.insert(out.end(), {16, 0, 0x10, 0x09, 0, 0});  // 16.0 build 4105 (BE) sub 0 (LE)
  out.push_back(static_cast<std::uint8_t>(e));
  out.push_back(0);  // INSTOPT: "" (the instance matched)
  out.push_back(0);  // MARS off
  out.push_back(0);  // FEDAUTHREQUIRED off
  return out;
}

tds::Login7 login7() {
  tds::Login7 l;
  l.client_pid = 4242;
  l.host_name = "client-vm";
  l.user_name = "u";
  l.password = "p@ssw0rd";
  l.app_name = "mi-diag";
  l.server_name = "myinstance.public.abc123.database.windows.net,3342";
  l.library_name = "mi-diag";
  l.language = "us_english";
  l.database = "master";
  return l;
}

tds::Login7 login7_unicode() {
  tds::Login7 l;
  l.option_flags3 = 0x10;  // fExtension: the builder drops it (no FeatureExt)
  l.host_name = "Zürich-ΑΒΓ";
  l.user_name = "us\xF0\x9F\x98\x80r";  // a surrogate pair in UTF-16
  l.database = "";
  return l;
}

Bytes login_redirect_response() {
  tds::Routing r;
  r.port = 11002;
  r.server = "myinstance.abc123.database.windows.net";
  tds::LoginAck ack;
  ack.interface = 1;
  ack.tds_version = tds::kTds74;
  ack.prog_name = "Microsoft SQL Server";
  ack.major = 16;
  ack.build_hi = 0x10;
  ack.build_lo = 0x09;
  tds::Done done;
  done.token = 0xFD;
  return cat({tds::build_loginack(ack), tds::build_envchange_routing(r), tds::build_done(done)});
}

Bytes login_ok_response() {
  tds::Routing r;
  r.enhanced = true;
  r.port = 1433;
  r.server = "node1\\inst";
  r.database = "master";
  tds::ServerMessage info;
  info.number = 5701;
  info.state = 2;
  info.message = "Changed database context to 'master'.";
  info.server_name = "node1";
  info.line = 1;
  tds::LoginAck ack;
  ack.interface = 1;
  ack.tds_version = tds::kTds74;
  ack.prog_name = "Microsoft SQL Server";
  tds::Done done;
  Bytes returnstatus = {0x79, 0, 0, 0, 0};                     // RETURNSTATUS 0
  Bytes featureextack = {0xAE, 0x0A, 1, 0, 0, 0, 0x01, 0xFF};  // FEATUREEXTACK: one feature
  return cat({tds::build_envchange_database("master", "tempdb"), tds::build_server_message(info),
              tds::build_loginack(ack), featureextack, tds::build_envchange_routing(r),
              returnstatus, tds::build_done(done)});
}

Bytes login_failed_response() {
  tds::ServerMessage err;
  err.is_error = true;
  err.number = 18456;
  err.state = 1;
  err.severity = 14;
  err.message = "Login failed for user 'u'.";
  err.server_name = "gateway";
  err.line = 1;
  tds::Done done;
  done.status = 0x0002;  // DONE_ERROR
  return cat({tds::build_server_message(err), tds::build_done(done)});
}

// ---------------------------------------------------------------- TLS

Bytes extension(std::uint16_t type, const Bytes& data) {
  Bytes out;
  be(out, type, 2);
  return cat({out, vec(2, data)});
}

Bytes handshake(std::uint8_t type, const Bytes& body) {
  Bytes out{type};
  return cat({out, vec(3, body)});
}

Bytes record(std::uint8_t content_type, const Bytes& fragment, std::uint16_t version = 0x0303) {
  Bytes out{content_type};
  be(out, version, 2);
  return cat({out, vec(2, fragment)});
}

Bytes client_hello() {
  Bytes body;
  be(body, 0x0303, 2);
  body.insert(body.end(), 32, 0x11);            // random
  body = cat({body, vec(1, Bytes(32, 0x22))});  // legacy session id
  body = cat({body, vec(2, {0x13, 0x01, 0x13, 0x02, 0xC0, 0x2F, 0xC0, 0x30})});  // suites
  body = cat({body, vec(1, {0x00})});  // compression: null
  const Bytes sni = vec(2, cat({Bytes{0x00}, vec(2, text("myinstance.database.windows.net"))}));
  const Bytes alpn = vec(2, cat({vec(1, text("tds/8.0")), vec(1, text("h2"))}));
  const Bytes versions = vec(1, {0x03, 0x04, 0x03, 0x03});
  const Bytes exts = cat({extension(0, sni), extension(16, alpn), extension(43, versions),
                          extension(10, vec(2, {0x00, 0x1D}))});
  body = cat({body, vec(2, exts)});
  return record(22, handshake(1, body), 0x0301);
}

Bytes server_flight_tls12() {
  Bytes hello;
  be(hello, 0x0303, 2);
  hello.insert(hello.end(), 32, 0x33);
  hello = cat({hello, vec(1, Bytes(32, 0x44)), Bytes{0xC0, 0x30, 0x00}});
  hello = cat({hello, vec(2, extension(16, vec(2, vec(1, text("tds/8.0")))))});
  const Bytes cert = {0x30, 0x03, 0x02, 0x01, 0x01};  // a stand-in DER SEQUENCE
  const Bytes certificate = vec(3, vec(3, cert));
  // ServerHello + Certificate in one record, ServerHelloDone split across two records.
  const Bytes msgs = cat({handshake(2, hello), handshake(11, certificate)});
  const Bytes done = handshake(14, {});
  return cat({record(22, msgs), record(22, Bytes(done.begin(), done.begin() + 2)),
              record(22, Bytes(done.begin() + 2, done.end())), record(20, {0x01}),
              record(22, Bytes(40, 0x99)), record(21, {0x02, 0x28}), record(23, Bytes(24, 0x77))});
}

Bytes server_hello_tls13() {
  Bytes hello;
  be(hello, 0x0303, 2);
  hello.insert(hello.end(), 32, 0x55);
  hello = cat({hello, vec(1, Bytes(32, 0x66)), Bytes{0x13, 0x01, 0x00}});
  hello = cat({hello, vec(2, extension(43, {0x03, 0x04}))});
  return cat({record(22, handshake(2, hello)), record(20, {0x01}), record(23, Bytes(50, 0x88))});
}

// ---------------------------------------------------------------- DNS

Bytes dns_name(std::string_view dotted) {
  Bytes out;
  while (!dotted.empty()) {
    const auto dot = dotted.find('.');
    const auto label = dotted.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  out.push_back(0);
  return out;
}

Bytes dns_header(std::uint16_t flags, std::uint16_t qd, std::uint16_t an) {
  Bytes out;
  for (std::uint16_t v : {std::uint16_t{0xBEEF}, flags, qd, an, std::uint16_t{0}, std::uint16_t{0}})
    be(out, v, 2);
  return out;
}

Bytes rr(const Bytes& owner, std::uint16_t type, std::uint32_t ttl, const Bytes& rdata) {
  Bytes out = owner;
  be(out, type, 2);
  be(out, 1, 2);  // IN
  be(out, ttl, 4);
  return cat({out, vec(2, rdata)});
}

// myinstance.abc.database.windows.net -> CNAME tr1.westeurope1-a.control.database.windows.net
// -> A 10.0.0.4, with compression pointers into the question.
Bytes dns_cname_response() {
  const Bytes question = cat({dns_name("myinstance.abc.database.windows.net"), Bytes{0, 1, 0, 1}});
  const Bytes to_qname = {0xC0, 12};  // pointer to the question name at offset 12
  // "tr1.westeurope1-a.control" + pointer to "database.windows.net" (offset 12 + 1+10 + 1+3).
  Bytes target = dns_name("tr1.westeurope1-a.control");
  target.back() = 0xC0;  // the root label becomes a pointer
  target.push_back(12 + 11 + 4);
  const std::size_t target_at = 12 + question.size() + to_qname.size() + 10;
  const Bytes to_target = {0xC0, static_cast<std::uint8_t>(target_at)};
  return cat({dns_header(0x8180, 1, 2), question, rr(to_qname, 5, 300, target),
              rr(to_target, 1, 60, {10, 0, 0, 4})});
}

Bytes dns_aaaa_response() {
  const Bytes question = cat({dns_name("host.example"), Bytes{0, 28, 0, 1}});
  Bytes v6 = {0x20, 0x01, 0x0d, 0xb8};
  v6.resize(16, 0);
  v6[15] = 1;
  return cat({dns_header(0x8580, 1, 2), question, rr({0xC0, 12}, 28, 30, v6),
              rr({0xC0, 12}, 1, 0x80000000u, {192, 0, 2, 1})});
}

Bytes dns_nxdomain() {
  return cat({dns_header(0x8183, 1, 0), dns_name("nope.example"), Bytes{0, 1, 0, 1}});
}

// ---------------------------------------------------------------- pcap

// IPv4 + TCP SYN with an MSS option, 127.0.0.1:50000 -> 127.0.0.1:1433.
Bytes ipv4_syn() {
  Bytes tcp;
  be(tcp, 50000, 2);
  be(tcp, 1433, 2);
  be(tcp, 1000, 4);     // seq
  be(tcp, 0, 4);        // ack
  tcp.push_back(0x60);  // data offset 6 words
  tcp.push_back(0x02);  // SYN
  be(tcp, 65535, 2);
  be(tcp, 0, 4);                                    // checksum, urgent
  tcp.insert(tcp.end(), {0x02, 0x04, 0xFF, 0xD7});  // MSS 65495
  Bytes ip = {0x45, 0x00};
  be(ip, 20 + tcp.size(), 2);
  ip.insert(ip.end(), {0x00, 0x01, 0x40, 0x00, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1});
  return cat({ip, tcp});
}

Bytes pcapng_block(std::uint32_t type, const Bytes& body) {
  Bytes padded = body;
  while (padded.size() % 4 != 0) padded.push_back(0);
  Bytes out;
  const std::size_t total = 12 + padded.size();
  le(out, type, 4);
  le(out, total, 4);
  out.insert(out.end(), padded.begin(), padded.end());
  le(out, total, 4);
  return out;
}

Bytes tiny_pcapng() {
  Bytes shb;
  le(shb, 0x1A2B3C4D, 4);
  le(shb, 1, 2);
  le(shb, 0, 2);
  le(shb, 0xFFFFFFFFFFFFFFFFULL, 8);  // section length unknown
  Bytes idb;
  le(idb, 101, 2);  // LINKTYPE_RAW
  le(idb, 0, 2);
  le(idb, 65535, 4);
  le(idb, 9, 2);  // if_tsresol = 9 (nanoseconds)
  le(idb, 1, 2);
  idb.insert(idb.end(), {9, 0, 0, 0});
  le(idb, 0, 4);  // opt_endofopt
  const Bytes frame = ipv4_syn();
  Bytes epb;
  le(epb, 0, 4);           // interface 0
  le(epb, 0x0005F5E1, 4);  // timestamp high
  le(epb, 0, 4);           // timestamp low
  le(epb, frame.size(), 4);
  le(epb, frame.size(), 4);
  epb.insert(epb.end(), frame.begin(), frame.end());
  return cat({pcapng_block(0x0A0D0D0A, shb), pcapng_block(1, idb), pcapng_block(6, epb)});
}

// ---------------------------------------------------------------- reports

// Strings that attack terminals and tickets: clear screen, set title, a forged green OK line, a
// code-fence breakout into raw HTML, a table row split, bytes that are not UTF-8, C1 CSI.
const std::string kHostile =
    "\x1b[2J\x1b]0;pwned\x07\n\x1b[32mOK\x1b[0m ```\n</details><script>x</script>| a | b "
    "|\xff\xc2\x9b";

// report_fuzzer input: flags, then PRELOGIN, token stream and strings separated by "@@@".
Bytes report_seed(std::uint8_t flags, const Bytes& prelogin, const Bytes& tokens,
                  std::initializer_list<std::string_view> strings) {
  Bytes out{flags};
  const Bytes sep = text("@@@");
  out = cat({out, prelogin, sep, tokens});
  for (auto s : strings) out = cat({out, sep, text(s)});
  return out;
}

Bytes hostile_prelogin() {
  tds::Prelogin p;
  p.version = tds::Version{16, 0, 4105, 0, {}};
  p.encryption = tds::Encryption::On;
  p.instance = kHostile;
  return tds::build_prelogin(p);
}

Bytes hostile_routing_response() {
  tds::Routing r;
  r.port = 11042;
  r.server = "node|1\n" + kHostile + "\\inst";
  tds::Done done;
  return cat({tds::build_envchange_routing(r), tds::build_done(done)});
}

Bytes hostile_error_response() {
  tds::ServerMessage err;
  err.is_error = true;
  err.number = 18456;
  err.severity = 14;
  err.message = "Login failed." + kHostile;
  tds::Done done;
  done.status = 0x0002;
  return cat({tds::build_server_message(err), tds::build_done(done)});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  g_root = argv[1];

  write("prelogin_fuzzer", "client_request", tds::build_prelogin(client_prelogin()));
  write("prelogin_fuzzer", "client_request_fedauth", tds::build_prelogin(fedauth_prelogin()));
  write("prelogin_fuzzer", "server_response_off", server_prelogin(tds::Encryption::Off));
  write("prelogin_fuzzer", "server_response_req", server_prelogin(tds::Encryption::Req));

  write("login7_fuzzer", "login7", tds::build_login7(login7()));
  write("login7_fuzzer", "login7_unicode", tds::build_login7(login7_unicode()));

  write("tokens_fuzzer", "loginack_routing_done", login_redirect_response());
  write("tokens_fuzzer", "login_ok_enhanced_routing", login_ok_response());
  write("tokens_fuzzer", "login_failed", login_failed_response());

  const Bytes prelogin = tds::build_prelogin(client_prelogin());
  const Bytes login = tds::build_login7(login7());
  write("tds_packet_fuzzer", "client_stream",
        cat({tds::frame(tds::PacketType::Prelogin, prelogin),
             tds::frame(tds::PacketType::Login7, login, 64, 1)}));
  write("tds_packet_fuzzer", "server_stream",
        cat({tds::frame(tds::PacketType::TabularResult, server_prelogin(tds::Encryption::Off)),
             tds::frame(tds::PacketType::TabularResult, login_redirect_response(), 40)}));
  write("tds_packet_fuzzer", "login_failed",
        tds::frame(tds::PacketType::TabularResult, login_failed_response(), 512));

  write("tls_records_fuzzer", "client_hello", client_hello());
  write("tls_records_fuzzer", "server_flight_tls12", server_flight_tls12());
  write("tls_records_fuzzer", "server_hello_tls13", server_hello_tls13());

  write("dns_message_fuzzer", "cname_chain_a", dns_cname_response());
  write("dns_message_fuzzer", "aaaa_and_a", dns_aaaa_response());
  write("dns_message_fuzzer", "nxdomain", dns_nxdomain());

  write("pcap_fuzzer", "tiny.pcapng", tiny_pcapng());
  write("pcap_fuzzer", "raw_frame_ipv4_syn", cat({Bytes{2}, ipv4_syn()}));  // 2 -> LINKTYPE_RAW

  // flags: 0x01 dummy credentials, 0x02 a failed stage (0x04 TLS, else login; 0x08 timed out),
  // 0x10 TLS facts (0x20 name matches, 0x40 trusted), 0x80 the redirect port open.
  write("report_fuzzer", "healthy_redirect",
        report_seed(0x70, server_prelogin(tds::Encryption::Off), login_redirect_response(), {}));
  write("report_fuzzer", "hostile_login_error",
        report_seed(0x10, hostile_prelogin(), hostile_error_response(),
                    {"", "ECDHE", "h2", kHostile, "CN = " + kHostile, "CN = CA", "*.x" + kHostile,
                     "\xff\xfe", kHostile}));
  write("report_fuzzer", "hostile_routing",
        report_seed(
            0x10, hostile_prelogin(), hostile_routing_response(),
            {"", "", "", "", "", "", "", "", kHostile, kHostile, kHostile, kHostile, kHostile}));
  write("report_fuzzer", "hostile_tls_failure",
        report_seed(0x0e, server_prelogin(tds::Encryption::Req), Bytes{}, {kHostile}));

  std::printf("make_corpus: wrote %d seeds under %s\n", g_written, g_root.c_str());
  return 0;
}
