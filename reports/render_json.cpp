#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "decoders/common/utf8.h"
#include "reports/explain.h"
#include "reports/render_entra.h"
#include "reports/report.h"
#include "reports/route_rules.h"
#include "reports/safe_text.h"

namespace midiag::reports {

using nlohmann::json;

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::Client:
      return "client";
    case Mode::Link:
      return "link";
    case Mode::FailoverGroup:
      return "failover-group";
  }
  return "client";
}

Report make_report(std::string tool_version, Evidence evidence) {
  Report r{std::move(tool_version), std::move(evidence), {}, Verdict::Ok};
  r.findings = explain(r.evidence);
  r.verdict = verdict_of(r.findings);
  return r;
}

namespace {

// Sweep rows are summarised once a range is this long; short lists stay as rows.
constexpr size_t kSweepRowsLimit = 16;

json lookup_json(const dns::Lookup& l) {
  json chain = json::array();
  for (const auto& c : l.cname_chain)
    chain.push_back({{"name", c.name}, {"target", c.target}, {"ttl", c.ttl}});
  json addrs = json::array();
  for (const auto& a : l.addresses)
    addrs.push_back({{"address", a.address}, {"ttl", a.ttl}, {"class", net::to_string(a.cls)}});
  json j = {{"resolver", l.resolver},
            {"name", l.name},
            {"type", l.type},
            {"status", dns::to_string(l.status)},
            {"cname_chain", chain},
            {"addresses", addrs},
            {"elapsed_ms", l.elapsed_ms}};
  if (!l.error.empty()) j["error"] = l.error;
  return j;
}

json tcp_json(const tcp::Result& r) {
  json j = {{"address", r.target.address},
            {"port", r.target.port},
            {"role", tcp::to_string(r.target.role)},
            {"state", tcp::to_string(r.state)},
            {"rtt_ms", r.rtt_ms},
            {"detail", r.detail}};
  if (r.error_number) j["errno"] = r.error_number;
  if (r.icmp.type >= 0)
    j["icmp"] = {{"type", r.icmp.type}, {"code", r.icmp.code}, {"reporter", r.icmp.reporter}};
  return j;
}

// Short lists stay rows; a long sweep becomes one summary per address (spec §6 tcp_sweeps).
std::pair<json, json> tcp_rows_and_sweeps(const std::vector<tcp::Result>& all) {
  json rows = json::array();
  std::vector<tcp::Result> sweep;
  for (const auto& t : all) {
    if (t.target.role == tcp::Role::Sweep)
      sweep.push_back(t);
    else
      rows.push_back(tcp_json(t));
  }
  json sweeps = json::array();
  if (sweep.size() > kSweepRowsLimit) {
    for (const auto& s : tcp::summarize_sweeps(sweep))
      sweeps.push_back({{"address", s.address},
                        {"from", s.from},
                        {"to", s.to},
                        {"open", s.open},
                        {"refused", s.refused},
                        {"filtered", s.filtered},
                        {"unreachable", s.unreachable},
                        {"no_route", s.no_route},
                        {"not_probed", s.not_probed}});
  } else {
    for (const auto& t : sweep) rows.push_back(tcp_json(t));
  }
  return {rows, sweeps};
}

json tds_json(const tdsprobe::Result& t) {
  json j = {{"address", t.options.address},
            {"port", t.options.port},
            {"stage_reached", tdsprobe::to_string(t.reached)},
            {"failed_at", t.failed_at == tdsprobe::Stage::Complete
                              ? json(nullptr)
                              : json(tdsprobe::to_string(t.failed_at))},
            {"failure", t.failure},
            {"elapsed_ms", t.elapsed_ms},
            {"strict", t.options.strict}};
  if (t.timed_out) j["timed_out"] = true;
  // Per-stage times (watch's phase metrics): present when the stage ran.
  if (t.prelogin_rtt_ms > 0) j["prelogin_ms"] = t.prelogin_rtt_ms;
  if (t.tls_ms > 0) j["tls_ms"] = t.tls_ms;
  if (t.login_ms > 0) j["login_ms"] = t.login_ms;
  if (t.negotiated) j["encryption_negotiated"] = tds::to_string(*t.negotiated);
  if (!t.login_withheld.empty()) j["login_withheld"] = t.login_withheld;
  if (t.mss > 0) j["tcp_mss"] = t.mss;
  if (t.server_handshake) {
    const auto& h = *t.server_handshake;
    json names = json::array();
    for (auto m : h.messages) names.push_back(tls::handshake_type_name(m));
    json sh = {{"bytes", h.bytes},
               {"messages", names},
               {"encrypted", h.encrypted},
               {"complete", h.complete()},
               {"description", h.describe()}};
    if (h.cut_type)
      sh["cut"] = {{"message", tls::handshake_type_name(*h.cut_type)},
                   {"expected", h.cut_expected},
                   {"received", h.cut_received}};
    j["server_handshake"] = sh;
  }
  if (t.prelogin) {
    const auto& p = *t.prelogin;
    j["prelogin"] = {
        {"version", p.version ? json(p.version->str()) : json(nullptr)},
        {"encryption", p.encryption ? json(tds::to_string(*p.encryption)) : json(nullptr)},
        {"instance", p.instance.value_or("")},
        {"thread_id", p.thread_id ? json(*p.thread_id) : json(nullptr)},
        {"mars", p.mars.value_or(false)},
        {"fedauth_required", p.fedauth_required.value_or(false)}};
  }
  json login = {{"outcome", tdsprobe::to_string(t.outcome)},
                {"dummy_credentials", t.dummy_credentials}};
  if (t.error) {
    login["error_number"] = t.error->number;
    login["error_state"] = t.error->state;
    login["error_class"] = t.error->severity;
    login["error_message"] = t.error->message;
  }
  if (t.login_ack) login["server_program"] = t.login_ack->prog_name;
  if (!t.login_answer.empty() && t.outcome == tdsprobe::LoginOutcome::None)
    login["answer"] = t.login_answer;
  if (t.routing)
    login["routing"] = {
        {"host", t.routing->host}, {"port", t.routing->port}, {"server", t.routing->server}};
  j["login"] = login;
  if (!t.first_bytes_hex.empty()) j["first_bytes_hex"] = t.first_bytes_hex;
  return j;
}

json tls_json(const tdsprobe::Result& t) {
  const auto& f = *t.tls;
  json j = {{"version", f.version},
            {"cipher", f.cipher},
            {"alpn", f.alpn},
            {"name_matches", f.name_matches},
            {"trusted", f.trusted},
            {"expired", f.expired},
            {"login_only_encrypted", t.login_only_encrypted}};
  if (!f.verify_error.empty()) j["verify_error"] = f.verify_error;
  if (!f.chain.empty()) {
    const auto& c = f.chain.front();
    j["certificate"] = {{"subject", c.subject},
                        {"issuer", c.issuer},
                        {"subject_alt_names", c.subject_alt_names},
                        {"not_before", c.not_before},
                        {"not_after", c.not_after}};
    if (!c.sha256.empty()) j["certificate"]["sha256"] = c.sha256;
  }
  return j;
}

json opt_ms(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json session_json(const CaptureSession& s) {
  json j = {{"index", s.index},
            {"client", s.client},
            {"server", s.server},
            {"server_port", s.server_port},
            {"start", s.start},
            {"duration_ms", s.duration_ms},
            {"state", s.state},
            {"speaks_tds", s.speaks_tds},
            {"syn_attempts", s.syn_attempts},
            {"syn_retransmits", s.syn_retransmits},
            {"syn_seconds", s.syn_seconds},
            {"syn_ack", s.syn_ack},
            {"packets", s.packets},
            {"duplicates", s.duplicates},
            {"rst", nullptr},
            {"icmp", nullptr},
            {"redirect_to", s.redirect_to ? json(*s.redirect_to) : json(nullptr)},
            {"timing",
             {{"connect_ms", opt_ms(s.connect_ms)},
              {"prelogin_ms", opt_ms(s.prelogin_ms)},
              {"tls_ms", opt_ms(s.tls_ms)},
              {"login_ms", opt_ms(s.login_ms)},
              {"total_login_ms", opt_ms(s.total_login_ms)}}}};
  if (s.redirect_to) j["redirect_inferred"] = s.redirect_inferred;
  if (s.redirected_from) j["redirected_from"] = *s.redirected_from;
  if (s.rst) {
    j["rst"] = {{"ttl", s.rst->ttl},
                {"expected_ttl", s.rst->expected_ttl ? json(*s.rst->expected_ttl) : json(nullptr)},
                {"hops", hops_from_ttl(s.rst->ttl)},
                {"expected_hops",
                 s.rst->expected_ttl ? json(hops_from_ttl(*s.rst->expected_ttl)) : json(nullptr)},
                {"count", s.rst->count},
                {"at_ms", s.rst->at_ms},
                {"race", s.rst->race}};
  }
  if (s.icmp)
    j["icmp"] = {{"type", s.icmp->type},
                 {"code", s.icmp->code},
                 {"reporter", s.icmp->reporter},
                 {"quoted", s.icmp->quoted}};
  if (s.frag_needed)
    j["frag_needed"] = {{"type", s.frag_needed->type},
                        {"code", s.frag_needed->code},
                        {"reporter", s.frag_needed->reporter},
                        {"quoted", s.frag_needed->quoted},
                        {"mtu", s.frag_needed->mtu.value_or(0)}};
  j["dns"] = s.dns_name.empty() ? json(nullptr) : json(s.dns_name);
  j["bytes_to_server"] = s.bytes_to_server;
  j["bytes_to_client"] = s.bytes_to_client;
  if (s.server_silent_s) j["server_silent_s"] = *s.server_silent_s;
  if (s.hole)
    j["sequence_hole"] = {{"missing", s.hole->missing},
                          {"next_segment", s.hole->next_segment},
                          {"largest_segment", s.hole->largest_segment},
                          {"dup_acks", s.hole->dup_acks},
                          {"frag_needed_seen", s.hole->frag_needed_seen}};
  json tds = json::object();
  auto opt_s = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  tds["prelogin"] = {
      {"client_encryption", opt_s(s.client_encryption)},
      {"server_encryption", opt_s(s.server_encryption)},
      {"version", opt_s(s.server_version)},
      {"instance", opt_s(s.instance)},
      {"fedauth_required", s.fedauth_required ? json(*s.fedauth_required) : json(nullptr)}};
  if (s.tls)
    tds["tls"] = {{"version", s.tls_version},
                  {"sni", s.tls_sni},
                  {"progress", s.tls_progress},
                  {"alerts", s.tls_alerts},
                  {"complete", s.tls_complete}};
  else
    tds["tls"] = nullptr;
  if (s.login) {
    const auto& l = *s.login;
    json login = {{"user", l.user},
                  {"server_name", l.server_name},
                  {"database", l.database},
                  {"app_name", l.app_name},
                  {"application_intent", l.read_only_intent ? "ReadOnly" : "ReadWrite"},
                  {"encrypted", l.encrypted},
                  {"auth", l.auth.empty() ? json(nullptr) : json(l.auth)},
                  {"outcome", l.outcome},
                  {"error_number", l.error_number ? json(*l.error_number) : json(nullptr)},
                  {"routing", nullptr}};
    if (l.error_number) {
      login["error_state"] = l.error_state.value_or(0);
      login["error_class"] = l.error_class.value_or(0);
      login["error_message"] = l.error_message;
    }
    if (!l.server_program.empty()) login["server_program"] = l.server_program;
    if (l.routing_host) login["routing"] = {{"host", *l.routing_host}, {"port", l.routing_port}};
    tds["login"] = std::move(login);
  } else {
    tds["login"] = nullptr;
  }
  j["tds"] = std::move(tds);
  return j;
}

// sessions[] written straight into the output: the same bytes nlohmann's dump(2, ' ', false,
// replace) gives for session_json() after make_strings_valid (keys in std::map order, strings
// made valid UTF-8 then escaped as nlohmann escapes them, doubles by nlohmann's own Grisu2), but
// without a tree, a map node per key and a string per value for each of thousands of sessions.
class SessionWriter {
 public:
  SessionWriter(std::string& out, int indent) : out_(out), indent_(indent) {}

  void open() {
    out_ += '{';
    indent_ += kStep;
    first_ = true;
  }
  void close() {
    indent_ -= kStep;
    newline();
    out_ += '}';
    first_ = false;
  }
  // `k` is a literal ASCII key; callers give keys in sorted (std::map) order.
  void key(std::string_view k) {
    if (!first_) out_ += ',';
    newline();
    out_ += '"';
    out_ += k;
    out_ += "\": ";
  }
  void null() {
    out_ += "null";
    first_ = false;
  }
  void boolean(bool v) {
    out_ += v ? "true" : "false";
    first_ = false;
  }
  void unsigned_number(std::uint64_t v) { integer(v); }
  void signed_number(std::int64_t v) { integer(v); }
  void real(double v) {
    if (!std::isfinite(v)) {
      null();
      return;
    }
    std::array<char, 64> buf{};
    char* end = nlohmann::detail::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), static_cast<std::size_t>(end - buf.data()));
    first_ = false;
  }
  void string(std::string_view s) {
    if (is_valid_utf8(s)) {
      escaped(s);
    } else {
      escaped(to_valid_utf8(s));
    }
  }
  void strings(const std::vector<std::string>& v) {
    if (v.empty()) {
      out_ += "[]";
      first_ = false;
      return;
    }
    out_ += '[';
    indent_ += kStep;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out_ += ',';
      newline();
      string(v[i]);
    }
    indent_ -= kStep;
    newline();
    out_ += ']';
    first_ = false;
  }
  template <class T>
  void opt_real(const std::optional<T>& v) {
    if (v)
      real(*v);
    else
      null();
  }
  void opt_string(const std::optional<std::string>& v) {
    if (v)
      string(*v);
    else
      null();
  }

 private:
  static constexpr int kStep = 2;
  template <class I>
  void integer(I v) {
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
    first_ = false;
  }
  void newline() {
    out_ += '\n';
    out_.append(static_cast<std::size_t>(indent_), ' ');
  }
  void escaped(std::string_view s) {
    out_ += '"';
    std::size_t from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + from, i - from);
      from = i + 1;
      switch (c) {
        case '\b':
          out_ += "\\b";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\f':
          out_ += "\\f";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          out_ += "\\u00";
          out_ += kHex[c >> 4];
          out_ += kHex[c & 0xF];
        }
      }
    }
    out_.append(s.data() + from, s.size() - from);
    out_ += '"';
    first_ = false;
  }

  std::string& out_;
  int indent_;
  bool first_ = true;
};

