#include "probes/entra/authority.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <system_error>

#include "platform/posix/unique_fd.h"
#include "probes/net/address.h"

namespace midiag::entra {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxAddresses = 8;  // the authority's name has a handful; a bound anyway
constexpr std::size_t kMaxHandshakeBytes = 256 * 1024;  // a server's first flight is a few KiB
constexpr int kMaxHandshakeRounds = 64;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Error usage(std::string_view text, const std::string& why) {
  return make_error("bad --entra-authority '" + std::string(text) + "': " + why, ErrorKind::Usage);
}

bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto dot = name.find('.', start);
    const auto label = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // All-numeric dotted text is an address that did not parse (999.1.1.1), not a name.
  return name.find_first_not_of("0123456789.") != std::string_view::npos;
}

std::string words(const tcp::Result& r) {
  std::string s = r.target.address + ":" + std::to_string(r.target.port) + " " +
                  std::string(tcp::to_string(r.state));
  if (!r.detail.empty()) s += " (" + r.detail + ")";
  return s;
}

// A non-blocking socket with one deadline for the connect and the handshake.
class Channel {
 public:
  explicit Channel(Clock::time_point deadline) : deadline_(deadline) {}

  Expected<bool> connect(const std::string& address, std::uint16_t port) {
    auto ip = net::parse_ip(address);
    if (!ip) return make_error("'" + address + "' is not a numeric address");
    const auto sa = net::to_socket_address(*ip, port);
    fd_.reset(::socket(sa.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) return make_error(std::system_category().message(errno), ErrorKind::Resource);
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&sa.addr), sa.len) != 0 &&
        errno != EINPROGRESS)
      return make_error(std::system_category().message(errno), ErrorKind::Io);
    if (!wait(POLLOUT))
      return make_error("no answer to the connection attempt before the deadline",
                        ErrorKind::TimedOut);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return make_error(std::system_category().message(err), ErrorKind::Io);
    return true;
  }

  Expected<bool> send_all(const std::vector<std::uint8_t>& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd_.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return make_error("send failed: " + std::system_category().message(errno),
                          errno == ECONNRESET || errno == EPIPE ? ErrorKind::Reset : ErrorKind::Io);
      if (!wait(POLLOUT))
        return make_error("the send did not complete before the deadline", ErrorKind::TimedOut);
    }
    return true;
  }

  // What has arrived, waiting up to the deadline for at least one byte.
  Expected<std::vector<std::uint8_t>> receive() {
    if (!wait(POLLIN)) return make_error("no answer before the deadline", ErrorKind::TimedOut);
    std::vector<std::uint8_t> buf(16384);
    const auto n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n == 0) return make_error("the server closed the connection", ErrorKind::Closed);
    if (n < 0) {
      const int e = errno;
      if (e == EAGAIN || e == EINTR) return std::vector<std::uint8_t>{};
      return make_error(std::system_category().message(e),
                        e == ECONNRESET ? ErrorKind::Reset : ErrorKind::Io);
    }
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

 private:
  bool wait(short events) {
    for (int guard = 0; guard < 1000; ++guard) {  // EINTR only: bounded anyway
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_.get(), events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc > 0) return true;
      if (rc == 0) return false;
      if (errno != EINTR) return false;
    }
    return false;
  }

  Clock::time_point deadline_;
  UniqueFd fd_;
};

// The addresses an application would use: the hosts file's, else the system resolver's (IPv4
// first), else what any other resolver said (no system resolver was configured).
void choose_addresses(const Options& o, Result& r) {
  auto add = [&](const std::string& a) {
    if (r.addresses.size() < kMaxAddresses &&
        std::find(r.addresses.begin(), r.addresses.end(), a) == r.addresses.end())
      r.addresses.push_back(a);
  };
  if (!o.hosts_addresses.empty()) {
    for (const auto& a : o.hosts_addresses) add(a);
    r.addresses_from = "hosts-file";
    return;
  }
  const bool has_system = std::any_of(r.lookups.begin(), r.lookups.end(),
                                      [](const dns::Lookup& l) { return l.resolver == "system"; });
  for (std::string type : {"A", "AAAA"})
    for (const auto& l : r.lookups)
      if ((!has_system || l.resolver == "system") && l.type == type)
        for (const auto& a : l.addresses) add(a.address);
  if (!r.addresses.empty()) r.addresses_from = has_system ? "system" : r.lookups.front().resolver;
}

