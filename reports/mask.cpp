#include "reports/mask.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "reports/ascii.h"

namespace midiag::reports {

namespace {

using namespace ascii;

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Top-level domains a host name in a report plausibly ends in; file names (report.json,
// resolv.conf, run.sh) must not look like hosts, so this is a short list, not the root zone.
constexpr std::array<std::string_view, 46> kTlds{
    "com",      "net",     "org",   "io",          "edu",      "gov", "mil",  "int",
    "info",     "biz",     "co",    "us",          "uk",       "de",  "fr",   "nl",
    "jp",       "cn",      "in",    "au",          "ca",       "eu",  "ch",   "se",
    "no",       "dk",      "fi",    "be",          "at",       "es",  "it",   "pl",
    "br",       "kr",      "local", "localdomain", "internal", "lan", "corp", "home",
    "intranet", "private", "cloud", "dev",         "app",      "test"};

// Azure service suffixes kept as they are, longest first: the reader still sees the endpoint kind.
constexpr std::array<std::string_view, 17> kAzureSuffixes{"database.usgovcloudapi.net",
                                                          "database.chinacloudapi.cn",
                                                          "database.cloudapi.de",
                                                          "database.windows.net",
                                                          "database.azure.com",
                                                          "internal.cloudapp.net",
                                                          "servicebus.windows.net",
                                                          "reddog.microsoft.com",
                                                          "cloudapp.azure.com",
                                                          "trafficmanager.net",
                                                          "core.windows.net",
                                                          "vault.azure.net",
                                                          "cloudapp.net",
                                                          "microsoftonline.com",
                                                          "windows.net",
                                                          "azure.com",
                                                          "azure.net"};

// Public service names that identify nobody.
constexpr std::array<std::string_view, 5> kKeptNames{
    "login.microsoftonline.com", "management.azure.com", "graph.microsoft.com", "login.windows.net",
    "management.core.windows.net"};

bool valid_host(std::string_view name, bool& azure) {
  if (name.size() > 253) return false;
  std::size_t labels = 0;
  std::string_view last;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view l = name.substr(start, dot - start);
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    last = l;
    ++labels;
    start = dot + 1;
  }
  if (labels < 2) return false;
  const std::string low = lowered(name);
  azure = false;
  for (auto s : kAzureSuffixes)
    if (low.size() > s.size() && low.ends_with(s) && low[low.size() - s.size() - 1] == '.')
      azure = true;
  if (azure) return true;
  const std::string tld = lowered(last);
  for (auto t : kTlds)
    if (tld == t) return true;
  return false;
}

// The word before an address, skipping "=", ":", quotes and blanks: "version 1.2.3.4".
bool after_version_word(std::string_view in, std::size_t at) {
  std::size_t j = at;
  while (j > 0 && at - j < 4 &&
         (in[j - 1] == ' ' || in[j - 1] == '\t' || in[j - 1] == '=' || in[j - 1] == ':' ||
          in[j - 1] == '"' || in[j - 1] == '\''))
    --j;
  std::size_t k = j;
  while (k > 0 && j - k < 32 && is_alpha(in[k - 1])) --k;
  const std::string word = lowered(in.substr(k, j - k));
  return word.ends_with("version") || word == "ver";
}

bool parse_ipv4(std::string_view s, std::uint32_t& addr) {
  std::uint32_t out = 0;
  std::size_t parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    std::uint32_t v = 0;
    while (i < s.size() && is_digit(s[i]) && digits < 4) {
      v = v * 10 + static_cast<std::uint32_t>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || v > 255) return false;
    out = out << 8 | v;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  if (parts != 4) return false;
  addr = out;
  return true;
}

std::string dotted(std::uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF,
                a & 0xFF);
  return buf;
}

// A /24's kind: the range its masked prefix is drawn from (prefixes as a.b.c, 24 bits).
struct V4Range {
  std::uint32_t base;
  std::uint32_t size;
};
V4Range v4_range(std::uint32_t prefix) {
  const std::uint32_t a = prefix >> 16;
  const std::uint32_t b = (prefix >> 8) & 0xFF;
  if (a == 10) return {10u << 16, 1u << 16};
  if (a == 172 && b >= 16 && b < 32) return {(172u << 16) | (16u << 8), 16u << 8};
  if (a == 192 && b == 168) return {(192u << 16) | (168u << 8), 1u << 8};
  if (a == 100 && b >= 64 && b < 128) return {(100u << 16) | (64u << 8), 64u << 8};
  return {11u << 16, 89u << 16};  // any other unicast: into 11.0.0.0 - 99.255.255.255
}

}  // namespace

