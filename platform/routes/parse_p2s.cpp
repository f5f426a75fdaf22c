// The point-to-site VPN client's routes.txt (the Connection Manager route file that Azure's P2S
// package ships): "ADD 10.1.0.0 MASK 255.255.0.0 default METRIC default IF default", one command a
// line, '#' comments. "default" gateway and interface mean the VPN connection's own.
#include "platform/routes/route_table.h"
#include "platform/routes/text_lines.h"

namespace midiag::platform::routes {

namespace {

using text::equals_nocase;

// One ADD/DELETE line, tokens after any comment was cut off. Empty `problem`: `e` is the route.
RouteEntry command(const std::vector<text::Token>& tok, std::string& problem) {
  RouteEntry e;
  e.interface = "vpn";
  std::size_t i = 0;
  if (equals_nocase(tok[i].text, "route")) ++i;  // "route ADD ..." as typed at a prompt
  const bool remove = equals_nocase(tok[i].text, "delete");
  ++i;
  if (i >= tok.size()) {
    problem = "no destination";
    return e;
  }
  const std::string_view dest_text = tok[i++].text;
  std::optional<Prefix> prefix;
  if (i + 1 < tok.size() && equals_nocase(tok[i].text, "mask")) {
    const auto dest = Address::parse(dest_text);
    const auto mask = Address::parse(tok[i + 1].text);
    if (!dest || !mask) {
      problem = "destination or mask is not an address";
      return e;
    }
    prefix = Prefix::from_mask(*dest, *mask);
    if (!prefix) {
      problem = "mask '" + std::string(tok[i + 1].text) + "' is not contiguous";
      return e;
    }
    i += 2;
  } else {
    // No MASK: a "/len" destination, or a host route (route.exe's default mask).
    prefix = Prefix::parse(dest_text);
    if (!prefix || dest_text == "default") {
      problem = "destination '" + std::string(dest_text) + "' is not an address or prefix";
      return e;
    }
  }
  e.destination = *prefix;
  if (i < tok.size() && !equals_nocase(tok[i].text, "metric") &&
      !equals_nocase(tok[i].text, "if")) {
    const std::string_view gw = tok[i++].text;
    e.gateway_text = std::string(gw);
    if (!equals_nocase(gw, "default")) {
      e.gateway = Address::parse(gw);
      if (!e.gateway || e.gateway->family != e.family()) {
        problem = "gateway '" + std::string(gw) + "' is not 'default' or an address";
        return e;
      }
    }
  }
  while (i < tok.size()) {
    const std::string_view key = tok[i].text;
    if (i + 1 >= tok.size()) {
      problem = "'" + std::string(key) + "' without a value";
      return e;
    }
    const std::string_view value = tok[i + 1].text;
    if (equals_nocase(key, "metric")) {
      if (!equals_nocase(value, "default")) {
        e.metric = text::number(value);
        if (!e.metric) {
          problem = "metric '" + std::string(value) + "' is not 'default' or a number";
          return e;
        }
      }
    } else if (equals_nocase(key, "if")) {
      if (!equals_nocase(value, "default")) {
        if (!text::all_digits(value)) {
          problem = "interface '" + std::string(value) + "' is not 'default' or an index";
          return e;
        }
        e.interface = std::string(value);  // a numbered interface instead of the VPN's own
      }
    } else {
      problem = "unknown word '" + std::string(key) + "'";
      return e;
    }
    i += 2;
  }
  if (remove) {
    // DELETE takes the destination off the VPN: an exclusion, never a route to choose.
    e.kind = "exclude";
    e.active = false;
  }
  return e;
}

}  // namespace

Expected<RouteTable> parse_p2s(std::string_view input) {
  RouteTable table;
  table.format = SourceFormat::P2s;
  text::UnreadList unread(table.unread);
  bool remove_gateway = false;
  const auto all = text::lines(input);
  for (std::size_t n = 0; n < all.size(); ++n) {
    const std::string_view raw = all[n];
    const std::string_view body = raw.substr(0, raw.find('#'));
    const auto tok = text::tokens(body);
    if (tok.empty()) continue;  // blank or a comment
    std::size_t verb = equals_nocase(tok[0].text, "route") && tok.size() > 1 ? 1 : 0;
    if (tok.size() == 1 && equals_nocase(tok[0].text, "remove_gateway")) {
      remove_gateway = true;  // Connection Manager: drop the VPN's default gateway (split tunnel)
      continue;
    }
    if (!equals_nocase(tok[verb].text, "add") && !equals_nocase(tok[verb].text, "delete")) {
      unread.add(n + 1, raw, "not an ADD or DELETE line");
      continue;
    }
    std::string problem;
    RouteEntry e = command(tok, problem);
    if (!problem.empty()) {
      unread.add(n + 1, raw, problem);
      continue;
    }
    e.origin = "line " + std::to_string(n + 1);
    table.routes.push_back(std::move(e));
  }
  unread.finish();
  if (table.routes.empty()) {
    std::string msg =
        "no P2S routes.txt lines found: expected lines like 'ADD 10.1.0.0 MASK 255.255.0.0 default "
        "METRIC default IF default'";
    if (!table.unread.empty())
      msg += "; line " + std::to_string(table.unread.front().line) + ": " +
             table.unread.front().reason;
    return make_error(msg, ErrorKind::Usage);
  }
  table.note = "P2S routes.txt";
  if (remove_gateway) table.note += "; REMOVE_GATEWAY: the VPN does not take the default route";
  return table;
}

}  // namespace midiag::platform::routes