std::string dns_failure(const Result& r) {
  std::string why;
  for (const auto& l : r.lookups) {
    if (r.lookups.size() > 2 && l.resolver != "system") continue;  // the application's view
    why += (why.empty() ? "" : ", ") + l.resolver + " " + l.type + " " +
           std::string(dns::to_string(l.status));
    if (l.status == dns::Status::Ok) why += " (no records)";
  }
  if (why.empty()) why = "no resolver to ask";
  return r.authority.host + " did not resolve to any address: " + why;
}

void handshake(const Options& o, Result& r, const std::string& address) {
  const auto t0 = Clock::now();
  const auto deadline = t0 + o.timeout;
  r.tls_address = address;
  auto fail = [&](std::string why, bool timed_out = false) {
    r.tls_ms = ms_since(t0);
    r.tls_error = std::move(why);
    r.tls_timed_out = timed_out;
  };
  Channel ch(deadline);
  if (auto c = ch.connect(address, o.authority.port); !c)
    return fail("the connection for the handshake failed: " + c.error().message,
                c.error().kind == ErrorKind::TimedOut);
  tdsprobe::TlsClient::Options topt;
  topt.server_name = o.authority.host;  // SNI and the name the certificate must cover
  topt.ca_file = o.ca_file;
  auto client = tdsprobe::TlsClient::create(topt);
  if (!client) return fail(client.error().message);
  auto& tls = **client;
  std::size_t received = 0;
  for (int round = 0; round < kMaxHandshakeRounds; ++round) {
    auto step = tls.handshake_step();
    // Whatever OpenSSL queued (the next flight, or the alert of a failure) goes out first.
    if (auto out = tls.take_output(); !out.empty())
      if (auto s = ch.send_all(out); !s)
        return fail(s.error().message, s.error().kind == ErrorKind::TimedOut);
    if (!step) return fail(step.error().message);
    if (*step) {
      r.tls_ms = ms_since(t0);
      r.tls = tls.facts();
      return;
    }
    auto got = ch.receive();
    if (!got) {
      const auto kind = got.error().kind;
      if (kind == ErrorKind::TimedOut)
        return fail(received == 0 ? "no TLS answer within " + std::to_string(o.timeout.count()) +
                                        " ms (the connection was accepted, then nothing came)"
                                  : "the server's TLS answer stopped after " +
                                        std::to_string(received) + " bytes, before the deadline",
                    true);
      if (kind == ErrorKind::Closed)
        return fail("the server closed the connection during the TLS handshake, after " +
                    std::to_string(received) + " bytes");
      return fail("the connection broke during the TLS handshake: " + got.error().message);
    }
    received += got->size();
    if (received > kMaxHandshakeBytes)
      return fail("more than " + std::to_string(kMaxHandshakeBytes) +
                  " bytes without a complete handshake");
    tls.feed(*got);
  }
  fail("the TLS handshake did not finish in " + std::to_string(kMaxHandshakeRounds) + " rounds");
}

// What a token library would refuse in the certificate, empty when nothing.
std::string certificate_problems(const Result& r, const std::string& ca_file) {
  const auto& t = *r.tls;
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (t.chain.empty()) return "the server presented no certificate";
  const auto& leaf = t.chain.front();
  if (!t.trusted)
    add("it does not verify against " +
        (ca_file.empty() ? std::string("the system's CA store") : "--ca-file " + ca_file) + " (" +
        t.verify_error + "; issuer " + leaf.issuer + ")");
  if (!t.name_matches) {
    std::string sans;
    for (const auto& s : leaf.subject_alt_names) sans += (sans.empty() ? "" : ", ") + s;
    add("it does not cover " + r.authority.host + " (subject " + leaf.subject +
        (sans.empty() ? ", no DNS names" : ", names " + sans) + ")");
  }
  if (t.expired)
    add("it is outside its validity (" + leaf.not_before + " to " + leaf.not_after + ")");
  return out;
}

}  // namespace

bool Authority::is_ip() const {
  return net::parse_ip(host).has_value();
}

