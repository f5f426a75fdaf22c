// Azure's effective routes of a NIC: `az network nic show-effective-route-table` JSON
// ({"value": [{source, state, addressPrefix[], nextHopType, nextHopIpAddress[]}]}), a bare
// list of those, or PowerShell's `Get-AzEffectiveRouteTable | ConvertTo-Json` (Name, State,
// Source, AddressPrefix, NextHopType, NextHopIpAddress). One entry per address prefix; Azure
// marks a route another one overrides as "Invalid", so only Active routes are ever chosen.
#include <string>

#include "platform/routes/azure_json.h"
#include "platform/routes/route_table.h"

namespace midiag::platform::routes {

namespace {

constexpr std::size_t kMaxUnread = 1000;

constexpr const char* kExpected =
    "expected the JSON of `az network nic show-effective-route-table` ({\"value\": [{\"source\", "
    "\"state\", \"addressPrefix\": [...], \"nextHopType\", \"nextHopIpAddress\": [...]}]}) or of "
    "Get-AzEffectiveRouteTable | ConvertTo-Json";

}  // namespace

Expected<RouteTable> parse_azure_effective(std::string_view raw) {
  namespace aj = azure_json;
  const std::string text = normalize_text(raw);
  const auto doc = aj::parse(text);
  if (!doc) return make_error(std::string("not JSON: ") + kExpected, ErrorKind::Usage);
  nlohmann::json holder;
  const nlohmann::json* list = aj::list_of(*doc, "addressPrefix", holder);
  if (list == nullptr)
    return make_error(std::string("no list of effective routes: ") + kExpected, ErrorKind::Usage);

  RouteTable table;
  table.format = SourceFormat::AzureEffective;
  std::size_t unread_total = 0;
  auto unread = [&](std::size_t index, std::string what, const nlohmann::json& j,
                    std::string reason) {
    if (++unread_total > kMaxUnread) return;
    table.unread.push_back({index + 1, what + ": " + aj::preview(j), std::move(reason)});
  };

  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& r = (*list)[i];
    const std::string where = "value[" + std::to_string(i) + "]";
    if (!r.is_object()) {
      unread(i, where, r, "not an object");
      continue;
    }
    const auto prefixes = aj::strings(r, "addressPrefix");
    const std::string hop = aj::text(r, "nextHopType");
    if (prefixes.empty()) {
      unread(i, where, r, "no addressPrefix");
      continue;
    }
    if (hop.empty()) {
      unread(i, where, r, "no nextHopType");
      continue;
    }
    const std::string state = aj::text(r, "state");
    const std::string source = aj::text(r, "source");
    const std::string name = aj::text(r, "name");
    const auto hops = aj::strings(r, "nextHopIpAddress");
    std::optional<Address> gateway;
    std::string gateway_text;
    for (const auto& h : hops) {
      if (!gateway_text.empty()) gateway_text += ",";
      gateway_text += h;
    }
    if (!hops.empty()) {
      gateway = Address::parse(hops.front());
      if (!gateway) {
        unread(i, where, r, "nextHopIpAddress is not an address");
        continue;
      }
    }
    for (std::size_t p = 0; p < prefixes.size(); ++p) {
      auto prefix = Prefix::parse(prefixes[p]);
      if (!prefix) {
        unread(i, where + ".addressPrefix[" + std::to_string(p) + "]", nlohmann::json(prefixes[p]),
               "not an address prefix");
        continue;
      }
      RouteEntry e;
      e.destination = *prefix;
      e.gateway = gateway;
      e.gateway_text = gateway_text;
      e.interface = hop;
      e.kind = hop;
      // Azure writes "Active" or "Invalid"; anything else is not known to carry traffic.
      e.active = aj::iequals(state, "Active") || state.empty();
      e.origin = where;
      if (!source.empty()) e.origin += ", source " + source;
      if (!name.empty()) e.origin += ", route " + name;
      if (!state.empty() && !aj::iequals(state, "Active") && !aj::iequals(state, "Invalid"))
        e.origin += ", state " + state;
      table.routes.push_back(std::move(e));
    }
  }
  if (unread_total > table.unread.size())
    table.unread.push_back({0, "",
                            std::to_string(unread_total - table.unread.size()) +
                                " more members not read (only the first " +
                                std::to_string(kMaxUnread) + " are listed)"});
  if (table.routes.empty() && table.unread.empty())
    return make_error(std::string("no effective routes in the list: ") + kExpected,
                      ErrorKind::Usage);
  return table;
}

}  // namespace midiag::platform::routes
