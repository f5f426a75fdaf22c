// Fuzzes the report path end to end: hostile server bytes -> decoders -> a probe Result and a
// redirect -> make_report -> all three renderers, which must never throw and never let a server
// break or forge the output (spec §6).
//
// Input: a flags byte, then sections separated by "@@@": [0] a PRELOGIN payload, [1] a login
// response token stream, [2..] raw strings put straight into the evidence (as a collector that
// forgot to clean them would), so the renderers are tested without the boundary's help.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "decoders/common/utf8.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"
#include "reports/report.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace midiag;

std::vector<std::string> split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  for (std::size_t at; (at = s.find(sep)) != std::string_view::npos;
       s.remove_prefix(at + sep.size()))
    out.emplace_back(s.substr(0, at));
  out.emplace_back(s);
  return out;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The renderer's own bytes may only be newlines and, with colour, ESC [ digits ; m.
bool terminal_safe(const std::string& s, bool colour) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b && colour) {
      std::size_t j = i + 1;
      if (j >= s.size() || s[j] != '[') return false;
      for (++j; j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';');) ++j;
      if (j >= s.size() || s[j] != 'm') return false;
      i = j;
      continue;
    }
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return false;
  }
  return is_valid_utf8(s);
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t nl; (nl = s.find('\n')) != std::string_view::npos; s.remove_prefix(nl + 1))
    out.push_back(s.substr(0, nl));
  if (!s.empty()) out.push_back(s);
  return out;
}

void check_text(const reports::Report& r) {
  for (bool verbose : {false, true}) {
    for (bool colour : {false, true}) {
      const auto out = reports::render_text(r, {verbose, colour});
      FUZZ_CHECK(terminal_safe(out, colour));
      if (!colour) FUZZ_CHECK(out.find('\x1b') == std::string::npos);
      if (verbose || colour || r.findings.empty()) continue;
      // One line per finding between the verdict and the first blank line.
      const auto lines = lines_of(out);
      std::size_t n = 1;
      while (n < lines.size() && !lines[n].empty()) ++n;
      FUZZ_CHECK(n - 1 == r.findings.size());
    }
  }
}

void check_markdown(const reports::Report& r) {
  const auto md = reports::render_markdown(r);
  FUZZ_CHECK(terminal_safe(md, false));
  const auto lines = lines_of(md);
  std::size_t i = 0;
  if (!r.findings.empty()) {
    while (i < lines.size() && lines[i] != "|---|---|---|") ++i;
    FUZZ_CHECK(i < lines.size());
    std::size_t rows = 0;
    for (++i; i < lines.size() && !lines[i].empty(); ++i) {
      FUZZ_CHECK(lines[i].front() == '|');
      ++rows;
    }
    FUZZ_CHECK(rows == r.findings.size());
  }
  // The full-evidence fence closes only on its own last line, right before </details>.
  while (i < lines.size() && lines[i] != "<details><summary>Full evidence</summary>") ++i;
  FUZZ_CHECK(i + 2 < lines.size());
  const std::string_view fence = lines[i + 2];
  FUZZ_CHECK(fence.size() >= 3 && fence.find_first_not_of('`') == std::string_view::npos);
  std::size_t close = i + 3;
  for (; close < lines.size(); ++close) {
    const auto& l = lines[close];
    const std::size_t indent = std::min<std::size_t>(l.find_first_not_of(' '), l.size());
    if (indent <= 3 && l.substr(indent).starts_with(fence)) break;
  }
  FUZZ_CHECK(close + 2 == lines.size());
  FUZZ_CHECK(lines[close] == fence && lines[close + 1] == "</details>");
}

void check_json(const reports::Report& r) {
  const auto out = reports::render_json(r);
  const auto j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!j.is_discarded());
  FUZZ_CHECK(j.contains("findings") && j["findings"].size() == r.findings.size());
  FUZZ_CHECK(nlohmann::json::parse(j.dump()) == j);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const auto parts =
      split(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), "@@@");
  auto part = [&](std::size_t k) -> std::string { return k < parts.size() ? parts[k] : ""; };

  tdsprobe::Result g;
  g.options.address = "10.250.2.10";
  g.options.port = 1433;
  g.options.server_name = "mi1.lab0001.database.windows.net";
  g.reached = tdsprobe::Stage::Complete;
  g.dummy_credentials = (flags & 0x01) != 0;
  if (auto p = tds::parse_prelogin(bytes_of(part(0))))
    g.prelogin = *p;
  else
    g.failure = p.error().message;
  if (auto t = tds::parse_tokens(bytes_of(part(1)))) {
    g.login_ack = t->login_ack;
    g.routing = t->routing;
    if (const auto* e = t->first_error()) g.error = *e;
    g.outcome = g.routing     ? tdsprobe::LoginOutcome::Routing
                : g.error     ? tdsprobe::LoginOutcome::Error
                : g.login_ack ? tdsprobe::LoginOutcome::LoginAck
                              : tdsprobe::LoginOutcome::None;
  } else {
    g.failure += t.error().message;
  }
  if (flags & 0x02) {  // a failed stage, in the probe's words
    g.failed_at = (flags & 0x04) ? tdsprobe::Stage::Tls : tdsprobe::Stage::Login;
    g.failure += part(2);
    g.timed_out = (flags & 0x08) != 0;
  }
  if (flags & 0x10) {  // a certificate with server-chosen names
    tdsprobe::TlsFacts t;
    t.version = "TLSv1.2";
    t.cipher = part(3);
    t.alpn = part(4);
    t.name_matches = (flags & 0x20) != 0;
    t.trusted = (flags & 0x40) != 0;
    t.verify_error = part(5);
    t.chain.push_back({part(6), part(7), {part(8), part(9)}, "", "", 0, {}});
    g.tls = t;
    g.tls_used = true;
  }
  if (!part(10).empty() && g.error) g.error->message += part(10);

  reports::Evidence ev;
  if (auto t = reports::parse_target("mi1.lab0001.database.windows.net")) ev.target = *t;
  ev.tds = g;
  if (g.routing) {
    reports::RedirectEvidence rd;
    rd.host = g.routing->host + part(11);
    rd.port = g.routing->port;
    rd.resolve_error = part(12);
    tcp::Result t;
    t.target = {"10.250.2.20", rd.port, tcp::Role::Redirect};
    t.state = (flags & 0x80) ? tcp::State::Open : tcp::State::Filtered;
    t.detail = part(13);
    rd.tcp.push_back(t);
    if (flags & 0x80) {
      auto node = g;
      node.routing.reset();
      node.outcome = tdsprobe::LoginOutcome::Error;
      rd.node_login = node;
    }
    ev.redirect = rd;
  }
  if (!part(14).empty()) ev.limitations.push_back(part(14));

  const auto report = reports::make_report("fuzz", ev);
  check_json(report);
  check_text(report);
  check_markdown(report);
  return 0;
}
