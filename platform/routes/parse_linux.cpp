// Linux route listings, any of them, several concatenated in one file: `ip route` / `ip -6 route`
// / `ip route show table all` (types, tables, multipath nexthops), `ip rule`, net-tools `route -n`
// / `route -6 -n` / `route -ee` / `netstat -rn[e[e]]` (columns found by their header), and
// /proc/net/route and /proc/net/ipv6_route (hex).
#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "platform/routes/route_table.h"
#include "platform/routes/text_lines.h"

namespace midiag::platform::routes {

namespace {

using Tokens = std::vector<std::string_view>;

Tokens split(std::string_view line) {
  Tokens out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const auto start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<std::uint32_t> number(std::string_view s, int base = 10) {
  if (base == 16 && (s.starts_with("0x") || s.starts_with("0X"))) s.remove_prefix(2);
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// A metric as net-tools prints it: "-1" is the 32-bit all-ones value.
std::optional<std::uint32_t> metric_number(std::string_view s) {
  if (s == "-1") return 0xFFFFFFFFU;
  return number(s);
}

std::string table_name(std::string_view t) {
  if (t == "255") return "local";
  if (t == "254") return "main";
  if (t == "253") return "default";
  return std::string(t);
}

std::optional<Address> address(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  return Address::parse(s);
}

// A destination as Linux tools print it: "default", "A", "A/len" (numeric only: "10" is not
// 10.0.0.0/8 here as it would be on BSD). `family` is used for "default" and "0/0".
std::optional<Prefix> linux_prefix(std::string_view s, int family) {
  if (s == "default" || s == "all") {
    Prefix p;
    p.network.family = family;
    return p;
  }
  if (s.size() >= 2 && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string joined(s.substr(1, close - 1));
    joined += s.substr(close + 1);
    return linux_prefix(joined, family);
  }
  if (!address(s.substr(0, s.find('/')))) return std::nullopt;
  return Prefix::parse(s);
}

bool is_hex(std::string_view s, std::size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

constexpr std::string_view kRouteTypes[] = {"unicast", "local",       "broadcast", "multicast",
                                            "anycast", "unreachable", "prohibit",  "blackhole",
                                            "throw",   "nat",         "none",      "unspec"};

// `ip route` attributes followed by a value the model does not keep.
constexpr std::string_view kValueKeys[] = {"proto",         "scope",
                                           "pref",          "expires",
                                           "mtu",           "advmss",
                                           "error",         "hoplimit",
                                           "realms",        "realm",
                                           "nhid",          "tos",
                                           "dsfield",       "weight",
                                           "rtt",           "rttvar",
                                           "window",        "cwnd",
                                           "initcwnd",      "initrwnd",
                                           "quickack",      "congctl",
                                           "features",      "ssthresh",
                                           "reordering",    "fastopen_no_cookie",
                                           "ttl-propagate", "uid",
                                           "rto_min",       "from",
                                           "iif",           "age",
                                           "users",         "used"};

// Route flags `ip route` prints as words.
constexpr std::string_view kFlagWords[] = {
    "linkdown", "onlink",     "dead",    "pervasive",      "offload",          "trap",
    "notify",   "rt_offload", "rt_trap", "offload_failed", "rt_offload_failed"};

template <std::size_t N>
bool one_of(std::string_view s, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

void add_flag(std::string& flags, std::string_view word) {
  if (!flags.empty()) flags += ' ';
  flags += word;
}

class LinuxParser {
 public:
  Expected<RouteTable> run(std::string_view text) {
    // One route a line at most: reserved once (pages never written stay unallocated) instead of
    // doubling, whose last copy held a million routes twice.
    t_.routes.reserve(::midiag::platform::routes::text::line_count(text));
    std::size_t line_no = 0;
    while (!text.empty()) {
      const auto nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      ++line_no;
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
        line.remove_suffix(1);
      one_line(line, line_no);
    }
    flush_parent();
    settle_default_families();
    if (t_.routes.empty() && t_.rules.empty())
      return make_error(
          "no Linux route or rule found: expected `ip route`, `ip -6 route`, `ip route show table "
          "all`, `ip rule`, `route -n`, `netstat -rn`, /proc/net/route or /proc/net/ipv6_route "
          "output",
          ErrorKind::Usage);
    return std::move(t_);
  }

 private:
  enum class Block { None, NetTools, ProcRoute };

  void unread(std::size_t n, std::string_view line, std::string reason) {
    t_.unread.push_back({n, std::string(line), std::move(reason)});
  }

  void one_line(std::string_view line, std::size_t n) {
    const Tokens tok = split(line);
    const bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    if (!tok.empty() && indented && tok[0] == "nexthop") {
      nexthop(tok, line, n);
      return;
    }
    flush_parent();
    if (tok.empty()) return;
    if (tok.size() >= 4 && tok[0] == "Kernel" && tok[2] == "routing" && tok[3] == "table") {
      family_ = tok[1] == "IPv6" ? 6 : 4;
      block_ = Block::None;
      return;
    }
    if (tok[0] == "Destination" && tok.size() >= 4) {
      net_tools_header(tok);
      return;
    }
    if (tok[0] == "Iface" && tok.size() >= 8 && tok[1] == "Destination") {
      columns_.assign(tok.begin(), tok.end());
      block_ = Block::ProcRoute;
      return;
    }
    if (tok[0].size() >= 2 && tok[0].back() == ':' && number(tok[0].substr(0, tok[0].size() - 1))) {
      rule(tok, line, n);
      return;
    }
    if (tok.size() == 10 && is_hex(tok[0], 32) && is_hex(tok[1], 2) && is_hex(tok[4], 32)) {
      proc_ipv6(tok, line, n);
      return;
    }
    if (block_ == Block::ProcRoute && tok.size() >= 8 && is_hex(tok[1], 8)) {
      proc_route(tok, line, n);
      return;
    }
    if (block_ == Block::NetTools && net_tools_row(tok, line, n)) return;
    ip_route(tok, line, n);
  }

  // ---- net-tools: `route -n`, `route -6 -n`, `netstat -rn`, with or without -e/-ee ----
  void net_tools_header(const Tokens& tok) {
    columns_.clear();
    for (std::size_t i = 0; i < tok.size(); ++i) {
      if (tok[i] == "Next" && i + 1 < tok.size() && tok[i + 1] == "Hop") {
        columns_.emplace_back("Gateway");
        ++i;
      } else {
        columns_.emplace_back(tok[i]);
      }
    }
    block_ = Block::NetTools;
    if (std::find(columns_.begin(), columns_.end(), "Genmask") == columns_.end())
      family_ = 6;
    else
      family_ = 4;
  }

  // The token under `name`: columns before Ref/Use by position from the start, those after from
  // the end (net-tools lets a wide Use run into Ref).
  std::optional<std::string_view> column(const Tokens& tok,
                                         std::initializer_list<std::string_view> names) {
    for (auto name : names) {
      const auto it = std::find(columns_.begin(), columns_.end(), name);
      if (it == columns_.end()) continue;
      const auto i = static_cast<std::size_t>(it - columns_.begin());
      if (tok.size() == columns_.size()) return tok[i];
      const auto use = std::find(columns_.begin(), columns_.end(), "Use");
      const auto use_i = static_cast<std::size_t>(use - columns_.begin());
      if (use == columns_.end() || i < use_i - 1)
        return i < tok.size() ? std::optional(tok[i]) : std::nullopt;
      const auto from_end = columns_.size() - i;
      if (from_end > tok.size()) return std::nullopt;
      return tok[tok.size() - from_end];
    }
    return std::nullopt;
  }

  bool net_tools_row(const Tokens& tok, std::string_view line, std::size_t n) {
    if (tok.size() + 1 < columns_.size() || tok.size() > columns_.size()) return false;
    auto dest = column(tok, {"Destination"});
    auto gw = column(tok, {"Gateway"});
    auto flags = column(tok, {"Flags", "Flag"});
    auto iface = column(tok, {"Iface", "If"});
    if (!dest || !gw || !flags || !iface) return false;
    RouteEntry r;
    r.table = "main";
    r.flags = std::string(*flags);
    r.interface = std::string(*iface);
    r.origin = "line " + std::to_string(n);
    if (family_ == 4) {
      auto mask = column(tok, {"Genmask"});
      auto net = *dest == "default" ? Address::parse("0.0.0.0") : address(*dest);
      auto m = mask ? address(*mask) : std::nullopt;
      if (!net || !m) {
        if (!m) return false;
        unread(n, line,
               "the destination '" + std::string(*dest) +
                   "' is a name, not an address (the listing was made without -n)");
        return true;
      }
      auto p = Prefix::from_mask(*net, *m);
      if (!p) {
        unread(n, line, "the genmask " + std::string(*mask) + " is not a contiguous mask");
        return true;
      }
      r.destination = *p;
    } else {
      std::string written(*dest);
      // net-tools shows the v4-mapped reject route ::ffff:0.0.0.0/96 as "0.0.0.0/96".
      if (const auto slash = written.find('/'); slash != std::string::npos &&
                                                written.find(':') == std::string::npos &&
                                                Address::parse(written.substr(0, slash)))
        written = "::ffff:" + written;
      auto p = linux_prefix(written, 6);
      if (!p || p->network.family != 6) {
        unread(n, line,
               "the destination '" + std::string(*dest) +
                   "' is a name, not an address (the listing was made without -n)");
        return true;
      }
      r.destination = *p;
    }
    r.gateway_text = std::string(*gw);
    if (*gw != "0.0.0.0" && *gw != "*" && *gw != "::" && *gw != "[::]") {
      r.gateway = address(*gw);  // none when it is a name ("_gateway"): kept as written
    }
    if (auto m = column(tok, {"Metric", "Met"})) {
      r.metric = metric_number(*m);
      if (!r.metric) return false;
    }
    if (r.flags.find('!') != std::string::npos) r.kind = "unreachable";
    t_.routes.push_back(std::move(r));
    return true;
  }

  // ---- /proc/net/route and /proc/net/ipv6_route ----
  static std::string proc_flags(std::uint32_t f) {
    std::string s;
    if (f & 0x0001U) s += 'U';
    if (f & 0x0002U) s += 'G';
    if (f & 0x0004U) s += 'H';
    if (f & 0x0008U) s += 'R';
    if (f & 0x0010U) s += 'D';
    if (f & 0x0020U) s += 'M';
    if (f & 0x0200U) s += '!';
    return s;
  }

  static Address v4_from_proc(std::uint32_t v) {
    Address a;
    a.family = 4;
    for (int i = 0; i < 4; ++i)
      a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
    return a;
  }

  void proc_route(const Tokens& tok, std::string_view line, std::size_t n) {
    auto col = [&](std::string_view name) -> std::optional<std::string_view> {
      const auto it = std::find(columns_.begin(), columns_.end(), name);
      const auto i = static_cast<std::size_t>(it - columns_.begin());
      if (it == columns_.end() || i >= tok.size()) return std::nullopt;
      return tok[i];
    };
    auto iface = col("Iface");
    auto dest = col("Destination");
    auto gw = col("Gateway");
    auto flags = col("Flags");
    auto metric = col("Metric");
    auto mask = col("Mask");
    auto d = dest ? number(*dest, 16) : std::nullopt;
    auto g = gw ? number(*gw, 16) : std::nullopt;
    auto f = flags ? number(*flags, 16) : std::nullopt;
    auto m = mask ? number(*mask, 16) : std::nullopt;
    auto met = metric ? number(*metric) : std::nullopt;
    if (!iface || !d || !g || !f || !m || !met) {
      unread(n, line, "not a /proc/net/route row (Iface, hex Destination/Gateway/Flags/Mask)");
      return;
    }
    const std::uint32_t gateway = *g, route_flags = *f;
    auto p = Prefix::from_mask(v4_from_proc(*d), v4_from_proc(*m));
    if (!p) {
      unread(n, line, "the mask is not contiguous");
      return;
    }
    RouteEntry r;
    r.destination = *p;
    if (gateway != 0) r.gateway = v4_from_proc(gateway);
    r.gateway_text = v4_from_proc(gateway).text();
    r.interface = std::string(*iface);
    r.metric = *met;
    r.flags = proc_flags(route_flags);
    r.table = "main";
    if ((route_flags & 0x0200U) != 0) r.kind = "unreachable";
    r.active = (route_flags & 0x0001U) != 0 || r.kind != "unicast";
    r.origin = "line " + std::to_string(n);
    t_.routes.push_back(std::move(r));
  }

  static std::optional<Address> v6_from_hex(std::string_view hex) {
    Address a;
    a.family = 6;
    for (std::size_t i = 0; i < 16; ++i) {
      auto b = number(hex.substr(2 * i, 2), 16);
      if (!b) return std::nullopt;
      a.bytes[i] = static_cast<std::uint8_t>(*b);
    }
    return a;
  }

  void proc_ipv6(const Tokens& tok, std::string_view line, std::size_t n) {
    auto dest = v6_from_hex(tok[0]);
    auto len = number(tok[1], 16);
    auto gw = v6_from_hex(tok[4]);
    auto metric = number(tok[5], 16);
    auto flags = number(tok[8], 16);
    if (!dest || !len || *len > 128 || !gw || !metric || !flags) {
      unread(n, line, "not a /proc/net/ipv6_route row");
      return;
    }
    RouteEntry r;
    r.destination = *Prefix::parse(dest->text() + "/" + std::to_string(*len));
    if (*flags & 0x0002U) r.gateway = gw;
    r.gateway_text = gw->text();
    r.interface = std::string(tok[9]);
    r.metric = *metric;
    r.flags = proc_flags(*flags);
    r.table = "main";
    if (*flags & 0x80000000U) {
      r.kind = "local";
      r.table = "local";
    } else if (*flags & 0x0200U) {
      r.kind = "unreachable";
    }
    r.origin = "line " + std::to_string(n);
    t_.routes.push_back(std::move(r));
  }

  // ---- ip rule ----
  void rule(const Tokens& tok, std::string_view line, std::size_t n) {
    PolicyRule r;
    r.priority = *number(tok[0].substr(0, tok[0].size() - 1));
    r.action.clear();
    r.origin = "line " + std::to_string(n);
    const auto colon = line.find(':');
    std::string_view rest = line.substr(colon + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    r.text = std::string(rest);
    for (std::size_t i = 1; i < tok.size(); ++i) {
      const auto w = tok[i];
      const bool has_value = i + 1 < tok.size();
      auto value = has_value ? tok[i + 1] : std::string_view();
      if (w == "not") {
        r.invert = true;
      } else if ((w == "from" || w == "to") && has_value) {
        ++i;
        if (value == "all") continue;
        auto p = linux_prefix(value, 4);
        if (!p) {
          unread(n, line,
                 "the rule's " + std::string(w) + " '" + std::string(value) +
                     "' is not an address or prefix");
          return;
        }
        (w == "from" ? r.from : r.to) = *p;
        r.family = p->network.family;
      } else if ((w == "iif" || w == "oif") && has_value) {
        ++i;
        (w == "iif" ? r.iif : r.oif) = std::string(value);
      } else if (w == "fwmark" && has_value) {
        ++i;
        r.fwmark = number(value.substr(0, value.find('/')), 16);
        if (!r.fwmark) {
          unread(n, line, "the rule's fwmark '" + std::string(value) + "' is not a number");
          return;
        }
      } else if ((w == "lookup" || w == "table") && has_value) {
        ++i;
        r.action = "lookup";
        r.table = table_name(value);
      } else if (w == "goto" && has_value) {
        ++i;
        r.action = "goto";
      } else if (w == "blackhole" || w == "unreachable" || w == "prohibit" || w == "nop") {
        r.action = std::string(w);
      }
      // Other words (uidrange, ipproto, dport, suppress_prefixlength, proto, [detached]) stay in
      // `text`, where the lookup reads the ones that change its answer.
    }
    if (r.action.empty()) {
      unread(n, line, "a rule without an action (lookup TABLE, goto, blackhole, unreachable...)");
      return;
    }
    t_.rules.push_back(std::move(r));
  }

  // ---- ip route ----
  struct Parsed {
    RouteEntry route;
    bool default_family_unknown = false;
  };

  void ip_route(const Tokens& tok, std::string_view line, std::size_t n) {
    RouteEntry r;
    r.table = "main";
    r.origin = "line " + std::to_string(n);
    std::size_t i = 0;
    if (one_of(tok[0], kRouteTypes) && tok.size() > 1) {
      r.kind = tok[0] == "none" || tok[0] == "unspec" ? "unicast" : std::string(tok[0]);
      i = 1;
    }
    const auto dest = tok[i];
    auto p = linux_prefix(dest, 4);
    if (!p) {
      unread(n, line,
             "not a route: expected `ip route` (DEST [via GW] dev IF ...), `ip rule` "
             "(PRIO: from ... lookup TABLE), or a net-tools / /proc row");
      return;
    }
    int family = dest == "default" ? 0 : p->network.family;
    std::optional<Address> src;
    for (++i; i < tok.size(); ++i) {
      const auto w = tok[i];
      const bool has_value = i + 1 < tok.size();
      auto value = has_value ? tok[i + 1] : std::string_view();
      if (w == "via" && has_value) {
        ++i;
        if ((value == "inet" || value == "inet6") && i + 1 < tok.size()) value = tok[++i];
        r.gateway = address(value);
        r.gateway_text = std::string(value);
        if (!r.gateway) {
          unread(n, line, "the gateway '" + std::string(value) + "' is not an address");
          return;
        }
      } else if (w == "dev" && has_value) {
        r.interface = std::string(tok[++i]);
      } else if (w == "table" && has_value) {
        r.table = table_name(tok[++i]);
      } else if (w == "src" && has_value) {
        src = address(tok[++i]);
      } else if ((w == "metric" || w == "preference" || w == "priority") && has_value) {
        r.metric = number(tok[++i]);
        if (!r.metric) {
          unread(n, line, "the metric '" + std::string(value) + "' is not a number");
          return;
        }
      } else if (one_of(w, kFlagWords)) {
        add_flag(r.flags, w);
        if (w == "linkdown" || w == "dead") r.active = false;
      } else if (one_of(w, kValueKeys) && has_value) {
        ++i;
        if (w == "mtu" && value == "lock" && i + 1 < tok.size()) ++i;
      }
      // Anything else (a newer attribute) does not change where the route goes.
    }
    if (family == 0) family = r.gateway ? r.gateway->family : src ? src->family : 0;
    if (family == 6 && p->network.family != 6) {
      p->network.family = 6;
      p->network.bytes.fill(0);
      p->length = 0;
    }
    r.destination = *p;
    if (!r.gateway && r.interface.empty() && r.kind == "unicast") {
      parent_ = Parsed{std::move(r), family == 0};  // a multipath route: nexthop lines follow
      parent_used_ = false;
      return;
    }
    push(std::move(r), family == 0);
  }

  void nexthop(const Tokens& tok, std::string_view line, std::size_t n) {
    if (!parent_) {
      unread(n, line, "a nexthop line without the multipath route it belongs to");
      return;
    }
    RouteEntry r = parent_->route;
    r.origin = "line " + std::to_string(n);
    for (std::size_t i = 1; i < tok.size(); ++i) {
      const auto w = tok[i];
      if (w == "via" && i + 1 < tok.size()) {
        auto value = tok[++i];
        if ((value == "inet" || value == "inet6") && i + 1 < tok.size()) value = tok[++i];
        r.gateway = address(value);
        r.gateway_text = std::string(value);
        if (!r.gateway) {
          unread(n, line, "the nexthop's gateway '" + std::string(value) + "' is not an address");
          return;
        }
      } else if (w == "dev" && i + 1 < tok.size()) {
        r.interface = std::string(tok[++i]);
      } else if (one_of(w, kFlagWords)) {
        add_flag(r.flags, w);
        if (w == "linkdown" || w == "dead") r.active = false;
      } else if (one_of(w, kValueKeys) && i + 1 < tok.size()) {
        ++i;
      }
    }
    bool unknown = parent_->default_family_unknown;
    if (unknown && r.gateway) {
      unknown = false;
      if (r.gateway->family == 6) {
        r.destination.network.family = 6;
        r.destination.network.bytes.fill(0);
      }
    }
    parent_used_ = true;
    push(std::move(r), unknown);
  }

  void flush_parent() {
    if (parent_ && !parent_used_) push(std::move(parent_->route), parent_->default_family_unknown);
    parent_.reset();
  }

  void push(RouteEntry r, bool family_unknown) {
    if (family_unknown) unknown_family_.push_back(t_.routes.size());
    t_.routes.push_back(std::move(r));
  }

  // "default dev wg0" says nothing of its family: it is the family of the routes around it (the
  // nearest before it, else the nearest after it).
  void settle_default_families() {
    const auto n = t_.routes.size();
    std::vector<char> unknown(n, 0);
    for (auto i : unknown_family_) unknown[i] = 1;
    std::vector<int> family(n, 0);
    int seen = 0;
    for (std::size_t j = 0; j < n; ++j)
      if (unknown[j] == 0)
        seen = t_.routes[j].family();
      else
        family[j] = seen;
    seen = 0;
    for (std::size_t j = n; j-- > 0;)
      if (unknown[j] == 0)
        seen = t_.routes[j].family();
      else if (family[j] == 0)
        family[j] = seen;
    for (auto i : unknown_family_)
      if (family[i] == 6) {
        auto& p = t_.routes[i].destination;
        p.network.family = 6;
        p.network.bytes.fill(0);
      }
  }

  RouteTable t_;
  Block block_ = Block::None;
  int family_ = 4;
  std::vector<std::string> columns_;
  std::optional<Parsed> parent_;
  bool parent_used_ = false;
  std::vector<std::size_t> unknown_family_;
};

}  // namespace

Expected<RouteTable> parse_linux(std::string_view text) {
  LinuxParser parser;
  auto t = parser.run(text);
  if (t) t->format = SourceFormat::Linux;
  return t;
}

}  // namespace midiag::platform::routes
