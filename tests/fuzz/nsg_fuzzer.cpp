// Fuzzes the effective-NSG JSON parser and the flow verdict over whatever it reads: the
// verdict names the deny that decided it, stops at the first deny, and never throws; the one
// verdict for the redirect range (source known or not, as `routes --nsg` asks it) names exactly
// the ports denied and undetermined, in order, inside the range.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/routes/nsg.h"
#include "tests/fuzz/fuzz_check.h"

namespace routes = midiag::platform::routes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto n = routes::parse_effective_nsgs(text);
  if (!n) {
    FUZZ_CHECK(n.error().kind == midiag::ErrorKind::Usage);
    FUZZ_CHECK(n.error().message.find("list-effective-nsg") != std::string::npos);
    return 0;
  }
  FUZZ_CHECK(!n->groups.empty());
  for (const auto& g : n->groups) {
    FUZZ_CHECK(g.on_subnet || g.on_nic);
    for (std::size_t i = 1; i < g.rules.size(); ++i)
      FUZZ_CHECK(g.rules[i - 1].priority <= g.rules[i].priority);
  }
  const char* addresses[] = {"10.1.0.4", "10.5.0.10", "20.40.1.1", "fd00::5"};
  for (const auto dir : {routes::NsgDirection::Outbound, routes::NsgDirection::Inbound})
    for (const std::uint16_t port : {1433, 11000, 443})
      for (const char* to : addresses) {
        routes::Flow f;
        f.source = *routes::Address::parse("10.1.0.4");
        f.destination = *routes::Address::parse(to);
        f.destination_port = port;
        f.direction = dir;
        const auto v = routes::evaluate_flow(*n, f);
        FUZZ_CHECK(v.steps.size() <= 2 * n->groups.size());
        if (!v.allow) {
          FUZZ_CHECK(!v.rule.empty());
          FUZZ_CHECK(!v.steps.empty() && !v.steps.back().allow);
          for (std::size_t i = 0; i + 1 < v.steps.size(); ++i) FUZZ_CHECK(v.steps[i].allow);
        }
        FUZZ_CHECK(v.text().starts_with(v.allow ? "Access Allow" : "Access Deny"));
      }
  // The redirect range as `routes --nsg --to` asks it, with and without --from.
  for (const bool source_given : {true, false}) {
    routes::Flow f;
    f.source = *routes::Address::parse("10.1.0.4");
    f.source_given = source_given;
    f.destination = *routes::Address::parse("10.5.0.10");
    const auto r = routes::evaluate_ports(*n, f, {11000, 11999});
    FUZZ_CHECK(r.allow == r.denied.empty());
    FUZZ_CHECK(r.determined == r.undetermined.empty());
    std::size_t ports = 0;
    for (const auto* spans : {&r.denied, &r.undetermined}) {
      std::uint32_t next = 11000;
      for (const auto& s : *spans) {
        FUZZ_CHECK(s.low >= next && s.low <= s.high && s.high <= 11999);
        next = s.high + 2U;  // merged: two spans never touch
        ports += s.high - s.low + 1U;
      }
    }
    FUZZ_CHECK(ports <= 1000);
    if (!r.allow) FUZZ_CHECK(!r.verdict.allow && r.verdict.determined && !r.verdict.rule.empty());
    if (!r.allow || r.determined)
      FUZZ_CHECK(r.text().starts_with(r.allow ? "Access Allow" : "Access Deny"));
  }
  return 0;
}
