// macOS and BSD route tables as `netstat -rn` (and `netstat -nr -f inet`, `netstat -rnl`,
// FreeBSD/NetBSD `netstat -r`, OpenBSD `route -n show`) print them: "Internet:"/"Internet6:"
// sections, each under a "Destination Gateway Flags ... Netif" header whose optional columns
// (Refs, Use, Mtu, Prio, Expire) differ by OS and release, so the header names the columns.
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/routes/route_table.h"

namespace midiag::platform::routes {

namespace {

constexpr std::size_t kMaxUnread = 1000;   // a 100 MB file of garbage is a count, not a list
constexpr std::size_t kMaxLineText = 200;  // what an unread line keeps of itself

struct Token {
  std::string_view text;
  std::size_t column = 0;
};

std::vector<Token> split_fields(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back({line.substr(start, i - start), start});
  }
  return out;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A link-layer address as BSD netstat writes it: six groups of one or two hex digits
// ("52:54:0:12:35:2"); never a valid IPv6 address (which has eight groups or a "::").
bool is_mac(std::string_view s) {
  int groups = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t n = 0;
    while (i < s.size() && is_hex(s[i]) && n < 3) ++i, ++n;
    if (n == 0 || n > 2) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
  }
  return groups == 6;
}

// "lo0", "en0", "utun3", "bridge100", "vmnet8": letters then digits (the gateway column of a
// NetBSD host route names its interface).
bool is_interface_name(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_alpha(s[i])) ++i;
  if (i == 0 || i == s.size()) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(), is_digit);
}

// A host or network name as `netstat -r` without -n prints it ("localhost", "dsldevice.att").
bool is_name(std::string_view s) {
  return s.find(':') == std::string_view::npos &&
         std::any_of(s.begin(), s.end(), [](char c) { return is_alpha(c) || c == '-'; });
}

struct Layout {
  int destination = -1, gateway = -1, flags = -1, netif = -1, prio = -1;
  std::size_t columns = 0;
  std::vector<std::size_t> starts;  // where each header word begins (for cut columns)
  bool positional = false;          // header and rows aligned with spaces only
};

std::optional<Layout> read_header(const std::vector<Token>& words, std::string_view line) {
  if (words.size() < 4 || words[0].text != "Destination") return std::nullopt;
  for (const auto& w : words)  // Linux `route -n`/`netstat -rn`: another parser's table
    if (w.text == "Genmask" || w.text == "Netmask") return std::nullopt;
  Layout l;
  l.columns = words.size();
  l.positional = line.find('\t') == std::string_view::npos;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto w = words[i].text;
    const int idx = static_cast<int>(i);
    l.starts.push_back(words[i].column);
    if (w == "Destination") l.destination = idx;
    if (w == "Gateway") l.gateway = idx;
    if (w == "Flags") l.flags = idx;
    if (w == "Netif" || w == "Interface" || w == "Iface" || w == "If") l.netif = idx;
    if (w == "Prio") l.prio = idx;
  }
  if (l.destination != 0 || l.gateway != 1 || l.flags < 0 || l.netif < 0) return std::nullopt;
  return l;
}

// netstat prints an address cut to its column's width ("%-*.*s": FreeBSD without -W, macOS
// past 39/31 characters, every column of `netstat -r`): an IPv6 text that reaches the end of its
// column may be cut, unless it visibly ends whole (its zone is the row's interface, or it is a
// full eight-group address, which nothing longer shortens to but its own zone or length).
bool may_be_cut(const Layout& l, int field, const Token& t, std::string_view interface) {
  if (!l.positional || field + 1 >= static_cast<int>(l.starts.size())) return false;
  const std::size_t start = l.starts[static_cast<std::size_t>(field)];
  const std::size_t width = l.starts[static_cast<std::size_t>(field) + 1] - start - 1;
  if (t.column != start || t.text.size() < width || t.text.find(':') == std::string_view::npos)
    return false;
  if (const auto pct = t.text.rfind('%'); pct != std::string_view::npos)
    return t.text.substr(pct + 1) != interface;
  return !(t.text.find('/') == std::string_view::npos &&
           std::count(t.text.begin(), t.text.end(), ':') == 7);
}

