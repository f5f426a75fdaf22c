// Hostile server strings through every renderer: no server can break or forge a report (spec §6).
// Each string below is one a server controls: PRELOGIN instance, ERROR message, routing host,
// certificate names, and the words OpenSSL or the probe put around them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/report.h"

using namespace midiag;
using namespace midiag::reports;

namespace {

const std::string kHost = "mi1.lab0001.database.windows.net";

// ESC [ 2 J: clear the screen.
const std::string kClearScreen = "\x1b[2J";
// OSC 0 ; title BEL: set the terminal's title.
const std::string kSetTitle = "\x1b]0;pwned\x07";
// A forged report line: a newline, then a green "OK" in SGR colours.
const std::string kForgedOk = "\n\x1b[32mOK  \x1b[0m  all good";
// 0xFF never occurs in UTF-8; 0x9B alone is a stray continuation byte.
const std::string kBadBytes = "\xff\xfe\x9b";
// U+009B (C1 CSI) correctly encoded: valid UTF-8, still a control to a terminal.
const std::string kC1Csi =
    "\xc2\x9b"
    "2J";
// Closes a code span or a fence, then raw HTML into the ticket.
const std::string kBreakout =
    "` `` ```\n```\n</details><script>alert(1)</script>\n| error | `FORGED` | x |";

const std::string kHostile = kClearScreen + kSetTitle + kForgedOk + kBadBytes + kC1Csi + kBreakout;

tdsprobe::Result gateway() {
  tdsprobe::Result r;
  r.options.address = "10.250.2.10";
  r.options.port = 1433;
  r.options.server_name = kHost;
  r.reached = tdsprobe::Stage::Complete;
  tds::Prelogin p;
  p.encryption = tds::Encryption::On;
  p.instance = "MSSQL" + kHostile;
  r.prelogin = p;
  r.tls_used = true;
  tdsprobe::TlsFacts t;
  t.version = "TLSv1.2";
  t.version_number = 0x0303;
  t.cipher = "ECDHE" + kSetTitle;
  t.alpn = kBadBytes;
  t.name_matches = false;
  t.trusted = false;
  t.verify_error = "self-signed" + kHostile;
  t.chain.push_back({"CN = " + kHostile,
                     "CN = CA" + kForgedOk,
                     {"*.evil" + kHostile, kBadBytes},
                     "2026-11-23T00:00:00Z",
                     "2026-12-23T00:00:00Z",
                     0,
                     {}});
  r.tls = t;
  return r;
}

tdsprobe::Result with_error(tdsprobe::Result r) {
  r.outcome = tdsprobe::LoginOutcome::Error;
  tds::ServerMessage m;
  m.is_error = true;
  m.number = 18456;
  m.severity = 14;
  m.message = "Login failed." + kHostile;
  r.error = m;
  return r;
}

Evidence base() {
  Evidence ev;
  ev.target = *parse_target(kHost);
  ev.started_at = "2026-01-01T00:00:00Z";
  ev.dns_ran = true;
  dns::Lookup l;
  l.resolver = "system";
  l.name = kHost;
  l.type = "A";
  l.status = dns::Status::Error;
  l.error = "odd" + kHostile;
  ev.lookups.push_back(l);
  ev.limitations.push_back("limited" + kForgedOk);
  return ev;
}

// The gateway refuses the login with a hostile message over a hostile certificate.
Evidence login_error() {
  auto ev = base();
  ev.tds = with_error(gateway());
  return ev;
}

// The gateway routes to a hostile host whose ports are filtered; the node's login fails too.
Evidence routed() {
  auto ev = base();
  auto g = gateway();
  g.outcome = tdsprobe::LoginOutcome::Routing;
  tds::Routing rt;
  rt.host = "node|1\n" + kHostile;
  rt.server = rt.host + "\\inst";
  rt.port = 11042;
  g.routing = rt;
  ev.tds = g;
  RedirectEvidence rd;
  rd.host = rt.host;
  rd.port = rt.port;
  rd.resolve_error = "cannot resolve" + kHostile;
  tcp::Result t;
  t.target = {"10.250.2.20", 11042, tcp::Role::Redirect};
  t.state = tcp::State::Filtered;
  t.detail = "silent" + kForgedOk;
  rd.addresses = {"10.250.2.20"};
  rd.tcp.push_back(t);
  ev.redirect = rd;
  return ev;
}

std::vector<std::pair<std::string, Evidence>> hostile_cases() {
  return {{"login error", login_error()}, {"routed", routed()}};
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(s.substr(start, nl - start));
  if (start < s.size()) out.push_back(s.substr(start));
  return out;
}

// Whether s is well-formed UTF-8, checked here independently of the code under test.
bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Bytes a terminal acts on: C0 other than newline, DEL, and C1 as UTF-8 (C2 80..C2 9F).
std::string terminal_controls(const std::string& s, bool allow_sgr) {
  std::string found;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b && allow_sgr) {
      // Only the renderer's own colours: ESC [ digits/semicolons m.
      std::size_t j = i + 1;
      if (j < s.size() && s[j] == '[') {
        ++j;
        while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == ';')) ++j;
        if (j < s.size() && s[j] == 'm') {
          i = j;
          continue;
        }
      }
    }
    if ((c < 0x20 && c != '\n') || c == 0x7f)
      found += "byte " + std::to_string(c) + " at " + std::to_string(i) + "; ";
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9f)
      found += "C1 at " + std::to_string(i) + "; ";
  }
  return found;
}

