#include "agent/routes_bundle.h"

#include <array>

#include "platform/text/archive_members.h"

namespace midiag::agent {

namespace rt = platform::routes;

Expected<rt::RouteTable> read_bundle_routes(const std::string& path, std::size_t max_bytes) {
  static constexpr std::array<std::string_view, 4> kMembers = {
      "system/routes-ipv4.txt", "system/routes-ipv6.txt", "system/rules-ipv4.txt",
      "system/rules-ipv6.txt"};
  auto members = platform::read_archive_members(
      path,
      [](std::string_view name) {
        for (auto m : kMembers)
          if (name == m) return true;
        return false;
      },
      max_bytes);
  if (!members) return members.error();
  rt::RouteTable t;
  t.format = rt::SourceFormat::Linux;
  std::string read;
  for (auto m : kMembers) {
    auto it = members->find(std::string(m));
    if (it == members->end() || it->second.empty()) continue;
    auto part = rt::parse_linux(rt::normalize_text(it->second));
    if (!part) continue;  // an empty member (no IPv6) holds no table
    const int family = m.find("ipv6") != std::string_view::npos ? 6 : 4;
    for (auto& r : part->routes) {
      r.origin = std::string(m) + " " + r.origin;
      t.routes.push_back(std::move(r));
    }
    for (auto& p : part->rules) {
      p.family = family;
      p.origin = std::string(m) + " " + p.origin;
      t.rules.push_back(std::move(p));
    }
    for (auto& u : part->unread) {
      u.reason = std::string(m) + ": " + u.reason;
      t.unread.push_back(std::move(u));
    }
    read += (read.empty() ? "" : ", ") + std::string(m);
  }
  if (t.routes.empty() && t.rules.empty())
    return make_error("--from-file " + path +
                          ": an archive without a mi-diag bundle's route members (expected "
                          "system/routes-ipv4.txt and the others)",
                      ErrorKind::Usage);
  t.note = "mi-diag bundle: " + read;
  return t;
}

}  // namespace midiag::agent
