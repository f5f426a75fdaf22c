#include "platform/azure/imds.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "platform/posix/unique_fd.h"
#include "platform/routes/azure_json.h"

namespace midiag::platform::azure {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

int ms_left(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Headers on top of the body bound: IMDS sends a handful.
constexpr std::size_t kHeaderRoom = 16 * 1024;

std::optional<int> decimal(std::string_view s, int max) {
  int v = 0;
  if (s.empty() || s.size() > 6) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  return routes::azure_json::iequals(line.substr(0, name.size()), name);
}

}  // namespace

std::string duration_words(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  if (ms > 1000 && ms % 100 == 0)
    return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
  return std::to_string(ms) + " ms";
}

ImdsAnswer imds_get(const ImdsRequest& rq) {
  ImdsAnswer a;
  const auto t0 = Clock::now();
  const auto deadline = t0 + rq.timeout;
  const std::string within = " within " + duration_words(rq.timeout);
  auto done = [&](std::string err, ErrorKind kind) {
    a.error = std::move(err);
    a.kind = a.error.empty() ? ErrorKind::Other : kind;
    a.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return a;
  };
  std::string hostport = rq.base;
  if (!hostport.starts_with("http://"))
    return done("only http:// IMDS addresses are supported", ErrorKind::Usage);
  hostport = hostport.substr(7);
  if (auto slash = hostport.find('/'); slash != std::string::npos) hostport.resize(slash);
  std::string host = hostport;
  std::optional<int> port = 80;
  if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = decimal(std::string_view(hostport).substr(colon + 1), 65535);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (!port || *port == 0 || inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
    return done("bad IMDS address " + rq.base, ErrorKind::Usage);
  sa.sin_port = htons(static_cast<std::uint16_t>(*port));
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return done(std::string("socket: ") + std::strerror(errno), ErrorKind::Resource);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS)
    return done(std::string("connect: ") + std::strerror(errno), ErrorKind::Io);
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, ms_left(deadline)) <= 0) return done("no answer" + within, ErrorKind::TimedOut);
  int soerr = 0;
  socklen_t len = sizeof soerr;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (soerr != 0) return done(std::string("connect: ") + std::strerror(soerr), ErrorKind::Io);
  std::string req = "GET " + rq.path + " HTTP/1.0\r\nHost: " + hostport + "\r\n";
  if (rq.metadata_header) req += "Metadata: true\r\n";
  req += "Connection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd w{fd.get(), POLLOUT, 0};
      if (::poll(&w, 1, ms_left(deadline)) <= 0)
        return done("no answer" + within, ErrorKind::TimedOut);
      continue;
    }
    if (n < 0) return done(std::string("send: ") + std::strerror(errno), ErrorKind::Io);
    sent += static_cast<std::size_t>(n);
  }
  std::string resp;
  const std::size_t cap = rq.max_body + kHeaderRoom;
  std::array<char, 8192> buf{};
  for (;;) {
    pollfd r{fd.get(), POLLIN, 0};
    if (::poll(&r, 1, ms_left(deadline)) <= 0)
      return done(resp.empty() ? "no answer" + within : "no complete answer" + within,
                  ErrorKind::TimedOut);
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0)
      return done(std::string("recv: ") + std::strerror(errno),
                  errno == ECONNRESET ? ErrorKind::Reset : ErrorKind::Io);
    if (n == 0) break;
    resp.append(buf.data(), static_cast<std::size_t>(n));
    if (resp.size() > cap) {
      a.cut = true;
      break;
    }
  }
  if (!resp.starts_with("HTTP/")) return done("not an HTTP answer", ErrorKind::Malformed);
  const auto hdr_end = resp.find("\r\n\r\n");
  if (hdr_end == std::string::npos)
    return done(a.cut ? "HTTP headers larger than " + std::to_string(kHeaderRoom) + " bytes"
                      : "the HTTP answer ended inside its headers",
                ErrorKind::Malformed);
  const std::string_view head(resp.data(), hdr_end);
  const auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  const auto sp = status_line.find(' ');
  auto status =
      sp == std::string_view::npos ? std::nullopt : decimal(status_line.substr(sp + 1, 3), 999);
  if (!status) return done("not an HTTP answer", ErrorKind::Malformed);
  a.status = *status;
  std::optional<std::size_t> content_length;
  for (std::size_t at = line_end; at != std::string_view::npos && at < head.size();) {
    const auto next = head.find("\r\n", at + 2);
    const auto line = head.substr(
        at + 2, next == std::string_view::npos ? std::string_view::npos : next - at - 2);
    if (header_is(line, "Content-Length")) {
      auto v = line.substr(line.find(':') + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      std::size_t n = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec == std::errc() && ptr == v.data() + v.size()) content_length = n;
    }
    at = next;
  }
  a.body = resp.substr(hdr_end + 4);
  if (a.body.size() > rq.max_body || (content_length && *content_length > rq.max_body)) {
    a.cut = true;
    if (a.body.size() > rq.max_body) a.body.resize(rq.max_body);
  }
  if (a.status != 200) return done("HTTP status " + std::to_string(a.status), ErrorKind::Other);
  if (a.cut)
    return done("answer larger than " + std::to_string(rq.max_body) + " bytes: cut there",
                ErrorKind::Resource);
  if (content_length && a.body.size() < *content_length)
    return done("the answer ended after " + std::to_string(a.body.size()) + " of " +
                    std::to_string(*content_length) + " bytes",
                ErrorKind::Closed);
  return done("", ErrorKind::Other);
}