std::uint64_t Masker::hash(std::string_view kind, std::string_view what) const {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  auto eat = [&](std::string_view s) {
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
    h = (h ^ 0xFF) * 0x100000001B3ULL;
  };
  eat(kind);
  eat(what);
  return splitmix(h ^ splitmix(seed_));
}

void Masker::remember(std::string_view original, std::string_view masked) {
  auto [it, fresh] = seen_.emplace(std::string(original), std::string(masked));
  if (fresh) order_.emplace_back(it->first, it->second);
}

std::string Masker::ipv4(std::uint32_t addr) {
  const std::uint32_t a = addr >> 24;
  if (a == 0 || a == 127 || a >= 224 || (addr >> 16) == ((169u << 8) | 254u) ||
      addr == ((168u << 24) | (63u << 16) | (129u << 8) | 16u))
    return {};
  const std::uint32_t prefix = addr >> 8;
  auto it = v4_prefix_.find(prefix);
  if (it == v4_prefix_.end()) {
    const V4Range r = v4_range(prefix);
    const std::string key(reinterpret_cast<const char*>(&prefix), sizeof prefix);
    std::uint32_t idx = static_cast<std::uint32_t>(hash("v4", key) % r.size);
    // One-to-one: probe past masked prefixes already handed out. The input kind and its output
    // range have the same size (public: far more than a bundle holds), so this ends.
    for (std::uint32_t tries = 0; tries < r.size && v4_used_.count(r.base + idx) != 0; ++tries)
      idx = (idx + 1) % r.size;
    v4_used_.insert(r.base + idx);
    it = v4_prefix_.emplace(prefix, r.base + idx).first;
  }
  const std::string masked = dotted(it->second << 8 | (addr & 0xFF));
  remember(dotted(addr), masked);
  return masked;
}

std::string Masker::ipv6(const std::uint8_t (&addr)[16]) {
  static constexpr std::uint8_t kZero[10] = {};
  if (addr[0] == 0xFF) return {};
  if (std::memcmp(addr, kZero, 10) == 0 && addr[10] == 0xFF && addr[11] == 0xFF) {
    const std::uint32_t v4 = static_cast<std::uint32_t>(addr[12]) << 24 |
                             static_cast<std::uint32_t>(addr[13]) << 16 |
                             static_cast<std::uint32_t>(addr[14]) << 8 | addr[15];
    const std::string m = ipv4(v4);
    return m.empty() ? m : "::ffff:" + m;
  }
  std::uint64_t prefix = 0;
  std::uint64_t iid = 0;
  for (int k = 0; k < 8; ++k) prefix = prefix << 8 | addr[k];
  for (int k = 8; k < 16; ++k) iid = iid << 8 | addr[k];
  if (prefix == 0 && iid <= 1) return {};  // :: and ::1
  std::uint64_t mprefix = prefix;
  if (prefix != 0xFE80ULL << 48 && prefix != 0) {
    auto it = v6_prefix_.find(prefix);
    if (it == v6_prefix_.end()) {
      const std::string key(reinterpret_cast<const char*>(&prefix), sizeof prefix);
      const std::uint64_t top = prefix & (0xFFFFULL << 48);
      std::uint64_t low = hash("v6", key) & 0xFFFFFFFFFFFFULL;
      for (int tries = 0; tries < 1000 && v6_used_.count(top | low) != 0; ++tries)
        low = (low + 1) & 0xFFFFFFFFFFFFULL;
      v6_used_.insert(top | low);
      it = v6_prefix_.emplace(prefix, top | low).first;
    }
    mprefix = it->second;
  }
  std::uint64_t miid = iid;
  if (iid >= 0x10000) {
    const std::string key(reinterpret_cast<const char*>(&iid), sizeof iid);
    miid = hash("iid", key) | (1ULL << 32);  // stays above the small ids that are kept
  }
  std::uint8_t out[16];
  for (int k = 0; k < 8; ++k) out[k] = static_cast<std::uint8_t>(mprefix >> (56 - 8 * k));
  for (int k = 0; k < 8; ++k) out[8 + k] = static_cast<std::uint8_t>(miid >> (56 - 8 * k));
  char orig[INET6_ADDRSTRLEN];
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, addr, orig, sizeof orig) == nullptr ||
      inet_ntop(AF_INET6, out, text, sizeof text) == nullptr)
    return {};
  remember(orig, text);
  return text;
}

