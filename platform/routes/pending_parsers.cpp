// TEMPORARY, DELETE AT MERGE: weak stand-ins for the parsers other branches write
// (parse_windows.cpp, parse_p2s.cpp, parse_azure_vpn_xml.cpp, parse_macos.cpp,
// parse_azure_effective.cpp), so this branch links before they land. A real definition in the same
// link overrides a weak one only if its object is pulled in: delete this file when they merge.
#include "platform/routes/route_table.h"

namespace midiag::platform::routes {

namespace {
Error pending(std::string_view what) {
  return make_error(std::string(what) + " routes: not implemented yet", ErrorKind::Usage);
}
}  // namespace

__attribute__((weak)) Expected<RouteTable> parse_windows(std::string_view) {
  return pending("Windows route print");
}
__attribute__((weak)) Expected<RouteTable> parse_p2s(std::string_view) {
  return pending("point-to-site routes.txt");
}
__attribute__((weak)) Expected<RouteTable> parse_azure_vpn_xml(std::string_view) {
  return pending("azurevpnconfig.xml");
}

}  // namespace midiag::platform::routes
