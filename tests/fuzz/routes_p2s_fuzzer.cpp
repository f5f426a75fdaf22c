// Fuzzes parse_p2s (the P2S VPN routes.txt): raw bytes, then the same bytes through normalize_text
// as the CLI reads a file; the answer is checked by route_table_check.h and must not depend on the
// run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/routes/route_table.h"
#include "tests/fuzz/route_table_check.h"

namespace routes = midiag::platform::routes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const auto first = routes::parse_p2s(raw);
  route_fuzz::check(first, raw, routes::SourceFormat::P2s);
  const auto second = routes::parse_p2s(raw);
  FUZZ_CHECK(first.ok() == second.ok());
  if (first) FUZZ_CHECK(first->routes.size() == second->routes.size());
  const std::string text = routes::normalize_text(raw);
  route_fuzz::check(routes::parse_p2s(text), text, routes::SourceFormat::P2s);
  return 0;
}
