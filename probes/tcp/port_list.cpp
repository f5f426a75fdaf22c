#include <charconv>
#include <optional>
#include <vector>

#include "probes/tcp/tcp_probe.h"

namespace midiag::tcp {
namespace {

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  s = trim(s);
  unsigned v = 0;
  // Six digits is already out of range; the cap keeps from_chars away from overflow.
  if (s.empty() || s.size() > 6) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

Error bad(std::string_view element, std::string_view why) {
  return make_error("invalid port list element \"" + std::string(element) +
                    "\": " + std::string(why));
}

}  // namespace

Expected<std::vector<std::uint16_t>> parse_port_list(std::string_view text) {
  if (trim(text).empty()) return make_error("empty port list");
  // A bitmap bounds memory however many overlapping ranges the text repeats.
  std::vector<bool> seen(65536, false);
  std::size_t index = 0;
  for (std::size_t pos = 0; pos <= text.size(); ++index) {
    auto comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    auto element = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (element.empty()) {
      return make_error("port list \"" + std::string(text) + "\" has an empty element (#" +
                        std::to_string(index + 1) + ")");
    }
    auto dash = element.find('-');
    auto lo = parse_port(element.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : parse_port(element.substr(dash + 1));
    if (!lo || !hi) return bad(element, "expected a port 1-65535 or a range such as 11000-11999");
    if (*lo > *hi) return bad(element, "range start is greater than its end");
    for (unsigned p = *lo; p <= *hi; ++p) seen[p] = true;
  }
  std::vector<std::uint16_t> ports;
  for (unsigned p = 1; p < seen.size(); ++p) {
    if (seen[p]) ports.push_back(static_cast<std::uint16_t>(p));
  }
  return ports;
}

}  // namespace midiag::tcp
