#include "platform/text/resolv_conf.h"

#include "decoders/dns/message.h"
#include "platform/text/input_file.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace midiag::platform {
namespace {

constexpr std::size_t kMaxNameservers = 3;  // glibc MAXNS: later nameserver lines are ignored
constexpr int kMaxTimeout = 30;             // glibc RES_MAXRETRANS
constexpr int kMaxAttempts = 5;             // glibc RES_MAXRETRY

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return lines;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  constexpr std::string_view kSpace = " \t\r\f\v";
  for (auto start = line.find_first_not_of(kSpace); start != std::string_view::npos;
       start = line.find_first_not_of(kSpace, start)) {
    const auto stop = std::min(line.find_first_of(kSpace, start), line.size());
    out.push_back(line.substr(start, stop - start));
    start = stop;
  }
  return out;
}

std::string_view strip_comment(std::string_view line, std::string_view markers) {
  return line.substr(0, std::min(line.find_first_of(markers), line.size()));
}

// Numeric IPv4/IPv6, optionally with a %scope (fe80::1%eth0), as hosts files allow.
bool is_address(std::string_view text) {
  const std::string addr(text.substr(0, std::min(text.find('%'), text.size())));
  unsigned char buf[16];
  return inet_pton(AF_INET, addr.c_str(), buf) == 1 || inet_pton(AF_INET6, addr.c_str(), buf) == 1;
}

std::optional<int> option_value(std::string_view word, std::string_view key) {
  if (word.substr(0, key.size()) != key) return std::nullopt;
  const auto digits = word.substr(key.size());
  int value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return value;
}

enum class Nameserver { Usable, Scoped, Invalid };

// glibc takes "fe80::1%eth0" as IPv6 with a zone (interface name or index); IPv4 has no zone.
Nameserver classify_nameserver(std::string_view text, bool& link_local) {
  const auto pct = text.find('%');
  const std::string addr(text.substr(0, pct));
  unsigned char buf[16];
  link_local = false;
  if (pct == std::string_view::npos) {
    const bool ok =
        inet_pton(AF_INET, addr.c_str(), buf) == 1 || inet_pton(AF_INET6, addr.c_str(), buf) == 1;
    return ok ? Nameserver::Usable : Nameserver::Invalid;
  }
  if (pct + 1 == text.size() || inet_pton(AF_INET6, addr.c_str(), buf) != 1)
    return Nameserver::Invalid;
  link_local = buf[0] == 0xfe && (buf[1] & 0xc0) == 0x80;  // fe80::/10
  return Nameserver::Scoped;
}

}  // namespace

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf conf;
  for (auto line : split_lines(text)) {
    const auto w = words(strip_comment(line, "#;"));
    if (w.size() < 2) continue;  // blank, comment, or a keyword with nothing after it
    if (w[0] == "nameserver") {
      if (conf.nameservers.size() + conf.skipped.size() >= kMaxNameservers) continue;
      bool link_local = false;
      switch (classify_nameserver(w[1], link_local)) {
        case Nameserver::Usable:
          conf.nameservers.emplace_back(w[1]);
          break;
        case Nameserver::Scoped:
          conf.skipped.push_back(
              {std::string(w[1]),
               std::string(link_local ? "scoped link-local nameserver " : "scoped nameserver ") +
                   std::string(w[1]) + ": c-ares 1.18 cannot use it; skipped"});
          break;
        case Nameserver::Invalid:
          break;  // glibc ignores it too
      }
    } else if (w[0] == "search" || w[0] == "domain") {
      // The last search/domain line wins, as in glibc; "domain" is a one-entry search list.
      conf.search.assign(w.begin() + 1, w[0] == "domain" ? w.begin() + 2 : w.end());
    } else if (w[0] == "options") {
      for (auto it = w.begin() + 1; it != w.end(); ++it) {
        if (auto t = option_value(*it, "timeout:")) conf.timeout_s = std::clamp(*t, 1, kMaxTimeout);
        if (auto a = option_value(*it, "attempts:"))
          conf.attempts = std::clamp(*a, 1, kMaxAttempts);
      }
    }
  }
  return conf;
}

Expected<ResolvConf> load_resolv_conf(const std::string& path) {
  auto text = read_input_file(path, kMaxResolvConfBytes, "resolv.conf");
  if (!text) return text.error();
  return parse_resolv_conf(*text);
}

std::vector<HostsEntry> parse_hosts(std::string_view text) {
  std::vector<HostsEntry> entries;
  int number = 0;
  for (auto line : split_lines(text)) {
    ++number;
    const auto w = words(strip_comment(line, "#"));
    if (w.size() < 2 || !is_address(w[0])) continue;  // glibc skips such lines too
    HostsEntry e{std::string(w[0]), {w.begin() + 1, w.end()}, number};
    entries.push_back(std::move(e));
  }
  return entries;
}

Expected<std::vector<HostsEntry>> load_hosts(const std::string& path) {
  auto text = read_input_file(path, kMaxHostsBytes, "hosts file");
  if (!text) return text.error();
  return parse_hosts(*text);
}

std::vector<HostsEntry> hosts_entries_for(const std::vector<HostsEntry>& hosts,
                                          std::string_view host) {
  const std::string want = dns::canonical_name(host);
  std::vector<HostsEntry> out;
  for (const auto& e : hosts) {
    if (std::any_of(e.names.begin(), e.names.end(),
                    [&](const std::string& n) { return dns::canonical_name(n) == want; })) {
      out.push_back(e);
    }
  }
  return out;
}

}  // namespace midiag::platform
