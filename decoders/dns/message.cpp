#include "decoders/dns/message.h"

#include <algorithm>
#include <cstddef>

#include "decoders/common/byte_reader.h"

namespace midiag::dns {
namespace {

constexpr int kMaxJumps = 128;  // far more than any real message needs; ends pointer loops
constexpr std::size_t kMaxNameBytes = 255;  // RFC 1035 §3.1 limit on an encoded name
constexpr std::size_t kHeaderBytes = 12;

// Label bytes as text; '.', '\' and non-printables are escaped like dig does, so they stay visible.
void append_label(std::string& out, std::span<const std::uint8_t> label) {
  for (std::uint8_t c : label) {
    if (c == '.' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x21 || c > 0x7E) {
      out += '\\';
      out += static_cast<char>('0' + c / 100);
      out += static_cast<char>('0' + c / 10 % 10);
      out += static_cast<char>('0' + c % 10);
    } else {
      out += static_cast<char>(c);
    }
  }
}

class Parser {
 public:
  explicit Parser(std::span<const std::uint8_t> wire) : wire_(wire) {}

  Expected<Message> run() {
    Message m;
    ByteReader r(wire_);
    ByteReader h = r.sub(kHeaderBytes);
    if (!r.ok()) return failure(r.fail_offset(), "header needs 12 bytes");
    // A braced list is evaluated left to right: the six words in wire order.
    m.header = {h.u16(), h.u16(), h.u16(), h.u16(), h.u16(), h.u16()};
    m.questions.reserve(std::min<std::size_t>(m.header.qdcount, wire_.size() / 5));
    for (int i = 0; i < m.header.qdcount; ++i) {
      Question q;
      if (!name(r, q.name)) return failure();
      q.type = r.u16();
      q.cls = r.u16();
      if (!r.ok()) return failure(r.fail_offset(), "question type/class cut short");
      m.questions.push_back(std::move(q));
    }
    m.answers.reserve(std::min<std::size_t>(m.header.ancount, wire_.size() / 11));
    for (int i = 0; i < m.header.ancount; ++i) {
      ResourceRecord rr;
      if (!record(r, rr)) return failure();
      m.answers.push_back(std::move(rr));
    }
    return m;
  }

 private:
  Error failure() const { return make_error(error_, ErrorKind::Malformed, error_at_); }
  Error failure(std::size_t at, std::string_view what) {
    fail(at, what);
    return failure();
  }

  bool fail(std::size_t at, std::string_view what) {
    error_at_ = at;
    error_ = "malformed DNS message at byte " + std::to_string(at) + ": " + std::string(what) +
             " (message is " + std::to_string(wire_.size()) + " bytes)";
    return false;
  }

  // Decodes the name where `r` stands and leaves `r` just past its in-line part (the first
  // pointer ends it). Each step either jumps (bounded) or consumes a label (bounded by 255).
  bool name(ByteReader& r, std::string& out) {
    out.clear();
    ByteReader jumped(wire_);
    ByteReader* cur = &r;
    std::size_t encoded = 1;  // the terminating root label
    int jumps = 0;
    while (true) {
      const std::size_t pos = cur->offset();
      const std::uint8_t len = cur->u8();
      if (!cur->ok()) return fail(pos, "name runs past the end");
      if ((len & 0xC0) == 0xC0) {
        const std::uint8_t low = cur->u8();
        if (!cur->ok()) return fail(pos, "compression pointer cut short");
        if (++jumps > kMaxJumps) return fail(pos, "too many compression pointers (a loop)");
        const std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | low;
        if (target >= wire_.size()) return fail(pos, "compression pointer out of bounds");
        jumped.seek(target);
        cur = &jumped;
        continue;
      }
      if ((len & 0xC0) != 0) return fail(pos, "reserved label type");
      if (len == 0) return true;
      const auto label = cur->bytes(len);
      if (!cur->ok()) return fail(cur->fail_offset(), "label runs past the end");
      encoded += 1u + len;
      if (encoded > kMaxNameBytes) return fail(pos, "name longer than 255 bytes");
      if (!out.empty()) out += '.';
      append_label(out, label);
    }
  }

  bool record(ByteReader& r, ResourceRecord& rr) {
    if (!name(r, rr.name)) return false;
    ByteReader h = r.sub(10);
    if (!r.ok()) return fail(r.fail_offset(), "record header cut short");
    rr.type = h.u16();
    rr.cls = h.u16();
    rr.ttl = h.u32();
    if (rr.ttl > 0x7FFFFFFFu) rr.ttl = 0;  // RFC 2181 §8: a TTL with the top bit set means 0
    const std::size_t rdlen = h.u16();
    const std::size_t at = r.offset();
    ByteReader data = r.sub(rdlen);
    if (!r.ok()) return fail(at, "record data runs past the end");
    if (rr.type == kTypeA || rr.type == kTypeAaaa) {
      const std::size_t want = rr.type == kTypeA ? 4 : 16;
      if (rdlen != want) return fail(at, "address record with " + std::to_string(rdlen) + " bytes");
      const auto address = data.bytes(want);
      std::copy(address.begin(), address.end(), rr.address.begin());
    } else if (rr.type == kTypeCname) {
      // The target may point anywhere in the message, but its in-line part must fit the record.
      ByteReader target(wire_);
      target.seek(at);
      if (!name(target, rr.target)) return false;
      if (target.offset() > at + rdlen) return fail(at, "CNAME target runs past its record");
    }
    return true;
  }

  std::span<const std::uint8_t> wire_;
  std::string error_;
  std::size_t error_at_ = 0;
};

}  // namespace

// Names compare case-insensitively (RFC 4343) and with or without the trailing root dot.
std::string canonical_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Expected<Message> parse_message(std::span<const std::uint8_t> wire) {
  return Parser(wire).run();
}

ChainResult follow_cname_chain(const Message& message, std::string_view qname) {
  ChainResult out;
  std::string current = canonical_name(qname);
  // A chain cannot have more hops than there are answers; that bound also ends CNAME loops.
  for (std::size_t hop = 0; hop < message.answers.size(); ++hop) {
    auto it = std::find_if(message.answers.begin(), message.answers.end(), [&](const auto& rr) {
      return rr.type == kTypeCname && canonical_name(rr.name) == current;
    });
    if (it == message.answers.end()) break;
    out.chain.push_back({it->name, it->target, it->ttl});
    current = canonical_name(it->target);
  }
  for (const auto& rr : message.answers) {
    if ((rr.type == kTypeA || rr.type == kTypeAaaa) && canonical_name(rr.name) == current) {
      out.addresses.push_back(rr);
    }
  }
  return out;
}

}  // namespace midiag::dns
