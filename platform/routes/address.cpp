// Addresses, prefixes, format names and text normalisation shared by every route parser.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "platform/routes/route_table.h"

namespace midiag::platform::routes {

namespace {

constexpr std::array<std::pair<SourceFormat, std::string_view>, 6> kFormats = {{
    {SourceFormat::Linux, "linux"},
    {SourceFormat::Windows, "windows"},
    {SourceFormat::MacOs, "macos"},
    {SourceFormat::P2s, "p2s"},
    {SourceFormat::AzureVpnXml, "azure-vpn-xml"},
    {SourceFormat::AzureEffective, "azure-effective"},
}};

std::optional<int> small_number(std::string_view s, int max) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > max)
    return std::nullopt;
  return v;
}

void clear_host_bits(Address& a, int length) {
  const int bits = a.family == 4 ? 32 : 128;
  for (int i = length; i < bits; ++i)
    a.bytes[static_cast<std::size_t>(i / 8)] &= static_cast<std::uint8_t>(~(0x80U >> (i % 8)));
}

// The prefix length a contiguous mask stands for; nullopt for a mask with holes.
std::optional<int> mask_length(const Address& mask) {
  const int bits = mask.family == 4 ? 32 : 128;
  int length = 0;
  while (length < bits &&
         (mask.bytes[static_cast<std::size_t>(length / 8)] & (0x80U >> (length % 8))) != 0)
    ++length;
  for (int i = length; i < bits; ++i)
    if ((mask.bytes[static_cast<std::size_t>(i / 8)] & (0x80U >> (i % 8))) != 0)
      return std::nullopt;
  return length;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string from_utf16(std::string_view raw, bool little_endian) {
  std::string out;
  out.reserve(raw.size() / 2);
  auto unit = [&](std::size_t i) {
    const auto a = static_cast<unsigned char>(raw[i]), b = static_cast<unsigned char>(raw[i + 1]);
    return static_cast<std::uint32_t>(little_endian ? (a | (b << 8)) : ((a << 8) | b));
  };
  for (std::size_t i = 0; i + 1 < raw.size(); i += 2) {
    std::uint32_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < raw.size()) {
      const std::uint32_t low = unit(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
        i += 2;
        continue;
      }
    }
    if (u >= 0xD800 && u <= 0xDFFF) u = 0xFFFD;  // a lone surrogate
    append_utf8(out, u);
  }
  if (raw.size() % 2 != 0) append_utf8(out, 0xFFFD);  // a cut last unit
  return out;
}

}  // namespace

std::string_view format_name(SourceFormat f) {
  for (const auto& [format, name] : kFormats)
    if (format == f) return name;
  return "unknown";
}

std::optional<SourceFormat> parse_format_name(std::string_view name) {
  for (const auto& [format, n] : kFormats)
    if (n == name) return format;
  return std::nullopt;
}

std::optional<Address> Address::parse(std::string_view text) {
  Address a;
  const auto percent = text.find('%');
  if (percent != std::string_view::npos) {
    a.zone = std::string(text.substr(percent));
    text = text.substr(0, percent);
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string s(text);
  if (s.find(':') != std::string::npos) {
    a.family = 6;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  } else {
    if (!a.zone.empty()) return std::nullopt;
    a.family = 4;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  }
  return a;
}

std::string Address::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

bool Address::is_private() const {
  const auto& b = bytes;
  if (family == 4)
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xC0) == 64);
  return (b[0] & 0xFE) == 0xFC;
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
  if (text == "default" || text == "0/0" || text == "0.0.0.0/0") {
    Prefix p;
    p.network.family = 4;
    return p;
  }
  if (text == "::/0" || text == "default6") {
    Prefix p;
    p.network.family = 6;
    return p;
  }
  std::string_view addr = text, len;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
  }
  std::optional<Address> a = Address::parse(addr);
  int implied = -1;
  if (!a && addr.find(':') == std::string_view::npos && !addr.empty()) {
    // macOS/BSD abbreviations: "192.168.1" is 192.168.1.0/24, "127" is 127.0.0.0/8.
    std::string full(addr);
    const auto dots = std::count(addr.begin(), addr.end(), '.');
    if (dots < 3 && addr.back() != '.') {
      implied = static_cast<int>(dots + 1) * 8;
      for (auto i = dots; i < 3; ++i) full += ".0";
      a = Address::parse(full);
    }
  }
  if (!a) return std::nullopt;
  const int bits = a->family == 4 ? 32 : 128;
  int length = implied >= 0 ? implied : bits;
  if (!len.empty()) {
    auto l = small_number(len, bits);
    if (!l) return std::nullopt;
    length = *l;
  } else if (text.find('/') != std::string_view::npos) {
    return std::nullopt;  // "10.0.0.0/" with nothing after the slash
  }
  Prefix p;
  p.network = *a;
  p.length = length;
  clear_host_bits(p.network, length);
  return p;
}

std::optional<Prefix> Prefix::from_mask(const Address& network, const Address& mask) {
  if (network.family != mask.family) return std::nullopt;
  auto length = mask_length(mask);
  if (!length) return std::nullopt;
  Prefix p;
  p.network = network;
  p.length = *length;
  clear_host_bits(p.network, *length);
  return p;
}

bool Prefix::contains(const Address& a) const {
  if (a.family != network.family) return false;
  for (int i = 0; i < length; ++i) {
    const auto byte = static_cast<std::size_t>(i / 8);
    const auto bit = static_cast<std::uint8_t>(0x80U >> (i % 8));
    if ((a.bytes[byte] & bit) != (network.bytes[byte] & bit)) return false;
  }
  return true;
}

std::string Prefix::text() const {
  return network.text() + "/" + std::to_string(length);
}

void normalize_text_in_place(std::string& text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  if (text.size() >= 2 && byte(0) == 0xFF && byte(1) == 0xFE) {
    text = from_utf16(std::string_view(text).substr(2), true);
  } else if (text.size() >= 2 && byte(0) == 0xFE && byte(1) == 0xFF) {
    text = from_utf16(std::string_view(text).substr(2), false);
  } else if (text.size() >= 3 && std::string_view(text).substr(0, 3) == "\xEF\xBB\xBF") {
    text.erase(0, 3);
  }
  // CRLF and lone CR to LF, in place: the text only shrinks.
  std::size_t w = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      text[w++] = '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      text[w++] = text[i];
    }
  }
  text.resize(w);
}

std::string normalize_text(std::string_view raw) {
  std::string text(raw);
  normalize_text_in_place(text);
  return text;
}

}  // namespace midiag::platform::routes