std::string Masker::label(std::string_view l) {
  const std::string key = lowered(l);
  if (key == "public" || key == "privatelink") return key;
  auto it = labels_.find(key);
  if (it != labels_.end()) return it->second;
  std::uint64_t h = hash("label", key);
  std::string m;
  for (int tries = 0; tries < 1000; ++tries, h = splitmix(h)) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "h%06x", static_cast<unsigned>(h & 0xFFFFFF));
    m = buf;
    if (labels_used_.count(m) == 0) break;
  }
  labels_used_.insert(m);
  labels_.emplace(key, m);
  return m;
}

std::string Masker::host(std::string_view name) {
  const std::string low = lowered(name);
  for (auto k : kKeptNames)
    if (low == k) return {};
  if (auto it = seen_.find(low); it != seen_.end()) return it->second;
  std::string_view suffix;
  for (auto s : kAzureSuffixes)
    if (low.size() > s.size() && low.ends_with(s) && low[low.size() - s.size() - 1] == '.') {
      suffix = s;
      break;
    }
  std::string_view rest(low);
  if (suffix.empty()) suffix = rest.substr(rest.rfind('.') + 1);
  rest = rest.substr(0, rest.size() - suffix.size() - 1);
  std::string masked;
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t dot = rest.find('.', start);
    if (dot == std::string_view::npos) dot = rest.size();
    masked += label(rest.substr(start, dot - start));
    masked += '.';
    start = dot + 1;
  }
  masked += suffix;
  remember(low, masked);
  return masked;
}

std::string Masker::mask_text(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    const char prev = i > 0 ? in[i - 1] : ' ';
    const bool boundary = !(is_alnum(prev) || prev == '.' || prev == '-' || prev == '_');
    const bool v6_start = is_hex(c) || (c == ':' && i + 1 < in.size() && in[i + 1] == ':');
    if (!boundary || !(is_alnum(c) || v6_start)) {
      out += c;
      ++i;
      continue;
    }
    if (v6_start) {
      // The longest IPv6 text is 45 characters: looking no further keeps this linear.
      std::size_t e = i;
      std::size_t colons = 0;
      while (e < in.size() && e - i <= 45 && (is_hex(in[e]) || in[e] == ':' || in[e] == '.')) {
        if (in[e] == ':') ++colons;
        ++e;
      }
      std::size_t end = e;
      while (end > i && in[end - 1] == '.') --end;
      const bool ends = end == in.size() ||
                        !(is_alnum(in[end]) || in[end] == ':' || in[end] == '_' || in[end] == '-');
      if (colons >= 2 && e - i <= 45 && ends) {
        const std::string text(in.substr(i, end - i));
        std::uint8_t addr[16];
        if (inet_pton(AF_INET6, text.c_str(), addr) == 1) {
          const std::string m = ipv6(addr);
          out += m.empty() ? text : m;
          i = end;
          continue;
        }
      }
      if (c == ':') {
        out += c;
        ++i;
        continue;
      }
    }
    // A run of host-name characters: an IPv4 address, a host name, or neither (copied whole).
    std::size_t e = i;
    while (e < in.size() && (is_alnum(in[e]) || in[e] == '.' || in[e] == '-')) ++e;
    std::size_t end = e;
    while (end > i && (in[end - 1] == '.' || in[end - 1] == '-')) --end;
    const std::string_view run = in.substr(i, end - i);
    std::string m;
    if (e == in.size() || in[e] != '_') {
      std::uint32_t addr = 0;
      bool azure = false;
      if (parse_ipv4(run, addr)) {
        if (!after_version_word(in, i)) m = ipv4(addr);
      } else if (valid_host(run, azure)) {
        m = host(run);
      }
    }
    if (m.empty())
      out.append(run);
    else
      out += m;
    i = end;
  }
  return out;
}

}  // namespace midiag::reports
