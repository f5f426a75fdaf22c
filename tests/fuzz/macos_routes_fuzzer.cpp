// Fuzzes the macOS/BSD netstat route parser: any text is a table with its unread lines listed
// or a Usage error, never a crash, and every entry points at a line that exists.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/routes/route_table.h"
#include "tests/fuzz/fuzz_check.h"

namespace routes = midiag::platform::routes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = routes::parse_macos(text);
  if (!t) {
    FUZZ_CHECK(t.error().kind == midiag::ErrorKind::Usage);
    FUZZ_CHECK(t.error().message.find("netstat -rn") != std::string::npos);
    return 0;
  }
  FUZZ_CHECK(t->format == routes::SourceFormat::MacOs);
  FUZZ_CHECK(!t->routes.empty() || !t->unread.empty());
  FUZZ_CHECK(t->unread.size() <= 1001);
  const std::size_t lines = routes::normalize_text(text).size() + 1;  // at most one per byte
  for (const auto& r : t->routes) {
    FUZZ_CHECK(r.destination.length >= 0);
    FUZZ_CHECK(r.destination.length <= (r.family() == 4 ? 32 : 128));
    FUZZ_CHECK(r.origin.starts_with("line "));
    FUZZ_CHECK(std::stoul(r.origin.substr(5)) <= lines);
    FUZZ_CHECK(!r.interface.empty() && !r.flags.empty() && !r.gateway_text.empty());
    // The network is its own prefix's first address.
    FUZZ_CHECK(routes::Prefix::parse(r.destination.text())->text() == r.destination.text());
    if (r.gateway) FUZZ_CHECK(r.gateway->family == 4 || r.gateway->family == 6);
  }
  for (const auto& u : t->unread) {
    FUZZ_CHECK(!u.reason.empty());
    FUZZ_CHECK(u.text.size() <= 200);
    FUZZ_CHECK(u.line <= lines);
  }
  for (const auto& i : t->interfaces) FUZZ_CHECK(!i.name.empty());
  return 0;
}
