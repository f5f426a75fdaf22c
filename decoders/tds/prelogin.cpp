#include "decoders/tds/prelogin.h"

#include <string>
#include <utility>

#include "decoders/common/byte_reader.h"
#include "decoders/common/utf8.h"
#include "decoders/tds/writer.h"

namespace midiag::tds {
namespace {

enum Option : std::uint8_t {
  kVersion = 0x00,
  kEncryption = 0x01,
  kInstOpt = 0x02,
  kThreadId = 0x03,
  kMars = 0x04,
  kTraceId = 0x05,
  kFedAuthRequired = 0x06,
  kNonce = 0x07,
  kTerminator = 0xFF,
};

struct Entry {
  std::uint8_t token = 0;
  std::size_t table_at = 0;  // where the entry sits in the option table
  std::size_t offset = 0, length = 0;
};

// `at` is the entry itself when it lies about its data, else the data it points at.
Error option_error(const Entry& e, const std::string& what, std::size_t at) {
  return make_error("PRELOGIN option " + hex_byte(e.token) + " (table entry at offset " +
                        std::to_string(e.table_at) + ", data at offset " +
                        std::to_string(e.offset) + "): " + what,
                    ErrorKind::Malformed, at);
}
Error entry_error(const Entry& e, const std::string& what) {
  return option_error(e, what, e.table_at);
}
Error data_error(const Entry& e, const std::string& what) {
  return option_error(e, what, e.offset);
}

Expected<std::vector<Entry>> read_table(std::span<const std::uint8_t> payload, std::size_t& end) {
  ByteReader r(payload);
  std::vector<Entry> entries;
  while (true) {
    const std::size_t at = r.offset();
    const std::uint8_t token = r.u8();
    if (!r.ok()) {
      return make_error("PRELOGIN option table at offset " + std::to_string(at) +
                            ": payload ends before the terminator (0xFF)",
                        ErrorKind::Malformed, r.fail_offset());
    }
    if (token == kTerminator) break;
    Entry e{token, at, r.u16be(), r.u16be()};
    if (!r.ok()) {
      return make_error("PRELOGIN option " + hex_byte(token) + " at offset " + std::to_string(at) +
                            ": table entry truncated (needs 5 bytes)",
                        ErrorKind::Malformed, r.fail_offset());
    }
    entries.push_back(e);
  }
  end = r.offset();
  return entries;
}

// Every option's data must lie inside the payload, after the table, without sharing bytes.
std::optional<Error> validate(const std::vector<Entry>& entries, std::size_t table_end,
                              std::size_t size) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.offset + e.length > size) {
      return entry_error(e, "length " + std::to_string(e.length) + " runs past the " +
                                std::to_string(size) + "-byte payload");
    }
    if (e.length == 0) continue;
    if (e.offset < table_end) {
      return data_error(e, "data overlaps the option table (which ends at offset " +
                               std::to_string(table_end) + ")");
    }
    for (std::size_t j = 0; j < i; ++j) {
      const Entry& o = entries[j];
      if (o.length != 0 && e.offset < o.offset + o.length && o.offset < e.offset + e.length) {
        return data_error(e, "data overlaps option " + hex_byte(o.token));
      }
    }
  }
  return std::nullopt;
}

std::optional<Error> need_length(const Entry& e, std::size_t want) {
  if (e.length == want) return std::nullopt;
  return data_error(e, "length " + std::to_string(e.length) + ", expected " + std::to_string(want));
}

