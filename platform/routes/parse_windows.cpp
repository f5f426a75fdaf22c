// Windows `route print` (-4, -6 or both; any display language) and `netsh interface ipv4|ipv6
// show route`. Sections are told apart by the tables' shape (separator lines, column count, which
// columns hold addresses), never by the English words, which Windows translates.
#include <cctype>
#include <map>

#include "platform/routes/route_table.h"
#include "platform/routes/text_lines.h"

namespace midiag::platform::routes {

namespace {

using text::Token;

std::optional<Address> v4(std::string_view s) {
  auto a = Address::parse(s);
  if (a && a->family == 4) return a;
  return std::nullopt;
}

// A gateway word ("On-link", "En vínculo", "Auf Verbindung", "リンク上"): no digit, '.' or ':',
// so a broken address is never mistaken for one.
bool word(std::string_view s) {
  for (char c : s)
    if ((c >= '0' && c <= '9') || c == '.' || c == ':' || c == '/') return false;
  return !s.empty();
}

// "=====...", "-------  --------  ---": a line made only of '=' or '-' (and spaces). A line that
// ends in a long run of '=' after other text (the docs' "Adapter=====") is one too, with stray
// text in front.
bool separator(std::string_view line, std::string_view& stray) {
  const std::string_view t = text::trim(line);
  stray = {};
  if (t.size() < 3) return false;
  bool only = true;
  for (char c : t)
    if (c != '=' && c != '-' && !text::is_space(c)) only = false;
  if (only) return true;
  std::size_t run = 0;
  while (run < t.size() && t[t.size() - 1 - run] == '=') ++run;
  if (run < 20) return false;
  stray = text::trim(t.substr(0, t.size() - run));
  return true;
}

// " 15...b4 2e 99 35 1e 86 ......Intel(R) Ethernet", "  1 ........................... Loopback",
// XP's "0x2 ...00 0c 29 aa bb cc ...... AMD PCNET".
std::optional<Interface> interface_line(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && text::is_space(line[i])) ++i;
  const std::size_t idx_begin = i;
  if (line.substr(i, 2) == "0x") {
    i += 2;
    while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) ++i;
  } else {
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  }
  if (i == idx_begin || (line.substr(idx_begin, 2) == "0x" && i == idx_begin + 2)) return {};
  Interface itf;
  itf.index = std::string(line.substr(idx_begin, i - idx_begin));
  while (i < line.size() && line[i] == ' ') ++i;
  std::size_t dots = 0;
  while (i < line.size() && line[i] == '.') ++i, ++dots;
  if (dots < 3) return {};
  // A MAC: six or more hex pairs, one space apart, then (usually) spaces and dots before the name.
  auto hex = [&](std::size_t at) {
    return at < line.size() && std::isxdigit(static_cast<unsigned char>(line[at]));
  };
  std::size_t j = i, pairs = 0;
  std::string mac;
  while (hex(j) && hex(j + 1) && (j + 2 >= line.size() || line[j + 2] == ' ')) {
    if (!mac.empty()) mac += ':';
    mac += static_cast<char>(std::tolower(static_cast<unsigned char>(line[j])));
    mac += static_cast<char>(std::tolower(static_cast<unsigned char>(line[j + 1])));
    ++pairs;
    j += 2;
    if (j < line.size() && line[j] == ' ') ++j;
  }
  // Windows 7 tunnel adapters print eight pairs and no dots: "13...00 00 00 00 00 00 00 e0 Teredo".
  if (pairs >= 6) {
    itf.mac = mac;
    i = j;
    while (i < line.size() && (line[i] == ' ' || line[i] == '.')) ++i;
  }
  itf.name = std::string(text::trim(line.substr(i)));
  return itf;
}

class WindowsParser {
 public:
  explicit WindowsParser(RouteTable& t) : t_(t), unread_(t.unread) {}

  void run(std::string_view input) {
    const auto all = text::lines(input);
    t_.routes.reserve(all.size());  // at most one route a line: no doubling copies
    for (std::size_t n = 0; n < all.size(); ++n) line(n + 1, all[n]);
    if (pending6_) unread_.add(pending6_line_, pending6_text_, "IPv6 row cut short: no gateway");
    finish();
  }

