#include "decoders/tls/messages.h"

#include <string>

#include "decoders/tls/byte_reader.h"

namespace midiag::tls::detail {
namespace {

constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;
constexpr std::uint16_t kExtSupportedVersions = 43;
constexpr std::size_t kRandomSize = 32;

Error truncated(const char* message, const char* field, const ByteReader& r) {
  return make_error(std::string("TLS ") + message + ": malformed or truncated " + field +
                    " (message byte " + std::to_string(r.pos()) + ")");
}

std::string to_string(std::span<const std::uint8_t> b) {
  return std::string(b.begin(), b.end());
}

// The first host_name entry of a server_name extension (RFC 6066 3).
bool read_sni(std::span<const std::uint8_t> data, std::optional<std::string>& sni) {
  ByteReader r(data);
  ByteReader list(r.vec(2));
  while (list.ok() && list.remaining() > 0) {
    const std::uint8_t type = list.u8();
    const auto name = list.vec(2);
    if (list.ok() && type == 0 && !sni) sni = to_string(name);
  }
  return r.ok() && list.ok();
}

// ProtocolNameList (RFC 7301 3.1): u16 list length, then u8 length + name each.
bool read_alpn(std::span<const std::uint8_t> data, std::vector<std::string>& out) {
  ByteReader r(data);
  ByteReader list(r.vec(2));
  while (list.ok() && list.remaining() > 0) {
    const auto name = list.vec(1);
    if (list.ok()) out.push_back(to_string(name));
  }
  return r.ok() && list.ok();
}

// Calls on_ext(type, data) for each extension; false when the block overruns.
template <typename F>
bool for_each_extension(ByteReader& r, F&& on_ext) {
  if (r.remaining() == 0) return true;  // extensions are optional before TLS 1.3
  ByteReader exts(r.vec(2));
  while (exts.ok() && exts.remaining() > 0) {
    const std::uint16_t type = exts.u16();
    const auto data = exts.vec(2);
    if (exts.ok() && !on_ext(type, data)) return false;
  }
  return r.ok() && exts.ok();
}

}  // namespace

Expected<ClientHello> parse_client_hello(std::span<const std::uint8_t> body) {
  ClientHello hello;
  ByteReader r(body);
  hello.legacy_version = r.u16();
  r.bytes(kRandomSize);
  r.vec(1);  // session id
  ByteReader suites(r.vec(2));
  if (!r.ok()) return truncated("ClientHello", "header or cipher_suites", r);
  while (suites.remaining() >= 2) hello.cipher_suites.push_back(suites.u16());
  r.vec(1);  // compression methods
  if (!r.ok()) return truncated("ClientHello", "compression_methods", r);
  const bool ok = for_each_extension(r, [&](std::uint16_t type, auto data) {
    if (type == kExtServerName) return read_sni(data, hello.sni);
    if (type == kExtAlpn) return read_alpn(data, hello.alpn);
    if (type == kExtSupportedVersions) {
      ByteReader ext(data);
      ByteReader list(ext.vec(1));
      while (list.remaining() >= 2) hello.supported_versions.push_back(list.u16());
      return ext.ok();
    }
    return true;
  });
  if (!ok) return truncated("ClientHello", "extensions", r);
  return hello;
}

Expected<ServerHello> parse_server_hello(std::span<const std::uint8_t> body) {
  ServerHello hello;
  ByteReader r(body);
  hello.legacy_version = r.u16();
  r.bytes(kRandomSize);
  r.vec(1);  // session id
  hello.cipher_suite = r.u16();
  r.u8();  // compression method
  if (!r.ok()) return truncated("ServerHello", "header", r);
  const bool ok = for_each_extension(r, [&](std::uint16_t type, auto data) {
    if (type == kExtSupportedVersions) {
      ByteReader ext(data);
      const std::uint16_t v = ext.u16();
      if (ext.ok()) hello.selected_version = v;
      return ext.ok();
    }
    if (type == kExtAlpn) {
      std::vector<std::string> names;
      if (!read_alpn(data, names)) return false;
      if (!names.empty()) hello.alpn = names.front();
    }
    return true;
  });
  if (!ok) return truncated("ServerHello", "extensions", r);
  return hello;
}

Expected<std::vector<std::vector<std::uint8_t>>> parse_certificate(
    std::span<const std::uint8_t> body) {
  std::vector<std::vector<std::uint8_t>> chain;
  ByteReader r(body);
  ByteReader list(r.vec(3));
  while (list.ok() && list.remaining() > 0) {
    const auto der = list.vec(3);
    if (list.ok()) chain.emplace_back(der.begin(), der.end());
  }
  if (!r.ok() || !list.ok()) return truncated("Certificate", "certificate_list", r.ok() ? list : r);
  return chain;
}

}  // namespace midiag::tls::detail