std::optional<Error> decode(const Entry& e, std::span<const std::uint8_t> data, Prelogin& p) {
  ByteReader r(data, e.offset);
  switch (e.token) {
    case kVersion: {
      if (auto err = need_length(e, 6)) return err;
      Version v;
      v.raw.assign(data.begin(), data.end());
      v.major = r.u8();
      v.minor = r.u8();
      v.build = r.u16be();
      v.sub_build = r.u16le();
      p.version = std::move(v);
      return std::nullopt;
    }
    case kEncryption: {
      if (auto err = need_length(e, 1)) return err;
      const std::uint8_t b = r.u8();
      const std::uint8_t level = b & static_cast<std::uint8_t>(~kEncryptClientCertBit);
      if (level > static_cast<std::uint8_t>(Encryption::Req)) {
        return data_error(e, "unknown encryption value " + hex_byte(b));
      }
      p.encryption = static_cast<Encryption>(level);
      p.client_cert = (b & kEncryptClientCertBit) != 0;
      return std::nullopt;
    }
    case kInstOpt: {
      std::string name;
      for (std::uint8_t c : data) {
        if (c == 0) break;
        name.push_back(static_cast<char>(c));
      }
      p.instance = to_valid_utf8(name);  // server-controlled: valid UTF-8 when stored
      return std::nullopt;
    }
    case kThreadId:
      // Servers answer with an empty THREADID; the spec's example and FreeTDS send it LE.
      if (e.length != 0 && e.length != 4) {
        return data_error(e, "length " + std::to_string(e.length) + ", expected 0 or 4");
      }
      p.thread_id_present = true;
      if (e.length == 4) p.thread_id = r.u32le();
      return std::nullopt;
    case kMars:
      if (auto err = need_length(e, 1)) return err;
      p.mars = r.u8() != 0;
      return std::nullopt;
    case kTraceId:
      p.trace_id.emplace(data.begin(), data.end());
      return std::nullopt;
    case kFedAuthRequired:
      if (auto err = need_length(e, 1)) return err;
      p.fedauth_required = r.u8() != 0;
      return std::nullopt;
    case kNonce:
      p.nonce.emplace(data.begin(), data.end());
      return std::nullopt;
    default:
      p.unknown_options.push_back(e.token);
      return std::nullopt;
  }
}

}  // namespace

std::string_view to_string(Encryption e) {
  switch (e) {
    case Encryption::Off:
      return "OFF";
    case Encryption::On:
      return "ON";
    case Encryption::NotSup:
      return "NOT_SUP";
    case Encryption::Req:
      return "REQ";
  }
  return "UNKNOWN";
}

std::string Version::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build) + "." +
         std::to_string(sub_build);
}

Expected<Prelogin> parse_prelogin(std::span<const std::uint8_t> payload) {
  std::size_t table_end = 0;
  auto entries = read_table(payload, table_end);
  if (!entries) return entries.error();
  if (auto err = validate(*entries, table_end, payload.size())) return *err;
  Prelogin p;
  std::vector<std::uint8_t> seen;
  for (const Entry& e : *entries) {
    if (e.token <= kNonce) {
      for (std::uint8_t s : seen) {
        if (s == e.token) return entry_error(e, "the option appears twice");
      }
      seen.push_back(e.token);
    }
    if (auto err = decode(e, payload.subspan(e.offset, e.length), p)) return *err;
  }
  return p;
}

std::vector<std::uint8_t> build_prelogin(const Prelogin& p) {
  std::vector<std::pair<std::uint8_t, detail::Bytes>> options;
  detail::Bytes v;
  const Version version = p.version.value_or(Version{});
  detail::put_be(v, version.major, 1);
  detail::put_be(v, version.minor, 1);
  detail::put_be(v, version.build, 2);
  detail::put_le(v, version.sub_build, 2);
  options.emplace_back(kVersion, std::move(v));
  if (p.encryption) {
    const auto b = static_cast<std::uint8_t>(static_cast<std::uint8_t>(*p.encryption) |
                                             (p.client_cert ? kEncryptClientCertBit : 0));
    options.emplace_back(kEncryption, detail::Bytes{b});
  }
  if (p.instance) {
    detail::Bytes name(p.instance->begin(), p.instance->end());
    name.push_back(0);
    options.emplace_back(kInstOpt, std::move(name));
  }
  if (p.thread_id || p.thread_id_present) {
    detail::Bytes t;
    if (p.thread_id) detail::put_le(t, *p.thread_id, 4);
    options.emplace_back(kThreadId, std::move(t));
  }
  if (p.mars) options.emplace_back(kMars, detail::Bytes{static_cast<std::uint8_t>(*p.mars)});
  if (p.trace_id) options.emplace_back(kTraceId, *p.trace_id);
  if (p.fedauth_required) {
    options.emplace_back(kFedAuthRequired,
                         detail::Bytes{static_cast<std::uint8_t>(*p.fedauth_required)});
  }
  if (p.nonce) options.emplace_back(kNonce, *p.nonce);

  // Offsets are 16-bit: keep every option small enough that the table stays addressable.
  for (auto& option : options) {
    if (option.second.size() > 1024) option.second.resize(1024);
  }
  detail::Bytes out;
  std::size_t offset = options.size() * 5 + 1;
  for (const auto& [token, data] : options) {
    detail::put_be(out, token, 1);
    detail::put_be(out, offset, 2);
    detail::put_be(out, data.size(), 2);
    offset += data.size();
  }
  detail::put_be(out, kTerminator, 1);
  for (const auto& option : options) detail::put_bytes(out, option.second);
  return out;
}

}  // namespace midiag::tds