 private:
  RouteTable& t_;
  text::UnreadList unread_;
  // Where we are: the address family of the current section, whether its active table is over
  // (the persistent routes follow), and whether a table is open (rows seen, no closing line yet).
  int family_ = 0;
  bool persistent_ = false;
  bool content_ = false;  // rows or a "None" placeholder since the family's title
  int titles_ = 0;        // "Active Routes:", "Persistent Routes:" (any language: ends in ':')
  bool prev_row_ = false;
  bool open_interfaces_ = false, open_active_ = false;
  bool seen4_ = false, seen6_ = false, netsh_ = false;
  bool netsh_row_ = false;  // the row being added is a netsh one (no active/persistent sections)
  // An IPv6 row whose destination was too long for its column: the gateway is on the next line.
  std::optional<RouteEntry> pending6_;
  std::size_t pending6_line_ = 0;
  std::string pending6_text_;

  void new_family(int family) {
    family_ = family;
    persistent_ = false;
    content_ = false;
    titles_ = 0;
  }

  void close_tables() {
    open_interfaces_ = false;
    open_active_ = false;
  }

  void add(RouteEntry e, std::size_t number) {
    e.origin = "line " + std::to_string(number);
    e.persistent = persistent_ && !netsh_row_;
    // The persistent list is what Windows re-adds at boot; what it routes by now is the active
    // table (a persistent route in effect is listed there too), so lookup must not choose these.
    e.active = !e.persistent;
    if (e.persistent) {
      open_active_ = false;
    } else if (!netsh_row_) {
      open_active_ = true;
    }
    content_ = true;
    prev_row_ = true;
    t_.routes.push_back(std::move(e));
  }

  void line(std::size_t number, std::string_view raw) {
    const auto tok = text::tokens(raw);
    if (pending6_) {
      if (continuation(tok, raw)) return;
      unread_.add(pending6_line_, pending6_text_,
                  "IPv6 row without its gateway (the next line does not continue it)");
      pending6_.reset();
    }
    if (tok.empty()) return;
    std::string_view stray;
    if (separator(raw, stray)) {
      if (!stray.empty())
        unread_.add(number, raw, "text '" + std::string(stray) + "' before a separator ignored");
      if (content_) persistent_ = true;
      close_tables();
      prev_row_ = false;
      return;
    }
    if (auto itf = interface_line(raw)) {
      t_.interfaces.push_back(std::move(*itf));
      open_interfaces_ = true;
      prev_row_ = false;
      return;
    }
    netsh_row_ = false;
    if (netsh(number, raw, tok) || ipv6_row(number, raw, tok) || ipv4_row(number, raw, tok)) return;
    bool data = text::all_digits(tok[0].text);
    for (const auto& t : tok) data = data || text::address_like(t.text);
    if (data) {
      unread_.add(number, raw, "not a row of a route print or netsh route table");
      prev_row_ = false;
      return;
    }
    text_line(number, raw, tok);
  }

  // Titles, column headers and "None" placeholders, in whatever language.
  void text_line(std::size_t number, std::string_view raw, const std::vector<Token>& tok) {
    for (const auto& t : tok) {
      const auto w = t.text.substr(0, 4);
      if (text::equals_nocase(w, "ipv4") || text::equals_nocase(w, "ipv6")) {
        new_family(w[3] == '4' ? 4 : 6);
        (family_ == 4 ? seen4_ : seen6_) = true;
        close_tables();
        prev_row_ = false;
        return;
      }
    }
    const bool title = raw.find_last_not_of(" \t") != std::string_view::npos &&
                       raw[raw.find_last_not_of(" \t")] == ':';
    if (title) {
      if (++titles_ >= 2) persistent_ = true;
    } else if (prev_row_) {
      unread_.add(number, raw, "text between route rows");
    } else if (tok.size() == 1 && family_ != 0) {
      content_ = true;  // "None", "Aucun", "Ninguno": an empty table
    }
    prev_row_ = false;
  }

  // "No  Manual  0  0.0.0.0/0  5  10.0.0.1" / "No  System  256  10.0.0.0/24  5  Ethernet 4".
  bool netsh(std::size_t number, std::string_view raw, const std::vector<Token>& tok) {
    if (tok.size() < 6 || !word(tok[0].text) || !word(tok[1].text) ||
        tok[3].text.find('/') == std::string_view::npos || !text::all_digits(tok[4].text))
      return false;
    auto metric = text::number(tok[2].text);
    auto prefix = Prefix::parse(tok[3].text);
    if (!metric || !prefix) return false;
    RouteEntry e;
    e.destination = *prefix;
    e.metric = metric;
    e.interface = std::string(tok[4].text);
    const std::string_view rest = text::span(raw, tok, 5, tok.size() - 1);
    if (auto gw = Address::parse(rest); gw && tok.size() == 6) {
      if (gw->family != prefix->network.family) {
        unread_.add(number, raw, "gateway of another address family than the prefix");
        return true;
      }
      e.gateway = gw;
      e.gateway_text = std::string(rest);
    } else {
      e.gateway_text = "on-link";
      e.interface_name = std::string(rest);
    }
    netsh_ = true;
    netsh_row_ = true;
    add(std::move(e), number);
    netsh_row_ = false;
    return true;
  }