std::string Authority::str() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Expected<Authority> parse_authority(std::string_view text) {
  if (text.empty()) return usage(text, "empty (give a host name, e.g. login.microsoftonline.com)");
  if (text.find("://") != std::string_view::npos || text.find('/') != std::string_view::npos)
    return usage(text,
                 "give the authority's host name (and port), not a URL or a path, e.g. "
                 "login.microsoftonline.com or login.microsoftonline.com:443");
  std::string_view host = text, port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return usage(text, "'[' without ']'");
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return usage(text, "expected [IPv6]:PORT");
      port = rest.substr(1);
      if (port.empty()) return usage(text, "a ':' without a port");
    }
    if (!net::parse_ip(host) || net::parse_ip(host)->is_v4())
      return usage(text, "'" + std::string(host) + "' in brackets is not an IPv6 address");
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    if (!net::parse_ip(text)) return usage(text, "not an IPv6 address (write [IPv6]:PORT)");
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return usage(text, "a ':' without a port");
  }
  Authority a;
  if (!port.empty()) {
    unsigned p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return usage(text, "the port must be 1-65535, not '" + std::string(port) + "'");
    a.port = static_cast<std::uint16_t>(p);
  }
  if (auto ip = net::parse_ip(host)) {
    a.host = ip->str();
    return a;
  }
  std::string name(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!valid_dns_name(name))
    return usage(text, "'" + std::string(host) +
                           "' is neither a host name (letters, digits, hyphens, dots) nor an IP "
                           "address");
  a.host = std::move(name);
  return a;
}

std::string_view to_string(Step s) {
  switch (s) {
    case Step::None:
      return "";
    case Step::Dns:
      return "dns";
    case Step::Tcp:
      return "tcp";
    case Step::Tls:
      return "tls";
    case Step::Certificate:
      return "certificate";
  }
  return "";
}

const tcp::Result* Result::chosen_tcp() const {
  for (const auto& t : tcp)
    if (t.target.address == tls_address) return &t;
  return tcp.empty() ? nullptr : &tcp.front();
}

Result probe_authority(const Options& o) {
  const auto t0 = Clock::now();
  Result r;
  r.authority = o.authority;
  auto done = [&](Step step, std::string failure) {
    r.failed = step;
    r.failure = std::move(failure);
    r.elapsed_ms = ms_since(t0);
    return r;
  };

  if (o.authority.is_ip()) {
    r.addresses.push_back(o.authority.host);
    r.addresses_from = "literal";
  } else {
    dns::Options dopt;
    dopt.timeout = o.timeout;
    dopt.class_overrides = o.class_overrides;
    // A hosts-file answer is final, as for applications (files before dns): DNS is not asked.
    if (o.hosts_addresses.empty())
      r.lookups = dns::resolve_all(o.resolvers, {{o.authority.host}}, dopt);
    choose_addresses(o, r);
    if (r.addresses.empty()) return done(Step::Dns, dns_failure(r));
  }

  std::vector<tcp::Target> targets;
  for (const auto& a : r.addresses) targets.push_back({a, o.authority.port, tcp::Role::Custom});
  tcp::Options topt;
  topt.timeout = o.timeout;
  auto probed = tcp::probe_all(targets, topt);
  if (!probed) {
    r.tool_error =
        "the TCP probes of " + o.authority.str() + " could not run: " + probed.error().message;
    return done(Step::None, {});
  }
  r.tcp = std::move(*probed);
  const auto open = std::find_if(r.tcp.begin(), r.tcp.end(),
                                 [](const tcp::Result& t) { return t.state == tcp::State::Open; });
  if (open == r.tcp.end()) {
    std::string each;
    for (const auto& t : r.tcp) each += (each.empty() ? "" : "; ") + words(t);
    return done(Step::Tcp, "no address of " + o.authority.host + " accepted a connection on port " +
                               std::to_string(o.authority.port) + ": " + each);
  }

  handshake(o, r, open->target.address);
  if (!r.tls)
    return done(Step::Tls, "the TLS handshake with " + o.authority.host + " (" +
                               open->target.address + ":" + std::to_string(o.authority.port) +
                               ") did not complete: " + r.tls_error);
  if (r.tls->version_number != 0 && r.tls->version_number < 0x0303)
    return done(Step::Tls, o.authority.host + " negotiated " + r.tls->version +
                               ", below the TLS 1.2 that Microsoft Entra ID requires");
  if (auto problems = certificate_problems(r, o.ca_file); !problems.empty())
    return done(Step::Certificate,
                "the certificate " + o.authority.host + " presented would be refused: " + problems);
  return done(Step::None, {});
}

}  // namespace midiag::entra
