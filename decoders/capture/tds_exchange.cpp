#include "decoders/capture/tds_exchange.h"

#include <algorithm>

#include "decoders/tds/packet.h"
#include "decoders/tls/progress.h"

namespace midiag::capture {
namespace {

// One unit of a direction's stream: a whole TDS message or a raw TLS record.
struct Item {
  bool tls = false;
  std::uint8_t type = 0;  // TDS packet type or TLS content type
  std::vector<std::uint8_t> payload;
  std::uint64_t end = 0;  // stream offset just past it
};

constexpr std::size_t kMaxItems = 512;

bool known_tds_type(std::uint8_t t) {
  switch (t) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x0E:
    case 0x10:
    case 0x11:
    case 0x12:
      return true;
    default:
      return false;
  }
}

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

// Splits a stream into TDS messages and raw TLS records until it stops making sense.
std::vector<Item> walk(std::span<const std::uint8_t> b, std::string& stopped) {
  std::vector<Item> out;
  std::size_t at = 0;
  while (at < b.size() && out.size() < kMaxItems) {
    const std::size_t left = b.size() - at;
    if (b[at] >= 20 && b[at] <= 23) {  // a TLS record outside TDS framing
      if (left < 5) return out;
      if (b[at + 1] != 3) {
        stopped = "not TLS at stream offset " + std::to_string(at);
        return out;
      }
      const std::size_t len = be16(b, at + 3);
      if (left < 5 + len) return out;
      out.push_back(
          Item{true, b[at], {b.begin() + at + 5, b.begin() + at + 5 + len}, at + 5 + len});
      at += 5 + len;
      continue;
    }
    // A TDS message: packets until EOM.
    Item m;
    std::size_t p = at;
    bool complete = false;
    while (p < b.size()) {
      if (b.size() - p < tds::kHeaderSize) break;
      const std::uint8_t type = b[p];
      const std::size_t len = be16(b, p + 2);
      if (!known_tds_type(type) || len < tds::kHeaderSize || (p != at && type != m.type)) {
        stopped = "not TDS at stream offset " + std::to_string(p);
        return out;
      }
      if (b.size() - p < len) break;
      m.type = type;
      m.payload.insert(m.payload.end(), b.begin() + p + tds::kHeaderSize, b.begin() + p + len);
      const bool eom = (b[p + 1] & tds::kStatusEom) != 0;
      p += len;
      if (eom) {
        complete = true;
        break;
      }
    }
    if (!complete) return out;  // cut off by the capture or still arriving
    m.end = p;
    out.push_back(std::move(m));
    at = p;
  }
  return out;
}

std::optional<double> when(const pcap::StreamBytes& s, std::uint64_t end) {
  return s.time_of(end);
}

void feed_tls(TlsSeen& t, tls::HandshakeWalker& walker, std::span<const std::uint8_t> bytes,
              tls::Direction from, std::optional<double> at, std::vector<std::uint8_t>& server_hs) {
  auto split = tls::split_records(bytes);
  if (!split) return;
  for (const auto& r : split->records) {
    (void)walker.feed(r, from);
    if (from == tls::Direction::ServerToClient) {  // CCS too: progress stops there
      server_hs.push_back(r.content_type);
      server_hs.push_back(static_cast<std::uint8_t>(r.version >> 8));
      server_hs.push_back(static_cast<std::uint8_t>(r.version));
      server_hs.push_back(static_cast<std::uint8_t>(r.fragment.size() >> 8));
      server_hs.push_back(static_cast<std::uint8_t>(r.fragment.size()));
      server_hs.insert(server_hs.end(), r.fragment.begin(), r.fragment.end());
    }
  }
  if (at) {
    if (!t.start && from == tls::Direction::ClientToServer) t.start = at;
    t.end = at;
  }
}

// The mechanism a LOGIN7 names (MS-TDS 2.2.6.4: fIntSecurity and ibSSPI, FeatureExt FEDAUTH).
std::string auth_of(const tds::Login7& l) {
  if (l.fedauth) return "fedauth";
  if (!l.sspi.empty()) return tds::sspi_kind(l.sspi);
  return l.integrated_security ? "sspi" : "sql";
}

constexpr std::uint8_t kSspiToken = 0xED;  // SSPI token in a TabularResult (MS-TDS 2.2.7.22)

}  // namespace

bool starts_like_tds(std::span<const std::uint8_t> b) {
  if (b.size() < tds::kHeaderSize) return false;
  if (b[0] != 0x12 && b[0] != 0x10) return false;
  const std::size_t len = be16(b, 2);
  return len >= tds::kHeaderSize && len <= 32768 && (b[1] & ~0x1FU) == 0;
}