std::optional<std::uint32_t> number(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Address loopback(int family) {
  Address a;
  a.family = family;
  if (family == 4) {
    a.bytes[0] = 127;
    a.bytes[3] = 1;
  } else {
    a.bytes[15] = 1;
  }
  return a;
}

class Reader {
 public:
  explicit Reader(RouteTable& t) : table_(t) {}

  void unread(std::size_t line_no, std::string_view line, std::string reason) {
    ++unread_total_;
    if (table_.unread.size() >= kMaxUnread) return;
    table_.unread.push_back(
        {line_no, std::string(line.substr(0, kMaxLineText)), std::move(reason)});
  }

  void finish() {
    if (unread_total_ > table_.unread.size())
      table_.unread.push_back({0, "",
                               std::to_string(unread_total_ - table_.unread.size()) +
                                   " more lines not read (only the first " +
                                   std::to_string(kMaxUnread) + " are listed)"});
  }

  std::size_t names = 0;  // destinations or gateways written as names (netstat -r without -n)

 private:
  RouteTable& table_;
  std::size_t unread_total_ = 0;
};

// One row under a header: a route, or the reason it is not one.
std::optional<std::string> read_row(const Layout& l, const std::vector<Token>& f, int section,
                                    RouteEntry& e, Reader& reader) {
  const auto need = static_cast<std::size_t>(std::max({l.flags, l.netif, l.prio}) + 1);
  if (f.size() > l.columns) return "more columns than the header";
  if (f.size() < static_cast<std::size_t>(std::max(l.flags, l.netif) + 1))
    return "fewer columns than the header";
  const Token& dest = f[static_cast<std::size_t>(l.destination)];
  const Token& gw = f[static_cast<std::size_t>(l.gateway)];
  e.flags = std::string(f[static_cast<std::size_t>(l.flags)].text);
  e.interface = std::string(f[static_cast<std::size_t>(l.netif)].text);
  if (l.prio >= 0 && f.size() >= need) e.metric = number(f[static_cast<std::size_t>(l.prio)].text);

  // The family: the section's, else the row's own addresses.
  int family = section;
  if (family == 0)
    family = (dest.text.find(':') != std::string_view::npos ||
              gw.text.find(':') != std::string_view::npos)
                 ? 6
                 : 4;

  if (dest.text == "default") {
    e.destination = *Prefix::parse(family == 6 ? "::/0" : "0.0.0.0/0");
  } else {
    if (may_be_cut(l, l.destination, dest, e.interface))
      return "destination fills its column and may be cut: run netstat -rnW (FreeBSD) or netstat "
             "-rn";
    auto p = Prefix::parse(dest.text);
    if (!p) {
      if (is_name(dest.text)) {
        ++reader.names;
        return "names, not addresses: run netstat -rn";
      }
      return "destination is not an address or prefix";
    }
    // `netstat -r` without -n drops an IPv6 network's length ("fe80::%lo0"); only a host route
    // (flag H) stands for one address.
    if (p->network.family == 6 && dest.text.find('/') == std::string_view::npos &&
        e.flags.find('H') == std::string::npos)
      return "IPv6 network without its prefix length: run netstat -rn";
    e.destination = *p;
  }

  e.gateway_text = std::string(gw.text);
  if (gw.text.starts_with("link#") || is_mac(gw.text) || gw.text == e.interface ||
      is_interface_name(gw.text)) {
    // on-link: a connected network (link#N), a neighbour's cached MAC, or the interface itself
  } else if (may_be_cut(l, l.gateway, gw, e.interface)) {
    return "gateway fills its column and may be cut: run netstat -rnW (FreeBSD) or netstat -rn";
  } else if (auto a = Address::parse(gw.text)) {
    e.gateway = *a;
  } else if (gw.text == "localhost") {
    e.gateway = loopback(e.family());  // what netstat prints for the loopback address
  } else if (is_name(gw.text) && e.flags.find('G') != std::string::npos) {
    // A gateway route whose router netstat printed by name (no -n): the route stands (the lookup
    // does not need the router's address), shown by that name, as the Linux listings are.
    ++reader.names;
  } else if (is_name(gw.text)) {
    ++reader.names;
    return "gateway is a name, not an address: run netstat -rn";
  } else {
    return "gateway is not an address, link#N, a MAC or an interface";
  }

  // Flags (netstat(1)): R reject, B blackhole, b broadcast, l local; no U: the route is down.
  // I (macOS RTF_IFSCOPE): used only by sockets bound to that interface, so never the answer
  // for an ordinary connection (a VPN's default route makes the Wi-Fi default scoped).
  if (e.flags.find('R') != std::string::npos) e.kind = "unreachable";
  if (e.flags.find('B') != std::string::npos) e.kind = "blackhole";
  if (e.flags.find('b') != std::string::npos) e.kind = "broadcast";
  if (e.flags.find('l') != std::string::npos) e.kind = "local";
  if (e.flags.find('U') == std::string::npos || e.flags.find('I') != std::string::npos)
    e.active = false;
  return std::nullopt;
}

}  // namespace

