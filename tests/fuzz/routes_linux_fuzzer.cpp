// Fuzzes the Linux route parser (ip route/rule, net-tools columns, /proc hex, multipath) and the
// lookup over whatever it read: every line is a route, a rule, a header or listed as unread, and
// a lookup's answers point inside the table.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/routes/route_table.h"
#include "tests/fuzz/fuzz_check.h"

namespace rt = midiag::platform::routes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text =
      rt::normalize_text(std::string_view(reinterpret_cast<const char*>(data), size));
  std::size_t lines = 1;
  for (char c : text) lines += c == '\n' ? 1U : 0U;
  auto parsed = rt::parse_linux(text);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().kind == midiag::ErrorKind::Usage);
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  const rt::RouteTable& t = *parsed;
  FUZZ_CHECK(!t.routes.empty() || !t.rules.empty());
  FUZZ_CHECK(t.routes.size() + t.rules.size() + t.unread.size() <= 2 * lines);
  for (const auto& r : t.routes) {
    FUZZ_CHECK(r.family() == 4 || r.family() == 6);
    FUZZ_CHECK(r.destination.length >= 0 && r.destination.length <= (r.family() == 4 ? 32 : 128));
    FUZZ_CHECK(r.destination.contains(r.destination.network));
    FUZZ_CHECK(!r.table.empty());
  }
  for (const auto& u : t.unread) {
    FUZZ_CHECK(u.line >= 1 && u.line <= lines);
    FUZZ_CHECK(!u.reason.empty());
  }
  // A lookup toward each of a few destinations, the routes' own networks among them.
  rt::Address probes[4];
  probes[0] = *rt::Address::parse("10.1.2.3");
  probes[1] = *rt::Address::parse("2001:db8::1");
  probes[2] = t.routes.empty() ? probes[0] : t.routes.front().destination.network;
  probes[3] = t.routes.empty() ? probes[1] : t.routes.back().destination.network;
  for (const auto& to : probes) {
    const auto l = rt::lookup(t, to);
    FUZZ_CHECK(!l.reason.empty());
    if (l.route) {
      FUZZ_CHECK(*l.route < t.routes.size());
      FUZZ_CHECK(t.routes[*l.route].destination.contains(to));
      FUZZ_CHECK(t.routes[*l.route].active);
    }
    if (l.rule) FUZZ_CHECK(*l.rule < t.rules.size());
    for (auto b : l.beaten) FUZZ_CHECK(b < t.routes.size() && b != l.route);
  }
  return 0;
}