// ------------------------------------------------------------------------------------ parser

namespace {

std::string kind_of(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "a list";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    default:
      return "a number";
  }
}

class Reader {
 public:
  explicit Reader(ImdsInfo& info) : info_(info) {}

  void unread(std::string where, std::string why) {
    if (info_.unread.size() < kMaxUnread) {
      info_.unread.push_back({std::move(where), std::move(why)});
    } else if (info_.unread.size() == kMaxUnread) {
      info_.unread.push_back({"(more)", "further unread members not listed"});
    }
  }

  // A member expected to be a string: nullopt when absent; not a string is unread.
  std::optional<std::string> string_at(const json& obj, std::string_view key,
                                       const std::string& where) {
    const auto* m = routes::azure_json::member(obj, key);
    if (m == nullptr) return std::nullopt;
    if (!m->is_string()) {
      unread(where + "." + std::string(key),
             m->is_null()
                 ? std::string("null, not a string")
                 : kind_of(*m) + " (" + routes::azure_json::preview(*m, 60) + "), not a string");
      return std::nullopt;
    }
    return m->get<std::string>();
  }

  // A member expected to be a list: nullptr when absent; anything else is unread.
  const json* list_at(const json& obj, std::string_view key, const std::string& where) {
    const auto* m = routes::azure_json::member(obj, key);
    if (m == nullptr) return nullptr;
    if (!m->is_array()) {
      unread(where + "." + std::string(key), kind_of(*m) + ", not a list");
      return nullptr;
    }
    return m;
  }

  const json* object_at(const json& obj, std::string_view key, const std::string& where) {
    const auto* m = routes::azure_json::member(obj, key);
    if (m == nullptr) return nullptr;
    if (!m->is_object()) {
      unread(where + "." + std::string(key), kind_of(*m) + ", not an object");
      return nullptr;
    }
    return m;
  }

  void compute(const json& c) {
    if (auto v = string_at(c, "name", "compute")) info_.name = *v;
    if (auto v = string_at(c, "location", "compute")) info_.location = *v;
    if (auto v = string_at(c, "vmId", "compute")) info_.vm_id = *v;
  }

  void network(const json& n, const std::string& where) {
    const auto* list = list_at(n, "interface", where);
    if (list == nullptr) {
      if (routes::azure_json::member(n, "interface") == nullptr)
        unread(where + ".interface", "missing: no interface listed");
      return;
    }
    std::size_t i = 0;
    for (const auto& nic : *list) {
      const std::string at = where + ".interface[" + std::to_string(i) + "]";
      if (i++ == kMaxInterfaces) {
        unread(where + ".interface", std::to_string(list->size() - kMaxInterfaces) +
                                         " more interfaces not read (limit " +
                                         std::to_string(kMaxInterfaces) + ")");
        break;
      }
      if (!nic.is_object()) {
        unread(at, kind_of(nic) + ", not an object");
        continue;
      }
      ImdsInterface out;
      if (auto mac = string_at(nic, "macAddress", at)) {
        out.mac = normal_mac(*mac);
        if (out.mac.empty())
          unread(at + ".macAddress", "'" + mac->substr(0, 40) + "' is not 12 hex digits");
      }
      for (int family : {4, 6}) {
        const std::string fam = family == 4 ? "ipv4" : "ipv6";
        const auto* f = object_at(nic, fam, at);
        if (f != nullptr) addresses(*f, family, at + "." + fam, out);
      }
      info_.interfaces.push_back(std::move(out));
    }
  }

 private:
  static std::string normal_mac(std::string_view raw) {
    std::string hex;
    for (char c : raw) {
      if (c == ':' || c == '-') continue;
      if (!std::isxdigit(static_cast<unsigned char>(c)) || hex.size() == 12) return {};
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 12) return {};
    std::string out;
    for (std::size_t k = 0; k < 12; k += 2) out += (k ? ":" : "") + hex.substr(k, 2);
    return out;
  }

  // An address field: "" means none (IMDS writes empty public fields); else it must be an
  // address of this family.
  void address(const json& entry, std::string_view key, int family, const std::string& where,
               std::vector<std::string>& into) {
    auto v = string_at(entry, key, where);
    if (!v || v->empty()) return;
    auto a = routes::Address::parse(*v);
    if (!a || a->family != family || !a->zone.empty()) {
      unread(where + "." + std::string(key),
             "'" + v->substr(0, 60) + "' is not an IPv" + std::to_string(family) + " address");
      return;
    }
    if (into.size() < kMaxPerList * 2) into.push_back(a->text());
  }