// What a CommonMark renderer would show as Markdown/HTML: the document with fenced blocks and
// code spans removed. Sets unclosed when a fence is still open at the end.
std::string outside_code(const std::string& md, bool& unclosed) {
  std::string out;
  char fence_char = 0;
  std::size_t fence_len = 0;
  for (const auto& line : lines_of(md)) {
    std::size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) indent = line.size();
    const bool can_fence =
        indent <= 3 && indent < line.size() && (line[indent] == '`' || line[indent] == '~');
    std::size_t run = 0;
    if (can_fence)
      while (indent + run < line.size() && line[indent + run] == line[indent]) ++run;
    if (fence_char != 0) {
      // Inside a fence: only a run of the same character, at least as long, alone, closes it.
      if (can_fence && line[indent] == fence_char && run >= fence_len &&
          line.find_first_not_of(' ', indent + run) == std::string::npos)
        fence_char = 0;
      continue;
    }
    if (can_fence && run >= 3) {
      fence_char = line[indent];
      fence_len = run;
      continue;
    }
    // Code spans: a backtick run closed by the next run of exactly the same length.
    std::string kept;
    for (std::size_t i = 0; i < line.size();) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        kept += line.substr(i, 2);
        i += 2;
        continue;
      }
      if (line[i] != '`') {
        kept += line[i++];
        continue;
      }
      std::size_t n = 0;
      while (i + n < line.size() && line[i + n] == '`') ++n;
      std::size_t close = std::string::npos;
      for (std::size_t j = i + n; j < line.size();) {
        if (line[j] != '`') {
          ++j;
          continue;
        }
        std::size_t m = 0;
        while (j + m < line.size() && line[j + m] == '`') ++m;
        if (m == n) {
          close = j;
          break;
        }
        j += m;
      }
      if (close == std::string::npos) {
        kept += line.substr(i, n);
        i += n;
      } else {
        kept += "<code/>";
        i = close + n;
      }
    }
    out += kept + "\n";
  }
  unclosed = fence_char != 0;
  return out;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t i = 0; (i = s.find(what, i)) != std::string::npos; i += what.size()) ++n;
  return n;
}

// Cell separators in a table row: pipes not escaped by a backslash.
std::size_t unescaped_pipes(const std::string& row) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (row[i] == '\\') {
      ++i;
      continue;
    }
    n += row[i] == '|';
  }
  return n;
}

}  // namespace

TEST(RenderSafety, JsonParsesAndKeepsTheData) {
  for (const auto& [name, ev] : hostile_cases()) {
    SCOPED_TRACE(name);
    const auto r = make_report("t", ev);
    std::string out;
    ASSERT_NO_THROW(out = render_json(r));
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(out));
    EXPECT_EQ(nlohmann::json::parse(j.dump()), j);  // round-trips
    EXPECT_EQ(j["findings"].size(), r.findings.size());
    // JSON carries the data: valid strings stay exactly as they came, bad bytes become U+FFFD.
    EXPECT_EQ(j["dns"]["lookups"][0]["error"], "odd" + kClearScreen + kSetTitle + kForgedOk +
                                                   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" + kC1Csi +
                                                   kBreakout);
    EXPECT_EQ(j["tls"]["alpn"], "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  }
}

TEST(RenderSafety, JsonOfABareErrorMessageWithBadBytes) {
  // The reported case: a 0xFF in the PRELOGIN instance alone lost the whole report.
  auto ev = base();
  ev.tds = gateway();
  ev.tds->tls.reset();
  ev.tds->prelogin->instance = std::string("MSSQL\xff");
  const auto out = render_json(make_report("t", ev));
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["tds"]["prelogin"]["instance"], "MSSQL\xef\xbf\xbd");
}

