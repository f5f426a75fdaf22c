// What every route parser's answer must satisfy, whatever the input: a Usage error that says what
// it expected, or a table whose entries are well-formed prefixes pointing at real lines.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "platform/routes/route_table.h"
#include "tests/fuzz/fuzz_check.h"

namespace route_fuzz {

namespace routes = midiag::platform::routes;

inline std::size_t line_count(std::string_view text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

inline void check(const midiag::Expected<routes::RouteTable>& r, std::string_view text,
                  routes::SourceFormat format) {
  if (!r) {
    FUZZ_CHECK(r.error().kind == midiag::ErrorKind::Usage);
    FUZZ_CHECK(!r.error().message.empty());
    return;
  }
  const routes::RouteTable& t = *r;
  FUZZ_CHECK(t.format == format);
  const std::size_t lines = line_count(text);
  FUZZ_CHECK(t.unread.size() <= 1001);
  for (const auto& u : t.unread) {
    FUZZ_CHECK(u.line <= lines);
    FUZZ_CHECK(!u.reason.empty());
  }
  for (const auto& e : t.routes) {
    const int bits = e.family() == 4 ? 32 : 128;
    FUZZ_CHECK(e.family() == 4 || e.family() == 6);
    FUZZ_CHECK(e.destination.length >= 0 && e.destination.length <= bits);
    // Host bits are zero: the prefix's own text reads back to the same prefix.
    const auto again = routes::Prefix::parse(e.destination.text());
    FUZZ_CHECK(again && again->network == e.destination.network &&
               again->length == e.destination.length);
    if (e.gateway) FUZZ_CHECK(e.gateway->family == e.family());
    FUZZ_CHECK(e.origin.rfind("line ", 0) == 0);
    FUZZ_CHECK(std::stoul(e.origin.substr(5)) <= lines);
    FUZZ_CHECK(!e.active || e.kind != "exclude");
  }
}

}  // namespace route_fuzz