  // " 12    281 fe80::/64                On-link", the gateway maybe on the next line.
  bool ipv6_row(std::size_t number, std::string_view raw, const std::vector<Token>& tok) {
    if (tok.size() < 3 || !text::all_digits(tok[0].text) || !text::all_digits(tok[1].text) ||
        tok[2].text.find(':') == std::string_view::npos)
      return false;
    auto prefix = Prefix::parse(tok[2].text);
    auto metric = text::number(tok[1].text);
    if (!prefix || prefix->network.family != 6) {
      unread_.add(
          number, raw,
          "IPv6 row whose destination '" + std::string(tok[2].text) + "' is not an IPv6 prefix");
      return true;
    }
    if (!metric) {
      unread_.add(number, raw, "metric '" + std::string(tok[1].text) + "' is out of range");
      return true;
    }
    if (family_ != 6) new_family(6);
    seen6_ = true;
    RouteEntry e;
    e.destination = *prefix;
    e.metric = metric;
    e.interface = std::string(tok[0].text);
    if (tok.size() == 3) {
      pending6_ = std::move(e);
      pending6_line_ = number;
      pending6_text_ = std::string(raw);
      return true;
    }
    std::string problem;
    if (!gateway(raw, tok, 3, tok.size() - 1, 6, e, problem)) {
      unread_.add(number, raw, problem);
      return true;
    }
    add(std::move(e), number);
    return true;
  }

  // The line after an IPv6 row cut after its destination: only the gateway, far to the right.
  bool continuation(const std::vector<Token>& tok, std::string_view raw) {
    std::string_view stray;
    if (tok.empty() || separator(raw, stray) || !text::is_space(raw.front())) return false;
    std::string problem;
    RouteEntry e = *pending6_;
    if (!gateway(raw, tok, 0, tok.size() - 1, 6, e, problem)) return false;
    const std::size_t number = pending6_line_;
    pending6_.reset();
    add(std::move(e), number);
    return true;
  }

  // Tokens first..last are the gateway: one address, or words (on-link, in any language).
  static bool gateway(std::string_view raw, const std::vector<Token>& tok, std::size_t first,
                      std::size_t last, int family, RouteEntry& e, std::string& problem) {
    if (auto a = Address::parse(tok[first].text)) {
      if (a->family != family) {
        problem = "gateway '" + std::string(tok[first].text) + "' of another address family";
        return false;
      }
      if (first != last) {
        problem = "extra columns after the gateway";
        return false;
      }
      e.gateway = a;
      e.gateway_text = std::string(tok[first].text);
      return true;
    }
    for (std::size_t i = first; i <= last; ++i)
      if (!word(tok[i].text)) {
        problem = "gateway '" + std::string(text::span(raw, tok, first, last)) +
                  "' is neither an address nor an on-link word";
        return false;
      }
    e.gateway_text = std::string(text::span(raw, tok, first, last));
    return true;
  }

