// Fuzzes the Azure effective-route JSON parser (CLI, bare list and PowerShell shapes): a table
// with its unread members or a Usage error, never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/routes/route_table.h"
#include "tests/fuzz/fuzz_check.h"

namespace routes = midiag::platform::routes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = routes::parse_azure_effective(text);
  if (!t) {
    FUZZ_CHECK(t.error().kind == midiag::ErrorKind::Usage);
    FUZZ_CHECK(t.error().message.find("show-effective-route-table") != std::string::npos);
    return 0;
  }
  FUZZ_CHECK(t->format == routes::SourceFormat::AzureEffective);
  FUZZ_CHECK(!t->routes.empty() || !t->unread.empty());
  FUZZ_CHECK(t->unread.size() <= 1001);
  for (const auto& r : t->routes) {
    FUZZ_CHECK(!r.kind.empty() && r.kind == r.interface);
    FUZZ_CHECK(r.origin.starts_with("value["));
    FUZZ_CHECK(r.destination.length <= (r.family() == 4 ? 32 : 128));
    if (r.gateway) FUZZ_CHECK(!r.gateway_text.empty());
  }
  for (const auto& u : t->unread) FUZZ_CHECK(!u.reason.empty());
  return 0;
}
