// A tiny authoritative DNS server for the simulated instance's zone, over UDP: A records for the
// VNet-local and public names, NXDOMAIN for other names in the zone, REFUSED for everything else.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "platform/posix/unique_fd.h"

namespace midiag::sim {

// Another name with its own address (a partner instance, possibly in another zone).
struct DnsRecord {
  std::string name;  // lower case
  in_addr address{};
};
// A CNAME (a failover-group listener): answered with the CNAME, then the target's A record
// when the target is one of this responder's names.
struct DnsAlias {
  std::string name, target;  // lower case
  std::uint32_t ttl = 30;
};

struct DnsZone {
  std::string zone;                // "<zone>.database.windows.net", lower case
  std::vector<std::string> names;  // answered with `address`, lower case
  in_addr address{};
  std::uint32_t ttl = 5;
  std::vector<DnsRecord> records;  // answered too, also outside `zone`
  std::vector<DnsAlias> aliases;
};

// The reply to one query datagram; nothing when it is not worth answering (too short, a reply).
std::optional<std::vector<std::uint8_t>> dns_reply(std::span<const std::uint8_t> query,
                                                   const DnsZone& zone);

class DnsResponder {
 public:
  // `udp` is bound; the responder owns it. `stop_fd` is not owned.
  DnsResponder(UniqueFd udp, int stop_fd, DnsZone zone, std::atomic<std::uint64_t>* queries);
  ~DnsResponder();  // joins
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;
  void join();

 private:
  void run();
  UniqueFd fd_;
  int stop_fd_;
  DnsZone zone_;
  std::atomic<std::uint64_t>* queries_;
  std::thread thread_;
};

}  // namespace midiag::sim