Expected<RouteTable> parse_macos(std::string_view raw) {
  const std::string text = normalize_text(raw);
  RouteTable table;
  table.format = SourceFormat::MacOs;
  Reader reader(table);
  std::optional<Layout> layout;
  int section = 0;  // 4 "Internet:", 6 "Internet6:", -1 another family's section, 0 none yet
  bool saw_header = false, saw_linux_header = false, saw_section = false;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (end == text.size() && line.empty()) break;
    if (is_blank(line)) continue;
    const auto words = split_fields(line);
    if (words[0].text == "Routing" && words.size() >= 2 && words[1].text == "tables") continue;
    if (words.size() == 1 && words[0].text.ends_with(':')) {  // a section: "Internet6:"
      saw_section = true;
      layout.reset();
      section = words[0].text == "Internet:" ? 4 : words[0].text == "Internet6:" ? 6 : -1;
      continue;
    }
    if (auto l = read_header(words, line)) {
      layout = std::move(l);
      saw_header = true;
      continue;
    }
    if (words[0].text == "Destination" || words[0].text == "Kernel") {
      // Linux `route -n`/`netstat -rn` ("Genmask"): another format; say so, never guess.
      for (const auto& w : words)
        if (w.text == "Genmask") saw_linux_header = true;
      reader.unread(line_no, line, "a header this parser does not know");
      continue;
    }
    if (!layout) {
      reader.unread(line_no, line,
                    section < 0 ? "not an Internet section" : "before any column header");
      continue;
    }
    if (section < 0) {
      reader.unread(line_no, line, "not an Internet section");
      continue;
    }
    RouteEntry e;
    e.origin = "line " + std::to_string(line_no);
    if (auto why = read_row(*layout, words, section, e, reader)) {
      reader.unread(line_no, line, std::move(*why));
      continue;
    }
    table.routes.push_back(std::move(e));
    const std::string& name = table.routes.back().interface;
    if (std::none_of(table.interfaces.begin(), table.interfaces.end(),
                     [&](const Interface& i) { return i.name == name; }))
      table.interfaces.push_back({"", name, ""});
  }
  reader.finish();

  if (!saw_header) {
    std::string msg =
        "no macOS/BSD route table: expected netstat -rn output (an \"Internet:\" section and a "
        "\"Destination Gateway Flags ... Netif\" header)";
    if (saw_linux_header) msg += "; this looks like Linux route -n/netstat -rn (a Genmask column)";
    return make_error(std::move(msg), ErrorKind::Usage);
  }
  if (table.routes.empty() && table.unread.empty())
    return make_error("a macOS/BSD netstat -rn header but no routes under it", ErrorKind::Usage);
  if (!saw_section) table.note = "no Internet:/Internet6: section markers; family from each row";
  if (reader.names > 0) {
    if (!table.note.empty()) table.note += "; ";
    table.note += std::to_string(reader.names) +
                  " names instead of addresses (netstat -r without -n): those lines are not "
                  "read, run netstat -rn";
  }
  return table;
}

}  // namespace midiag::platform::routes
