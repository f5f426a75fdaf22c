#include "platform/linux/listening.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace midiag::platform {

namespace {

// One table: rows "sl local_address rem_address st ..." with the local address as HEX:PORT
// (port in hexadecimal) and the state in hexadecimal (0A: LISTEN).
bool listens_in(std::ifstream& in, std::uint16_t port) {
  char want[8];
  std::snprintf(want, sizeof want, "%04X", static_cast<unsigned>(port));
  std::string line;
  std::getline(in, line);  // the header
  for (std::size_t n = 0; n < 1000000 && std::getline(in, line); ++n) {
    std::istringstream row(line);
    std::string slot, local, remote, state;
    if (!(row >> slot >> local >> remote >> state)) continue;
    const auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (state == "0A" && local.substr(colon + 1) == want) return true;
  }
  return false;
}

}  // namespace

Expected<bool> tcp_port_listening(std::uint16_t port, const std::string& proc_net) {
  bool read_any = false;
  for (const char* table : {"/tcp", "/tcp6"}) {
    std::ifstream in(proc_net + table);
    if (!in) continue;
    read_any = true;
    if (listens_in(in, port)) return true;
  }
  if (!read_any) return make_error("cannot read " + proc_net + "/tcp or tcp6", ErrorKind::Io);
  return false;
}

}  // namespace midiag::platform