  template <typename Each>
  void each(const json& list, const std::string& where, Each&& fn) {
    std::size_t i = 0;
    for (const auto& e : list) {
      if (i == kMaxPerList) {
        unread(where, std::to_string(list.size() - kMaxPerList) + " more entries not read (limit " +
                          std::to_string(kMaxPerList) + ")");
        return;
      }
      const std::string at = where + "[" + std::to_string(i++) + "]";
      if (!e.is_object()) {
        unread(at, kind_of(e) + ", not an object");
        continue;
      }
      fn(e, at);
    }
  }

  void addresses(const json& f, int family, const std::string& where, ImdsInterface& out) {
    if (const auto* ips = list_at(f, "ipAddress", where))
      each(*ips, where + ".ipAddress", [&](const json& e, const std::string& at) {
        address(e, "privateIpAddress", family, at, out.private_addresses);
        address(e, "publicIpAddress", family, at, out.public_addresses);
      });
    if (const auto* subnets = list_at(f, "subnet", where))
      each(*subnets, where + ".subnet", [&](const json& e, const std::string& at) {
        auto addr = string_at(e, "address", at);
        auto prefix = string_at(e, "prefix", at);
        if (!addr || !prefix) {
          const bool missing =
              routes::azure_json::member(e, addr ? "prefix" : "address") == nullptr;
          if (missing) unread(at, std::string("missing its ") + (addr ? "prefix" : "address"));
          return;
        }
        auto a = routes::Address::parse(*addr);
        const int bits = family == 4 ? 32 : 128;
        auto len = decimal(*prefix, bits);
        if (!a || a->family != family || !a->zone.empty()) {
          unread(at + ".address", "'" + addr->substr(0, 60) + "' is not an IPv" +
                                      std::to_string(family) + " address");
          return;
        }
        if (!len || *len == 0) {
          unread(at + ".prefix", "'" + prefix->substr(0, 20) + "' is not a prefix length 1-" +
                                     std::to_string(bits));
          return;
        }
        auto p = routes::Prefix::parse(a->text() + "/" + std::to_string(*len));
        if (!p) return;  // cannot happen: both parts were checked
        out.subnets.push_back({*addr, *prefix, *p});
      });
  }

  ImdsInfo& info_;
};

}  // namespace

Expected<ImdsInfo> parse_imds(std::string_view text) {
  if (text.size() > kMaxDocument)
    return make_error("IMDS document larger than " + std::to_string(kMaxDocument) + " bytes",
                      ErrorKind::Malformed);
  auto doc = routes::azure_json::parse(text);
  if (!doc) return make_error("not JSON", ErrorKind::Malformed);
  if (!doc->is_object())
    return make_error("not an IMDS document: " + kind_of(*doc) + ", not an object",
                      ErrorKind::Malformed);
  ImdsInfo info;
  Reader r(info);
  const auto* compute = routes::azure_json::member(*doc, "compute");
  const auto* network = routes::azure_json::member(*doc, "network");
  if (compute != nullptr || network != nullptr) {
    if (compute != nullptr && compute->is_object())
      r.compute(*compute);
    else if (compute != nullptr)
      r.unread("compute", kind_of(*compute) + ", not an object");
    if (network == nullptr)
      r.unread("network", "missing: the document lists no interface");
    else if (network->is_object())
      r.network(*network, "network");
    else
      r.unread("network", kind_of(*network) + ", not an object");
  } else if (routes::azure_json::member(*doc, "interface") != nullptr) {
    r.network(*doc, "");
  } else {
    return make_error(
        "not an IMDS document: neither an instance (compute, network) nor a network (interface) "
        "document",
        ErrorKind::Malformed);
  }
  // The network document's paths start at its root: "interface[0]...", not ".interface[0]".
  for (auto& u : info.unread)
    if (u.where.starts_with('.')) u.where.erase(0, 1);
  return info;
}

ImdsRelation relate(const ImdsInfo& vm, const std::string& address, AddressScope scope) {
  ImdsRelation r;
  r.address = address;
  auto a = routes::Address::parse(address);
  std::string listed;
  for (const auto& nic : vm.interfaces)
    for (const auto& s : nic.subnets) {
      listed += (listed.empty() ? "" : ", ") + s.parsed.text();
      if (a && s.parsed.contains(*a)) {
        r.relation = "same subnet";
        r.detail = address + " is in this VM's subnet " + s.parsed.text() +
                   (nic.mac.empty() ? "" : " (interface " + nic.mac + ")") +
                   ": the same VNet, reached without peering";
        return r;
      }
    }
  if (listed.empty()) listed = "none listed";
  if (scope == AddressScope::Private) {
    r.relation = "another network";
    r.detail = address + " is private but in none of this VM's subnets (" + listed +
               "): another subnet of this VNet, or another VNet reached by peering, a VPN or a "
               "private endpoint (IMDS lists the VM's subnets, not its VNet's address space)";
  } else if (scope == AddressScope::Public) {
    r.relation = "public address";
    r.detail = address +
               " is a public address: the connection leaves the VNet by this VM's outbound path "
               "unless a route sends it elsewhere";
  } else {
    r.relation = "not a VNet address";
    r.detail = address + " is loopback, link-local or reserved: not reached through a VNet";
  }
  return r;
}

}  // namespace midiag::platform::azure
