// Explain rules: evidence in, findings out, most causal first.
#pragma once

#include <vector>

#include "reports/evidence.h"
#include "reports/finding.h"

namespace midiag::reports {

std::vector<Finding> explain_target(const Evidence& ev);
std::vector<Finding> explain_dns(const Evidence& ev);
std::vector<Finding> explain_routes(const Evidence& ev);
// --mode link: MI_LINK_NEEDS_VNET_LOCAL, MI_LINK_PORT_UNREACHABLE (5022, the range, this host's
// own endpoint).
std::vector<Finding> explain_link(const Evidence& ev);
std::vector<Finding> explain_tcp(const Evidence& ev, const std::vector<Finding>& earlier);
std::vector<Finding> explain_tds(const Evidence& ev);  // TDS, TLS, login, redirect
// Failover groups: FOG_LISTENER_NOT_ON_PUBLIC_ENDPOINT, FOG_DNS_ZONE_MISMATCH,
// FOG_SECONDARY_UNREACHABLE; marks the findings they explain in `all` (the other rules' output).
std::vector<Finding> explain_failover_group(const Evidence& ev, std::vector<Finding>& all);
// --auth entra: ENTRA_ENDPOINT_UNREACHABLE when the authority failed at DNS, TCP, TLS or its
// certificate (reports/explain_entra.cpp).
std::vector<Finding> explain_entra(const Evidence& ev, const std::vector<Finding>& earlier);
// CHECK_INCOMPLETE for every step on the path that failed or was skipped for want of time or
// resources: what it would have seen is unknown, never healthy.
std::vector<Finding> explain_collectors(const Evidence& ev);

// analyze: findings from the connections a capture holds (resets, SYNs, ICMP, path MTU, login).
std::vector<Finding> explain_capture(const Evidence& ev);

// check: its own live capture was analysed (ev.packets beside ev.capture).
bool live_capture(const Evidence& ev);
// check: the capture's connection of one socket-level probe (by its local port), if seen.
const CaptureSession* session_for(const Evidence& ev, const tcp::Result& r);
// "session 2 (a -> b): RST TTL 64 (0 hops) vs the sender's other packets TTL 63 (1 hops, ...)".
std::string reset_line(const CaptureSession& s);
// check: a never-filled hole in the capture confirms (or adds) PATH_MTU_BLACKHOLE.
void confirm_with_packets(const Evidence& ev, std::vector<Finding>& all);

// Hop count inferred from a received TTL: distance below the nearest initial TTL (64, 128, 255).
int hops_from_ttl(std::uint8_t ttl);

// How sure a capture makes us that a RST came from a middlebox, not the server.
enum class ResetJudgement { Genuine, Unknown, Likely, Middlebox };
ResetJudgement judge_reset(const CaptureReset& r);

// All rules, merged and ordered: causes first, each effect tagged with what caused it.
std::vector<Finding> explain(const Evidence& ev);

// "dns[system] A name -> 10.0.0.4 [private, ttl 5] via CNAME a -> b in 1.2 ms": one lookup as an
// evidence line.
std::string describe_lookup(const dns::Lookup& l);

// "12.3 ms": how evidence lines show durations.
std::string format_ms(double v);

// "1433", "11000-11999", "1433, 5022, 11000-11999".
std::string format_ports(std::vector<std::uint16_t> ports);

}  // namespace midiag::reports