  // "0.0.0.0  0.0.0.0  10.0.0.1  10.0.0.185  25" (active) or "0.0.0.0  0.0.0.0  10.0.0.1  Default"
  // (persistent: no interface column). The gateway column may be words ("En vínculo").
  bool ipv4_row(std::size_t number, std::string_view raw, const std::vector<Token>& tok) {
    if (tok.size() < 2) return false;
    auto dest = v4(tok[0].text);
    auto mask = v4(tok[1].text);
    if (!dest || !mask) return false;
    if (family_ != 4) new_family(4);
    seen4_ = true;
    auto prefix = Prefix::from_mask(*dest, *mask);
    if (!prefix) {
      unread_.add(number, raw, "netmask '" + std::string(tok[1].text) + "' is not contiguous");
      return true;
    }
    const std::size_t n = tok.size();
    if (n == 2) {
      unread_.add(number, raw, "row cut short after the netmask");
      return true;
    }
    RouteEntry e;
    e.destination = *prefix;
    // The gateway: an address, or the words up to the next address or number.
    std::size_t j = 2;
    if (v4(tok[2].text)) {
      j = 3;
    } else {
      while (j < n && !v4(tok[j].text) && !text::all_digits(tok[j].text) &&
             !text::address_like(tok[j].text))
        ++j;
      if (j == 2) {
        unread_.add(number, raw, "no gateway column");
        return true;
      }
    }
    std::string problem;
    if (!gateway(raw, tok, 2, j - 1, 4, e, problem)) {
      unread_.add(number, raw, problem);
      return true;
    }
    if (j < n && v4(tok[j].text)) {  // the active layout: interface, metric
      e.interface = std::string(tok[j].text);
      if (++j >= n) {
        unread_.add(number, raw, "row cut short: no metric after the interface");
        return true;
      }
      e.metric = text::number(tok[j].text);
      if (!e.metric) {
        unread_.add(number, raw, "metric '" + std::string(tok[j].text) + "' is not a number");
        return true;
      }
      ++j;
    } else if (j < n && text::address_like(tok[j].text)) {
      unread_.add(number, raw,
                  "interface '" + std::string(tok[j].text) + "' is not an address (cut short?)");
      return true;
    } else if (j < n) {  // the persistent layout: metric right after the gateway
      if (!persistent_) {
        unread_.add(number, raw,
                    "no interface column, where an active route has gateway, interface and "
                    "metric (cut short?)");
        return true;
      }
      e.metric = text::number(tok[j].text);  // "Default" (any language): none
      if (!e.metric && !word(tok[j].text)) {
        unread_.add(number, raw, "metric '" + std::string(tok[j].text) + "' is not a number");
        return true;
      }
      ++j;
    } else {
      unread_.add(number, raw, "row cut short after the gateway");
      return true;
    }
    if (j < n)
      unread_.add(number, raw,
                  "extra columns '" + std::string(text::span(raw, tok, j, n - 1)) +
                      "' after the metric ignored (the route itself was read)");
    add(std::move(e), number);
    return true;
  }

  void finish() {
    // The interface list gives IPv6 rows' and netsh rows' indexes a name.
    std::map<std::string, std::string> names;
    for (const auto& itf : t_.interfaces) names.emplace(itf.index, itf.name);
    if (netsh_) {
      for (const auto& r : t_.routes)
        if (!r.interface_name.empty() && names.emplace(r.interface, r.interface_name).second)
          t_.interfaces.push_back({r.interface, r.interface_name, ""});
    }
    for (auto& r : t_.routes) {
      if (!r.interface_name.empty()) continue;
      if (auto it = names.find(r.interface); it != names.end()) r.interface_name = it->second;
    }
    std::string note;
    if (netsh_) {
      note = "netsh show route (metrics are the route's own, without the interface metric)";
    } else if (seen4_ && seen6_) {
      note = "route print: IPv4 and IPv6 sections";
    } else if (seen4_) {
      note = "route print: IPv4 section only";
    } else if (seen6_) {
      note = "route print: IPv6 section only";
    } else {
      note = "route print: interface list only, no routes";
    }
    if (open_active_) note += "; the last active table has no closing line (output cut?)";
    if (open_interfaces_ && t_.routes.empty())
      note += "; the interface list has no closing line (output cut?)";
    t_.note = note;
    unread_.finish();
  }
};

}  // namespace

Expected<RouteTable> parse_windows(std::string_view input) {
  RouteTable table;
  table.format = SourceFormat::Windows;
  WindowsParser parser(table);
  parser.run(input);
  if (table.routes.empty() && table.interfaces.empty()) {
    std::string msg =
        "no Windows route table found: expected `route print` output (an interface list of "
        "'idx...mac......name' lines, rows 'destination netmask gateway interface metric', IPv6 "
        "rows 'if metric destination gateway') or `netsh interface ipv4 show route` rows "
        "'publish type metric prefix idx gateway-or-name'";
    if (!table.unread.empty())
      msg += "; " + std::to_string(table.unread.size()) + " line(s) looked like rows but did not " +
             "fit, the first is line " + std::to_string(table.unread.front().line) + ": " +
             table.unread.front().reason;
    return make_error(msg, ErrorKind::Usage);
  }
  return table;
}

}  // namespace midiag::platform::routes
