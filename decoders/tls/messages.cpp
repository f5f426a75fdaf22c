#include "decoders/tls/messages.h"

#include <optional>
#include <string>

#include "decoders/common/byte_reader.h"

namespace midiag::tls::detail {
namespace {

constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;
constexpr std::uint16_t kExtSupportedVersions = 43;
constexpr std::size_t kRandomSize = 32;

// `at` is the offset in the message body where decoding failed.
Error truncated(const char* message, const char* field, std::size_t at) {
  return make_error(std::string("TLS ") + message + ": malformed or truncated " + field +
                        " (message byte " + std::to_string(at) + ")",
                    ErrorKind::Malformed, at);
}

std::string to_string(std::span<const std::uint8_t> b) {
  return std::string(b.begin(), b.end());
}

// The first host_name entry of a server_name extension (RFC 6066 3).
bool read_sni(ByteReader r, std::optional<std::string>& sni) {
  ByteReader list = r.sub_vec(2);
  while (list.ok() && list.remaining() > 0) {
    const std::uint8_t type = list.u8();
    const auto name = list.vec(2);
    if (list.ok() && type == 0 && !sni) sni = to_string(name);
  }
  return r.ok() && list.ok();
}

// ProtocolNameList (RFC 7301 3.1): u16 list length, then u8 length + name each.
bool read_alpn(ByteReader r, std::vector<std::string>& out) {
  ByteReader list = r.sub_vec(2);
  while (list.ok() && list.remaining() > 0) {
    const auto name = list.vec(1);
    if (list.ok()) out.push_back(to_string(name));
  }
  return r.ok() && list.ok();
}

// Calls on_ext(type, data reader) for each extension; the offset where the block or an
// extension's data went wrong, or nullopt when all is well.
template <typename F>
std::optional<std::size_t> for_each_extension(ByteReader& r, F&& on_ext) {
  if (r.remaining() == 0) return std::nullopt;  // extensions are optional before TLS 1.3
  ByteReader exts = r.sub_vec(2);
  while (exts.ok() && exts.remaining() > 0) {
    const std::uint16_t type = exts.u16();
    const ByteReader data = exts.sub_vec(2);
    if (exts.ok() && !on_ext(type, data)) return data.offset();
  }
  if (!r.ok()) return r.fail_offset();
  if (!exts.ok()) return exts.fail_offset();
  return std::nullopt;
}

}  // namespace

Expected<ClientHello> parse_client_hello(std::span<const std::uint8_t> body) {
  ClientHello hello;
  ByteReader r(body);
  hello.legacy_version = r.u16();
  r.bytes(kRandomSize);
  r.vec(1);  // session id
  ByteReader suites = r.sub_vec(2);
  if (!r.ok()) return truncated("ClientHello", "header or cipher_suites", r.fail_offset());
  while (suites.remaining() >= 2) hello.cipher_suites.push_back(suites.u16());
  r.vec(1);  // compression methods
  if (!r.ok()) return truncated("ClientHello", "compression_methods", r.fail_offset());
  const auto bad = for_each_extension(r, [&](std::uint16_t type, ByteReader data) {
    if (type == kExtServerName) return read_sni(data, hello.sni);
    if (type == kExtAlpn) return read_alpn(data, hello.alpn);
    if (type == kExtSupportedVersions) {
      ByteReader list = data.sub_vec(1);
      while (list.remaining() >= 2) hello.supported_versions.push_back(list.u16());
      return data.ok();
    }
    return true;
  });
  if (bad) return truncated("ClientHello", "extensions", *bad);
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
  if (!r.ok()) return truncated("ServerHello", "header", r.fail_offset());
  const auto bad = for_each_extension(r, [&](std::uint16_t type, ByteReader data) {
    if (type == kExtSupportedVersions) {
      const std::uint16_t v = data.u16();
      if (data.ok()) hello.selected_version = v;
      return data.ok();
    }
    if (type == kExtAlpn) {
      std::vector<std::string> names;
      if (!read_alpn(data, names)) return false;
      if (!names.empty()) hello.alpn = names.front();
    }
    return true;
  });
  if (bad) return truncated("ServerHello", "extensions", *bad);
  return hello;
}

Expected<std::vector<std::vector<std::uint8_t>>> parse_certificate(
    std::span<const std::uint8_t> body) {
  std::vector<std::vector<std::uint8_t>> chain;
  ByteReader r(body);
  ByteReader list = r.sub_vec(3);
  while (list.ok() && list.remaining() > 0) {
    const auto der = list.vec(3);
    if (list.ok()) chain.emplace_back(der.begin(), der.end());
  }
  if (!r.ok()) return truncated("Certificate", "certificate_list", r.fail_offset());
  if (!list.ok()) return truncated("Certificate", "certificate_list", list.fail_offset());
  return chain;
}

}  // namespace midiag::tls::detail
