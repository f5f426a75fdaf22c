#include "agent/simulator/instance.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "agent/simulator/certs.h"
#include "agent/simulator/dns_responder.h"
#include "agent/simulator/misbehaviour.h"
#include "agent/simulator/plain_tls.h"
#include "agent/simulator/tcp_server.h"
#include "agent/simulator/tds_conn.h"
#include "agent/simulator/tls_session.h"
#include "platform/posix/unique_fd.h"

namespace midiag::sim {

namespace {

constexpr int kBacklog = 64;

Error sys_error(const std::string& what) {
  return make_error(what + ": " + std::strerror(errno));
}

// A socket bound to address:port (0 = ephemeral); `listening` for a TCP listener.
Expected<std::pair<UniqueFd, std::uint16_t>> bind_socket(int type, in_addr address,
                                                         std::uint16_t port, bool listening,
                                                         const std::string& what) {
  UniqueFd fd(socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("creating the " + what + " socket");
  int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr = address;
  a.sin_port = htons(port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return sys_error("binding the " + what + " to port " + std::to_string(port));
  }
  if (listening && listen(fd.get(), kBacklog) != 0) return sys_error("listening on the " + what);
  socklen_t len = sizeof a;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return std::pair<UniqueFd, std::uint16_t>(std::move(fd), ntohs(a.sin_port));
}

}  // namespace

struct SimulatedInstance::Impl {
  InstanceConfig config;
  Certificates certs;
  SslCtxPtr ssl, strict_ssl;  // strict_ssl: TDS 8, null unless config.accepts_strict
  Counters counters;
  TdsContext gateway_ctx, node_ctx;
  UniqueFd stop_fd, refused_node;  // refused_node: bound, never listening, so connects get RST
  std::uint16_t gateway_port = 0, node_port = 0, dns_port = 0;
  std::unique_ptr<TcpServer> gateway, node;
  std::unique_ptr<DnsResponder> dns;
  std::atomic<std::uint32_t> connection_seq{0};
  std::mutex stop_mutex;
  bool stopped = false;
};

Expected<std::unique_ptr<SimulatedInstance>> SimulatedInstance::start(
    const InstanceConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  InstanceConfig& cfg = impl->config;
  in_addr address{};
  if (inet_pton(AF_INET, cfg.bind_address.c_str(), &address) != 1) {
    return make_error("bind address '" + cfg.bind_address + "' is not an IPv4 address");
  }
  if (cfg.routed_host.empty()) cfg.routed_host = cfg.bind_address;
  const std::string zone = cfg.zone + ".database.windows.net";
  if (cfg.cert_name.empty()) cfg.cert_name = "*." + zone;

  CertRequest request{cfg.cert_name, {}, cfg.cert_expired};
  // The default certificate also covers the names one label deeper: the public endpoint's and the
  // failover-group read-only listener's (<fog>.secondary.<zone>).
  if (cfg.cert_name == "*." + zone) {
    request.extra_sans.push_back("*.public." + zone);
    request.extra_sans.push_back("*.secondary." + zone);
  }
  for (const auto& n : cfg.extra_cert_names) request.extra_sans.push_back(n);
  auto certs = make_certificates(request);
  if (!certs) return certs.error();
  impl->certs = std::move(*certs);
  auto ssl = make_server_ctx(impl->certs, cfg.max_tls_version);
  if (!ssl) return ssl.error();
  impl->ssl = std::move(*ssl);
  if (cfg.accepts_strict) {
    auto strict = make_server_ctx(impl->certs, cfg.max_tls_version, /*strict=*/true);
    if (!strict) return strict.error();
    impl->strict_ssl = std::move(*strict);
  }

  impl->stop_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (impl->stop_fd.get() < 0) return sys_error("creating the stop event");
  auto gateway = bind_socket(SOCK_STREAM, address, cfg.gateway_port, true, "gateway");
  if (!gateway) return gateway.error();
  auto node = bind_socket(SOCK_STREAM, address, cfg.node_port, !cfg.node_refuses, "node");
  if (!node) return node.error();
  auto dns = bind_socket(SOCK_DGRAM, address, cfg.dns_port, false, "DNS responder");
  if (!dns) return dns.error();
  impl->gateway_port = gateway->second;
  impl->node_port = node->second;
  impl->dns_port = dns->second;

  ServerVersion version = parse_server_version(cfg.version);
  impl->gateway_ctx = {Role::Gateway,
                       &impl->config,
                       version,
                       impl->ssl.get(),
                       impl->strict_ssl.get(),
                       cfg.routed_port.value_or(impl->node_port),
                       impl->gateway_port,
                       cfg.routed_host,
                       &impl->counters.gateway,
                       &impl->counters.redirects};
  impl->node_ctx = impl->gateway_ctx;
  impl->node_ctx.role = Role::Node;
  impl->node_ctx.counters = &impl->counters.node;

  Impl* self = impl.get();
  TcpServerOptions common;
  common.stop_fd = impl->stop_fd.get();
  common.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
  common.max_lifetime = std::chrono::milliseconds(cfg.max_connection_ms);

  TcpServerOptions gw = common;
  gw.on_accept = [self] { self->counters.gateway.connections++; };
  gw.make_handler = [self, version]() -> std::unique_ptr<Handler> {
    const InstanceConfig& c = self->config;
    if (c.gateway_behaviour == Behaviour::PlainTls)  // TLS up to 1.3 unless max_tls_version
      return make_plain_tls_handler(self->strict_ssl ? self->strict_ssl.get() : self->ssl.get());
    auto odd = make_misbehaving_handler(c.gateway_behaviour, version, c.encryption,
                                        c.seed + self->connection_seq.fetch_add(1));
    if (odd) return odd;
    return std::make_unique<TdsConnection>(self->gateway_ctx);
  };
  impl->gateway = std::make_unique<TcpServer>(std::move(gateway->first), std::move(gw));

  if (cfg.node_refuses) {
    impl->refused_node = std::move(node->first);
  } else {
    TcpServerOptions nd = common;
    nd.on_accept = [self] { self->counters.node.connections++; };
    nd.make_handler = [self] { return std::make_unique<TdsConnection>(self->node_ctx); };
    impl->node = std::make_unique<TcpServer>(std::move(node->first), std::move(nd));
  }

  DnsZone dns_zone;
  dns_zone.zone = zone;
  dns_zone.names = {cfg.instance + "." + zone, cfg.instance + ".public." + zone};
  for (auto* s : {&dns_zone.zone, &dns_zone.names[0], &dns_zone.names[1]}) {
    for (char& ch : *s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  dns_zone.address = address;
  dns_zone.records = cfg.dns_records;
  dns_zone.aliases = cfg.dns_aliases;
  impl->dns = std::make_unique<DnsResponder>(std::move(dns->first), impl->stop_fd.get(),
                                             std::move(dns_zone), &impl->counters.dns_queries);
  return std::unique_ptr<SimulatedInstance>(new SimulatedInstance(std::move(impl)));
}

SimulatedInstance::SimulatedInstance(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SimulatedInstance::~SimulatedInstance() {
  stop();
}

std::uint16_t SimulatedInstance::gateway_port() const {
  return impl_->gateway_port;
}
std::uint16_t SimulatedInstance::node_port() const {
  return impl_->node_port;
}
std::uint16_t SimulatedInstance::dns_port() const {
  return impl_->dns_port;
}
std::string SimulatedInstance::fqdn() const {
  return impl_->config.instance + "." + impl_->config.zone + ".database.windows.net";
}
std::string SimulatedInstance::ca_pem() const {
  return impl_->certs.ca_pem;
}
const InstanceConfig& SimulatedInstance::config() const {
  return impl_->config;
}
Stats SimulatedInstance::stats() const {
  return impl_->counters.snapshot();
}

void SimulatedInstance::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Never read back, so the eventfd stays readable and wakes every loop, now and later.
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = write(impl_->stop_fd.get(), &one, sizeof one);
  impl_->gateway.reset();
  impl_->node.reset();
  impl_->dns.reset();
  impl_->refused_node.reset();
  impl_->stop_fd.reset();
}

}  // namespace midiag::sim