void write_session(std::string& out, const CaptureSession& s) {
  SessionWriter w(out, 4);  // an element of sessions[], two levels deep
  const auto opt_size = [&w](const std::optional<std::size_t>& v) {
    if (v)
      w.unsigned_number(*v);
    else
      w.null();
  };
  const auto icmp = [&w](const CaptureIcmp& i, bool with_mtu) {
    w.open();
    w.key("code");
    w.signed_number(i.code);
    if (with_mtu) {
      w.key("mtu");
      w.unsigned_number(i.mtu.value_or(0));
    }
    w.key("quoted");
    w.string(i.quoted);
    w.key("reporter");
    w.string(i.reporter);
    w.key("type");
    w.signed_number(i.type);
    w.close();
  };
  w.open();
  w.key("bytes_to_client");
  w.unsigned_number(s.bytes_to_client);
  w.key("bytes_to_server");
  w.unsigned_number(s.bytes_to_server);
  w.key("client");
  w.string(s.client);
  w.key("dns");
  if (s.dns_name.empty())
    w.null();
  else
    w.string(s.dns_name);
  w.key("duplicates");
  w.unsigned_number(s.duplicates);
  w.key("duration_ms");
  w.real(s.duration_ms);
  if (s.frag_needed) {
    w.key("frag_needed");
    icmp(*s.frag_needed, true);
  }
  w.key("icmp");
  if (s.icmp)
    icmp(*s.icmp, false);
  else
    w.null();
  w.key("index");
  w.unsigned_number(s.index);
  w.key("packets");
  w.unsigned_number(s.packets);
  if (s.redirect_to) {
    w.key("redirect_inferred");
    w.boolean(s.redirect_inferred);
  }
  w.key("redirect_to");
  opt_size(s.redirect_to);
  if (s.redirected_from) {
    w.key("redirected_from");
    w.unsigned_number(*s.redirected_from);
  }
  w.key("rst");
  if (s.rst) {
    const auto& r = *s.rst;
    w.open();
    w.key("at_ms");
    w.real(r.at_ms);
    w.key("count");
    w.unsigned_number(r.count);
    w.key("expected_hops");
    if (r.expected_ttl)
      w.signed_number(hops_from_ttl(*r.expected_ttl));
    else
      w.null();
    w.key("expected_ttl");
    if (r.expected_ttl)
      w.unsigned_number(*r.expected_ttl);
    else
      w.null();
    w.key("hops");
    w.signed_number(hops_from_ttl(r.ttl));
    w.key("race");
    w.boolean(r.race);
    w.key("ttl");
    w.unsigned_number(r.ttl);
    w.close();
  } else {
    w.null();
  }
  if (s.hole) {
    const auto& h = *s.hole;
    w.key("sequence_hole");
    w.open();
    w.key("dup_acks");
    w.unsigned_number(h.dup_acks);
    w.key("frag_needed_seen");
    w.boolean(h.frag_needed_seen);
    w.key("largest_segment");
    w.unsigned_number(h.largest_segment);
    w.key("missing");
    w.unsigned_number(h.missing);
    w.key("next_segment");
    w.unsigned_number(h.next_segment);
    w.close();
  }
  w.key("server");
  w.string(s.server);
  w.key("server_port");
  w.unsigned_number(s.server_port);
  if (s.server_silent_s) {
    w.key("server_silent_s");
    w.real(*s.server_silent_s);
  }
  w.key("speaks_tds");
  w.boolean(s.speaks_tds);
  w.key("start");
  w.real(s.start);
  w.key("state");
  w.string(s.state);
  w.key("syn_ack");
  w.boolean(s.syn_ack);
  w.key("syn_attempts");
  w.unsigned_number(s.syn_attempts);
  w.key("syn_retransmits");
  w.unsigned_number(s.syn_retransmits);
  w.key("syn_seconds");
  w.real(s.syn_seconds);
  w.key("tds");
  w.open();
  w.key("login");
  if (s.login) {
    const auto& l = *s.login;
    w.open();
    w.key("app_name");
    w.string(l.app_name);
    w.key("application_intent");
    w.string(l.read_only_intent ? "ReadOnly" : "ReadWrite");
    w.key("auth");
    if (l.auth.empty())
      w.null();
    else
      w.string(l.auth);
    w.key("database");
    w.string(l.database);
    w.key("encrypted");
    w.boolean(l.encrypted);
    if (l.error_number) {
      w.key("error_class");
      w.signed_number(l.error_class.value_or(0));
      w.key("error_message");
      w.string(l.error_message);
    }
    w.key("error_number");
    if (l.error_number)
      w.signed_number(*l.error_number);
    else
      w.null();
    if (l.error_number) {
      w.key("error_state");
      w.signed_number(l.error_state.value_or(0));
    }
    w.key("outcome");
    w.string(l.outcome);
    w.key("routing");
    if (l.routing_host) {
      w.open();
      w.key("host");
      w.string(*l.routing_host);
      w.key("port");
      w.unsigned_number(l.routing_port);
      w.close();
    } else {
      w.null();
    }
    w.key("server_name");
    w.string(l.server_name);
    if (!l.server_program.empty()) {
      w.key("server_program");
      w.string(l.server_program);
    }
    w.key("user");
    w.string(l.user);
    w.close();
  } else {
    w.null();
  }
  w.key("prelogin");
  w.open();
  w.key("client_encryption");
  w.opt_string(s.client_encryption);
  w.key("fedauth_required");
  if (s.fedauth_required)
    w.boolean(*s.fedauth_required);
  else
    w.null();
  w.key("instance");
  w.opt_string(s.instance);
  w.key("server_encryption");
  w.opt_string(s.server_encryption);
  w.key("version");
  w.opt_string(s.server_version);
  w.close();
  w.key("tls");
  if (s.tls) {
    w.open();
    w.key("alerts");
    w.strings(s.tls_alerts);
    w.key("complete");
    w.boolean(s.tls_complete);
    w.key("progress");
    w.string(s.tls_progress);
    w.key("sni");
    w.string(s.tls_sni);
    w.key("version");
    w.string(s.tls_version);
    w.close();
  } else {
    w.null();
  }
  w.close();
  w.key("timing");
  w.open();
  w.key("connect_ms");
  w.opt_real(s.connect_ms);
  w.key("login_ms");
  w.opt_real(s.login_ms);
  w.key("prelogin_ms");
  w.opt_real(s.prelogin_ms);
  w.key("tls_ms");
  w.opt_real(s.tls_ms);
  w.key("total_login_ms");
  w.opt_real(s.total_login_ms);
  w.close();
  w.close();
}
}  // namespace