TEST(RenderSafety, TextHasNoControlsWithoutColour) {
  for (const auto& [name, ev] : hostile_cases()) {
    SCOPED_TRACE(name);
    const auto r = make_report("t", ev);
    for (bool verbose : {false, true}) {
      const auto out = render_text(r, {verbose, false});
      EXPECT_EQ(terminal_controls(out, false), "") << out;
      EXPECT_EQ(out.find('\x1b'), std::string::npos);
      EXPECT_TRUE(valid_utf8(out));
    }
  }
}

TEST(RenderSafety, TextWithColourHasOnlyItsOwnColours) {
  for (const auto& [name, ev] : hostile_cases()) {
    SCOPED_TRACE(name);
    const auto r = make_report("t", ev);
    for (bool verbose : {false, true}) {
      const auto out = render_text(r, {verbose, true});
      EXPECT_EQ(terminal_controls(out, true), "") << out;
      EXPECT_EQ(out.find("\x1b[32mOK"), std::string::npos);  // the forged line
    }
  }
}

TEST(RenderSafety, TextFindingIsOneLine) {
  for (const auto& [name, ev] : hostile_cases()) {
    SCOPED_TRACE(name);
    const auto r = make_report("t", ev);
    ASSERT_FALSE(r.findings.empty());
    const auto lines = lines_of(render_text(r, {false, false}));
    // The verdict, then exactly one line per finding, then a blank line.
    ASSERT_GT(lines.size(), r.findings.size() + 1);
    for (std::size_t i = 0; i < r.findings.size(); ++i) {
      const auto& line = lines[1 + i];
      const std::string sev(to_string(r.findings[i].severity));
      EXPECT_EQ(line.rfind("  " + sev, 0), 0u) << line;
    }
    EXPECT_EQ(lines[1 + r.findings.size()], "");
    for (std::size_t i = 1; i < lines.size(); ++i)
      EXPECT_NE(lines[i].rfind("OK", 0), 0u) << lines[i];
  }
}

TEST(RenderSafety, MarkdownTableFencesAndNoHtml) {
  for (const auto& [name, ev] : hostile_cases()) {
    SCOPED_TRACE(name);
    const auto r = make_report("t", ev);
    const auto md = render_markdown(r);
    EXPECT_TRUE(valid_utf8(md));
    EXPECT_EQ(terminal_controls(md, false), "");

    const auto lines = lines_of(md);
    std::size_t header = 0;
    while (header < lines.size() && lines[header] != "|---|---|---|") ++header;
    ASSERT_LT(header, lines.size()) << md;
    std::size_t rows = 0;
    for (std::size_t i = header + 1; i < lines.size() && !lines[i].empty(); ++i) {
      ++rows;
      EXPECT_EQ(unescaped_pipes(lines[i]), 4u) << lines[i];
    }
    EXPECT_EQ(rows, r.findings.size()) << md;

    bool unclosed = false;
    const auto shown = outside_code(md, unclosed);
    EXPECT_FALSE(unclosed) << md;
    EXPECT_EQ(count(shown, "<script"), 0u) << shown;
    EXPECT_EQ(count(shown, "<details>"), 1u) << shown;
    EXPECT_EQ(count(shown, "</details>"), 1u) << shown;
  }
}

TEST(RenderSafety, RenderersNeverThrowOnAnUnknownCode) {
  auto r = make_report("t", login_error());
  Finding odd{static_cast<Code>(9999),
              Severity::Error,
              "odd" + kHostile,
              "",
              {kHostile},
              "",
              "",
              static_cast<Code>(9998),
              {}};
  r.findings.push_back(odd);
  std::string json, text, verbose, md;
  EXPECT_NO_THROW(json = render_json(r));
  EXPECT_NO_THROW(text = render_text(r, {false, true}));
  EXPECT_NO_THROW(verbose = render_text(r, {true, false}));
  EXPECT_NO_THROW(md = render_markdown(r));
  EXPECT_FALSE(nlohmann::json::parse(json, nullptr, false).is_discarded());
  EXPECT_NE(text.find("odd"), std::string::npos);
  EXPECT_NE(md.find("odd"), std::string::npos);
}
