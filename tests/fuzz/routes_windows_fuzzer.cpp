// Fuzzes parse_windows (Windows `route print` / `netsh show route` text): raw bytes, then the same
// bytes through normalize_text as the CLI reads a file; the answer is checked by
// route_table_check.h and must not depend on the run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/routes/route_table.h"
#include "tests/fuzz/route_table_check.h"

namespace routes = midiag::platform::routes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const auto first = routes::parse_windows(raw);
  route_fuzz::check(first, raw, routes::SourceFormat::Windows);
  const auto second = routes::parse_windows(raw);
  FUZZ_CHECK(first.ok() == second.ok());
  if (first) FUZZ_CHECK(first->routes.size() == second->routes.size());
  const std::string text = routes::normalize_text(raw);
  route_fuzz::check(routes::parse_windows(text), text, routes::SourceFormat::Windows);
  return 0;
}