namespace {

// The whole document; with `sessions` false, sessions[] is left empty for render_json to stream.
// The route model's account of a kernel answer (spec §4 step 3: which rule/table chose it):
// the rule, the entry, why, and the entries it beat; and where the model and the kernel differ.
void add_route_choice(json& j, const Evidence& ev, const platform::RouteInfo& kernel) {
  if (!ev.route_table) return;
  auto c = std::find_if(ev.route_choices.begin(), ev.route_choices.end(),
                        [&](const auto& rc) { return rc.address == kernel.destination; });
  if (c == ev.route_choices.end()) return;
  const auto& t = *ev.route_table;
  const auto& l = c->lookup;
  j["rule"] = nullptr;
  if (l.rule)
    j["rule"] = {{"priority", t.rules[*l.rule].priority}, {"text", t.rules[*l.rule].text}};
  j["route"] = nullptr;
  if (l.route) {
    const auto& e = t.routes[*l.route];
    j["route"] = {{"destination", e.destination.text()},
                  {"gateway", gateway_text(e)},
                  {"interface", e.interface},
                  {"metric", e.metric ? json(*e.metric) : json(nullptr)},
                  {"table", e.table},
                  {"kind", e.kind}};
  }
  j["reason"] = l.reason;
  json beaten = json::array();
  for (std::size_t i = 0; i < l.beaten.size() && i < 5; ++i)
    beaten.push_back(describe_route(t.routes[l.beaten[i]]));
  j["beaten"] = std::move(beaten);
  // The kernel also weighs what the tables cannot show (uid ranges, VRFs, nexthop objects).
  if (l.route && !kernel.interface.empty() && t.routes[*l.route].interface != kernel.interface)
    j["model_differs"] = "the tables read choose " + describe_route(t.routes[*l.route]) +
                         "; the kernel chose dev " + kernel.interface;
}

// This host as an Azure VM: who said so, what IMDS answered and where each address lies.
json opt_ttl(const std::optional<std::uint32_t>& t) {
  return t ? json(*t) : json(nullptr);
}
json opt_text(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

// Spec §6: failover_group{listener, primary, secondary, zone, ttl_s}, and each side's account.
json failover_json(const Evidence::FailoverGroupEvidence& fg, const std::vector<Finding>& own) {
  json sides = json::array();
  for (const auto* s : {&fg.read_write, &fg.read_only}) {
    json findings = json::array();
    for (const auto& f : s->findings)
      findings.push_back({{"code", f.code}, {"severity", f.severity}, {"title", f.title}});
    std::string verdict = s->verdict;
    if (s->is_target) {  // the report's own findings, without the group's own
      std::vector<Finding> side;
      for (const auto& f : own)
        if (f.code != Code::FogDnsZoneMismatch && f.code != Code::FogSecondaryUnreachable)
          side.push_back(f);
      verdict = std::string(to_string(verdict_of(side)));
    }
    json covers = json::object();
    if (s->certificate_seen)
      for (const auto* name : {&fg.read_write.listener, &fg.read_only.listener, &s->instance})
        if (!name->empty()) covers[*name] = certificate_covers(s->certificate_names, *name);
    sides.push_back({{"role", s->read_only ? "read-only" : "read-write"},
                     {"listener", s->listener},
                     {"is_target", s->is_target},
                     {"checked", s->checked},
                     {"error", opt_text(s->error)},
                     {"dns_status", opt_text(s->dns_status)},
                     {"instance", opt_text(s->instance)},
                     {"instance_zone", opt_text(s->instance_zone)},
                     {"ttl_s", opt_ttl(s->ttl_s)},
                     {"addresses", s->addresses},
                     {"read_only_intent", s->read_only},
                     {"certificate", s->certificate_seen
                                         ? json{{"names", s->certificate_names}, {"covers", covers}}
                                         : json(nullptr)},
                     {"verdict", opt_text(s->checked ? verdict : std::string())},
                     {"findings", s->is_target ? json(nullptr) : findings},
                     {"duration_ms", s->duration_ms}});
  }
  return {{"name", fg.name},
          {"given", fg.given},
          {"zone", fg.zone},
          {"listener", fg.read_write.listener},
          {"read_only_listener", fg.read_only.listener},
          {"primary", opt_text(fg.read_write.instance)},
          {"secondary", opt_text(fg.read_only.instance)},
          {"ttl_s", opt_ttl(fg.read_write.ttl_s)},
          {"read_only_ttl_s", opt_ttl(fg.read_only.ttl_s)},
          {"sides", sides}};
}

json azure_json(const AzureEvidence& az, bool on_azure) {
  json imds = {
      {"status", az.imds_status},
      {"elapsed_ms", az.imds_status == "not_asked" ? json(nullptr) : json(az.imds_elapsed_ms)},
      {"error", az.imds_error.empty() ? json(nullptr) : json(az.imds_error)}};
  json interfaces = json::array(), unread = json::array(), vm = nullptr;
  if (az.vm) {
    vm = {{"name", az.vm->name}, {"location", az.vm->location}, {"vm_id", az.vm->vm_id}};
    for (const auto& nic : az.vm->interfaces) {
      json subnets = json::array();
      for (const auto& sn : nic.subnets) subnets.push_back(sn.parsed.text());
      interfaces.push_back({{"mac", nic.mac.empty() ? json(nullptr) : json(nic.mac)},
                            {"private", nic.private_addresses},
                            {"public", nic.public_addresses},
                            {"subnets", std::move(subnets)}});
    }
    for (const auto& u : az.vm->unread) unread.push_back({{"where", u.where}, {"why", u.why}});
  }
  json relation = json::array();
  for (const auto& rel : az.relations)
    relation.push_back(
        {{"address", rel.address}, {"relation", rel.relation}, {"detail", rel.detail}});
  return {{"on_azure", on_azure},
          {"source", az.source.empty() ? json(nullptr) : json(az.source)},
          {"imds", std::move(imds)},
          {"vm", std::move(vm)},
          {"interfaces", std::move(interfaces)},
          {"relation", std::move(relation)},
          {"unread", std::move(unread)}};
}

json document(const Report& r, bool sessions_too) {
  const auto& ev = r.evidence;
  json findings = json::array();
  for (const auto& f : r.findings) {
    json j = {{"code", code_name(f.code)}, {"severity", to_string(f.severity)},
              {"title", f.title},          {"detail", f.detail},
              {"evidence", f.evidence},    {"remediation", f.remediation},
              {"reference", f.reference}};
    if (f.caused_by) j["caused_by"] = code_name(*f.caused_by);
    if (!f.addresses.empty()) j["addresses"] = f.addresses;
    findings.push_back(std::move(j));
  }
  json doc = {
      {"schema", kSchema},
      {"tool", {{"name", "mi-diag"}, {"version", r.tool_version}}},
      {"target",
       {{"input", ev.target.input},
        {"host", ev.target.host},
        {"port", ev.target.port},
        {"endpoint_kind", to_string(ev.target.kind)},
        {"zone", ev.target.zone},
        {"instance", ev.target.instance},
        {"mode", to_string(ev.mode)}}},
      {"started_at", ev.started_at},
      {"duration_ms", ev.duration_ms},
      {"verdict", to_string(r.verdict)},
  };
  doc["findings"] = std::move(findings);
  if (ev.dns_ran) {
    json lookups = json::array();
    for (const auto& l : ev.lookups) lookups.push_back(lookup_json(l));
    json hosts = json::array();
    for (const auto& h : ev.hosts_entries)
      hosts.push_back({{"address", h.address}, {"names", h.names}, {"line", h.line}});
    doc["dns"] = {
        {"lookups", lookups}, {"system_servers", ev.system_servers}, {"hosts_entries", hosts}};
    if (ev.public_sibling) {
      json sib = json::array();
      for (const auto& l : ev.public_sibling->lookups) sib.push_back(lookup_json(l));
      doc["dns"]["public_sibling"] = {{"name", ev.public_sibling->name}, {"lookups", sib}};
    }
  }
  doc["addresses"] = ev.addresses;
  json routes = json::array();
  for (const auto& rt : ev.routes) {
    json j = {{"destination", rt.destination},
              {"interface", rt.interface},
              {"gateway", rt.gateway},
              {"source", rt.source},
              {"table", rt.table},
              {"prefix", rt.prefix},
              {"mtu", rt.mtu},
              {"kind", rt.kind}};
    if (!rt.error.empty()) j["error"] = rt.error;
    add_route_choice(j, ev, rt);
    routes.push_back(std::move(j));
  }
  doc["routes"] = routes;
  if (ev.link) {
    doc["link"] = {{"endpoint_port", ev.link->endpoint_port},
                   {"listening", ev.link->listening ? json(*ev.link->listening) : json(nullptr)},
                   {"error", ev.link->error.empty() ? json(nullptr) : json(ev.link->error)}};
    if (ev.link->sql_version && ev.link->version_fact) {
      const auto& f = *ev.link->version_fact;
      doc["link"]["sql_server"] = {{"version", ev.link->sql_version->text},
                                   {"release", f.release},
                                   {"known", f.known},
                                   {"minimum", f.minimum.empty() ? json(nullptr) : json(f.minimum)},
                                   {"meets_minimum", f.known ? json(f.meets) : json(nullptr)},
                                   {"fact", f.words}};
    }
  }
  if (ev.azure) doc["azure"] = azure_json(*ev.azure, ev.on_azure);
  if (ev.failover_group) doc["failover_group"] = failover_json(*ev.failover_group, r.findings);
  if (ev.entra) doc["entra"] = entra_json(ev);

  auto [rows, sweeps] = tcp_rows_and_sweeps(ev.tcp);
  doc["tcp"] = rows;
  doc["tcp_sweeps"] = sweeps;
  if (ev.tds) {
    doc["tds"] = tds_json(*ev.tds);
    if (ev.tds->tls) doc["tls"] = tls_json(*ev.tds);
  }
  if (ev.redirect) {
    const auto& rd = *ev.redirect;
    auto [red_rows, red_sweeps] = tcp_rows_and_sweeps(rd.tcp);
    json red = {{"host", rd.host},     {"port", rd.port}, {"addresses", rd.addresses},
                {"state", rd.state()}, {"tcp", red_rows}, {"tcp_sweeps", red_sweeps}};
    if (!rd.resolve_error.empty()) red["resolve_error"] = rd.resolve_error;
    if (rd.node_login) red["node_login"] = tds_json(*rd.node_login);
    doc["redirect"] = red;
  }
  // analyze reads a file: no live capture was tried, so no capture block.
  if (!(ev.packets && ev.capture.interface.empty())) {
    const auto& c = ev.capture;
    json cap = {{"status", c.status}, {"packets", c.packets}};
    if (!c.file.empty()) cap["file"] = c.file;
    if (!c.interface.empty()) cap["interface"] = c.interface;
    if (!c.filter.empty()) cap["filter"] = c.filter;
    if (c.not_kept) cap["not_kept"] = c.not_kept;
    if (c.kernel_dropped) cap["kernel_dropped"] = c.kernel_dropped;
    if (!c.error.empty()) cap["error"] = c.error;
    if (ev.packets && ev.packets->sweep_refusals_not_listed > 0)
      cap["sweep_refusals_not_listed"] = ev.packets->sweep_refusals_not_listed;
    doc["capture"] = std::move(cap);
  }
  if (ev.packets) {
    const auto& c = *ev.packets;
    if (ev.capture.interface.empty())  // analyze: the file read; check has `capture` instead
      doc["input"] = {{"file", c.file},
                      {"format", c.format},
                      {"packets", c.packets},
                      {"truncated", c.truncated},
                      {"tcp_connections", c.tcp_connections},
                      {"duplicates_ignored", c.duplicates},
                      {"undecoded_frames", c.undecoded},
                      {"dns_messages", c.dns_messages}};
    if (c.truncated && doc.contains("input"))
      doc["input"]["truncated_reason"] = c.truncated_message;
    json sessions = json::array();
    if (sessions_too)
      for (const auto& s : c.sessions) sessions.push_back(session_json(s));
    doc["sessions"] = std::move(sessions);
  }
  json path = json::array();
  // purpose: trace (a filtered port) or ladder (placing a reset); method: socket or paris.
  auto add_path = [&](const trace::Result& t, std::string_view purpose,
                      const trace::ResetPlace* place) {
    for (const auto& h : t.path) {
      json row = {{"ttl", h.ttl},
                  {"address", h.address.empty() ? json(nullptr) : json(h.address)},
                  {"rtt_ms", h.rtt_ms},
                  {"kind", trace::to_string(h.kind)},
                  {"target", t.target.address},
                  {"port", t.target.port},
                  {"purpose", purpose},
                  {"method", trace::to_string(t.method)}};
      // The reset a ladder placed before the target names the hop that sent it.
      if (place != nullptr && h.kind == trace::HopKind::Reset &&
          place->placement == trace::Placement::BeforeTarget) {
        row["placed_at"] = place->hop_address.empty() ? json(nullptr) : json(place->hop_address);
        row["placed_at_ttl"] = place->hop_ttl;
        row["target_ttl"] = place->target_ttl;
      }
      path.push_back(std::move(row));
    }
  };
  for (const auto& t : ev.paths) add_path(t, "trace", nullptr);
  json ladders = json::array();
  for (const auto& l : ev.ladders) {
    add_path(l.refused, "ladder", &l.place);
    if (l.working) add_path(*l.working, "ladder", nullptr);
    ladders.push_back(
        {{"address", l.plan.address},
         {"port", l.plan.refused_port},
         {"working_port", l.plan.working_port ? json(*l.plan.working_port) : json(nullptr)},
         {"method", trace::to_string(l.refused.method)},
         {"reset_ttl", l.place.reset_ttl},
         {"target_ttl", l.place.target_ttl},
         {"placement", trace::to_string(l.place.placement)},
         {"hop", l.place.hop_address.empty() ? json(nullptr) : json(l.place.hop_address)},
         {"hop_ttl", l.place.hop_ttl},
         {"summary", l.summary()}});
  }
  doc["path"] = path;
  doc["ladders"] = ladders;
  doc["limitations"] = ev.limitations;
  json collectors = json::array();
  for (const auto& c : ev.collectors) {
    json cj = {{"name", c.name},
               {"status", to_string(c.status)},
               {"duration_ms", c.duration_ms},
               {"error", c.error.empty() ? json(nullptr) : json(c.error)}};
    collectors.push_back(std::move(cj));
  }
  doc["collectors"] = collectors;
  // Server strings are valid UTF-8 when stored; this catches any that were not (spec §6).
  make_strings_valid(doc);
  return doc;
}

}  // namespace

json to_json(const Report& r) {
  return document(r, true);
}

namespace {

constexpr int kIndent = 2;

std::string dump(const json& j) {
  // replace: belt and braces behind make_strings_valid, never type_error.316.
  return j.dump(kIndent, ' ', false, json::error_handler_t::replace);
}

// The same text as dump(to_json(r)), but sessions[] is written one session at a time, straight
// into the output by write_session (no JSON tree per session), so a capture's thousands of
// connections never sit in memory as one JSON tree beside the report.
std::string streamed_json(const Report& r) {
  const auto* packets = r.evidence.packets ? &*r.evidence.packets : nullptr;
  std::string doc = dump(document(r, false));
  if (packets == nullptr || packets->sessions.empty()) return doc + "\n";
  const std::string empty = "\n  \"sessions\": []";
  const std::size_t at = doc.find(empty);
  if (at == std::string::npos) return dump(to_json(r)) + "\n";  // not where expected: the slow way
  // One buffer, sized from the first session, so the megabytes are not copied as they grow.
  std::string first;
  write_session(first, packets->sessions[0]);
  std::string out;
  out.reserve(doc.size() + packets->sessions.size() * (first.size() * 5 / 4 + 64));
  out.append(doc, 0, at);
  out += "\n  \"sessions\": [\n    ";
  out += first;
  for (std::size_t i = 1; i < packets->sessions.size(); ++i) {
    out += ",\n    ";
    write_session(out, packets->sessions[i]);
  }
  out += "\n  ]";
  out.append(doc, at + empty.size());
  out += '\n';
  return out;
}

// The last resort when the full document could not be built: still valid JSON that says so.
std::string fallback_json(const Report& r, std::string_view what) noexcept {
  try {
    json findings = json::array();
    for (const auto& f : r.findings)
      findings.push_back({{"code", code_name(f.code)}, {"severity", to_string(f.severity)}});
    json doc = {{"schema", kSchema},
                {"tool", {{"name", "mi-diag"}, {"version", r.tool_version}}},
                {"verdict", to_string(r.verdict)},
                {"findings", findings},
                {"render_error", std::string(what)}};
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  } catch (...) {
    return "{\"schema\": \"mi-diag.report/1\", \"render_error\": \"unknown\"}\n";
  }
}

}  // namespace

// A renderer never throws: a report always comes out, in full or in the fallback form.
std::string render_json(const Report& r) {
  try {
    return streamed_json(r);
  } catch (const std::exception& e) {
    return fallback_json(r, e.what());
  } catch (...) {
    return fallback_json(r, "unknown error");
  }
}

}  // namespace midiag::reports