TdsExchange decode_exchange(const pcap::Session& s) {
  TdsExchange x;
  const auto& up = s.to_server;
  const auto& down = s.to_client;
  x.speaks_tds = starts_like_tds(up.bytes);
  std::string stop_up, stop_down;
  const auto client = walk(up.bytes, stop_up);
  const auto server = walk(down.bytes, stop_down);
  x.stopped = !stop_up.empty()     ? "client: " + stop_up
              : !stop_down.empty() ? "server: " + stop_down
                                   : "";

  tls::HandshakeWalker walker;
  TlsSeen t;
  std::vector<std::uint8_t> server_hs;
  bool any_tls = false;
  for (const auto& it : client) {
    const auto at = when(up, it.end);
    if (it.tls) {
      any_tls = true;
      if (it.type == 23) {
        if (!x.login_sent && !x.login) {
          x.login_encrypted = true;
          x.login_sent = at;
        }
        continue;
      }
      std::vector<std::uint8_t> rec = {it.type, 3, 3,
                                       static_cast<std::uint8_t>(it.payload.size() >> 8),
                                       static_cast<std::uint8_t>(it.payload.size())};
      rec.insert(rec.end(), it.payload.begin(), it.payload.end());
      feed_tls(t, walker, rec, tls::Direction::ClientToServer, at, server_hs);
      continue;
    }
    if (it.type == 0x12 && !x.client_prelogin && !any_tls) {
      if (auto p = tds::parse_prelogin(it.payload)) {
        x.client_prelogin = *p;
        x.prelogin_sent = at;
        continue;
      }
    }
    if (it.type == 0x12) {
      any_tls = true;
      feed_tls(t, walker, it.payload, tls::Direction::ClientToServer, at, server_hs);
    } else if (it.type == 0x10 && !x.login) {
      if (auto l = tds::parse_login7(it.payload)) {
        l->password.clear();
        x.auth = auth_of(*l);
        x.login = std::move(*l);
        x.login_sent = at;
      }
    } else if (it.type == 0x11) {  // SSPI message: the client's next authentication token
      if (auto m = tds::find_ntlmssp(it.payload)) {
        x.auth = "ntlm";
        if (m->type == tds::kNtlmAuthenticate) x.auth_user = tds::ntlm_login_name(*m);
      }
    } else if (it.type == 0x01 || it.type == 0x03) {
      x.requests_after_login = true;
    }
  }
  if (x.speaks_tds == false && !client.empty() && client.front().tls) {
    // TDS 8 (strict) starts with TLS; its ALPN says so.
    const auto& ch = walker.summary().client_hello;
    x.speaks_tds = ch && std::find(ch->alpn.begin(), ch->alpn.end(), "tds/8.0") != ch->alpn.end();
  }
  bool seen_server_tds = false;
  for (const auto& it : server) {
    const auto at = when(down, it.end);
    if (it.tls) {
      if (it.type == 23) {
        if (x.login_encrypted && !x.encrypted_response) x.encrypted_response = at;
        continue;
      }
      std::vector<std::uint8_t> rec = {it.type, 3, 3,
                                       static_cast<std::uint8_t>(it.payload.size() >> 8),
                                       static_cast<std::uint8_t>(it.payload.size())};
      rec.insert(rec.end(), it.payload.begin(), it.payload.end());
      feed_tls(t, walker, rec, tls::Direction::ServerToClient, at, server_hs);
      continue;
    }
    // The server's first TDS message answers the client's PRELOGIN.
    const bool first_tds = !seen_server_tds;
    seen_server_tds = true;
    if (it.type == 0x04 && x.client_prelogin && first_tds) {
      if (auto p = tds::parse_prelogin(it.payload)) {
        x.server_prelogin = *p;
        x.prelogin_answered = at;
        continue;
      }
    }
    // The server's SSPI answer: its own message type, or an SSPI token opening a TabularResult
    // (a LOGINACK may follow it in the same message, so the tokens are still read).
    if (it.type == 0x11 || (it.type == 0x04 && !it.payload.empty() && it.payload[0] == kSspiToken))
      x.sspi_challenge = true;
    if (it.type == 0x12) {
      feed_tls(t, walker, it.payload, tls::Direction::ServerToClient, at, server_hs);
    } else if (it.type == 0x04 && !x.response) {
      auto tokens = tds::parse_tokens_as(it.payload, x.login ? x.login->tds_version : 0);
      if (!tokens) continue;
      LoginResponse r;
      r.time = at.value_or(s.last_time);
      if (const auto& ack = tokens->login_ack) {
        r.server_program = ack->prog_name;
        r.server_version = std::to_string(ack->major) + "." + std::to_string(ack->minor) + "." +
                           std::to_string((ack->build_hi << 8) | ack->build_lo);
        r.tds_version = ack->tds_version;
      }
      for (const auto& env : tokens->env_changes)
        if (env.type == 1 && r.database.empty()) r.database = env.new_value;
      if (const auto* e = tokens->first_error()) r.error = *e;
      r.routing = tokens->routing;
      r.outcome = r.routing ? "routing" : tokens->login_ack ? "loginack" : r.error ? "error" : "";
      if (!r.outcome.empty()) x.response = std::move(r);
    }
  }
  const auto& sum = walker.summary();
  if (sum.client_hello || sum.server_hello || !sum.alerts.empty()) {
    t.client_hello = sum.client_hello.has_value();
    t.server_hello = sum.server_hello.has_value();
    if (sum.client_hello) {
      t.sni = sum.client_hello->sni;
      t.alpn = sum.client_hello->alpn;
    }
    if (sum.server_hello) t.version = sum.server_hello->negotiated_version();
    t.alerts = sum.alerts;
    t.certificates = sum.certificates.size();
    t.finished = sum.saw_change_cipher_spec && (x.login_sent.has_value() || x.response.has_value());
    t.server_progress = tls::handshake_progress(server_hs).describe();
    x.tls = std::move(t);
  }
  return x;
}

}  // namespace midiag::capture
