#include "decoders/dns/message.h"

#include <algorithm>
#include <cstddef>

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
    if (!need(0, kHeaderBytes, "header needs 12 bytes")) return failure();
    m.header = {u16(0), u16(2), u16(4), u16(6), u16(8), u16(10)};
    std::size_t pos = kHeaderBytes;
    std::string ignored;
    for (int i = 0; i < m.header.qdcount; ++i) {
      if (!name(pos, ignored, pos) || !need(pos, 4, "question type/class cut short")) {
        return failure();
      }
      pos += 4;
    }
    m.answers.reserve(std::min<std::size_t>(m.header.ancount, wire_.size() / 11));
    for (int i = 0; i < m.header.ancount; ++i) {
      ResourceRecord rr;
      if (!record(pos, rr)) return failure();
      m.answers.push_back(std::move(rr));
    }
    return m;
  }

 private:
  Error failure() const { return make_error(error_); }

  bool fail(std::size_t at, std::string_view what) {
    error_ = "malformed DNS message at byte " + std::to_string(at) + ": " + std::string(what) +
             " (message is " + std::to_string(wire_.size()) + " bytes)";
    return false;
  }

  bool need(std::size_t at, std::size_t n, std::string_view what) {
    if (at <= wire_.size() && n <= wire_.size() - at) return true;
    return fail(at, what);
  }

  [[nodiscard]] std::uint16_t u16(std::size_t at) const {
    return static_cast<std::uint16_t>(wire_[at] << 8 | wire_[at + 1]);
  }
  [[nodiscard]] std::uint32_t u32(std::size_t at) const {
    return static_cast<std::uint32_t>(u16(at)) << 16 | u16(at + 2);
  }

  // Decodes the name at `at`; `end` gets the offset just past its in-line part (the first
  // pointer ends it). Each step either jumps (bounded) or consumes a label (bounded by 255).
  bool name(std::size_t at, std::string& out, std::size_t& end) {
    out.clear();
    std::size_t pos = at;
    std::size_t encoded = 1;  // the terminating root label
    int jumps = 0;
    bool jumped = false;
    while (true) {
      if (!need(pos, 1, "name runs past the end")) return false;
      const std::uint8_t len = wire_[pos];
      if ((len & 0xC0) == 0xC0) {
        if (!need(pos, 2, "compression pointer cut short")) return false;
        if (++jumps > kMaxJumps) return fail(pos, "too many compression pointers (a loop)");
        const std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | wire_[pos + 1];
        if (target >= wire_.size()) return fail(pos, "compression pointer out of bounds");
        if (!jumped) end = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if ((len & 0xC0) != 0) return fail(pos, "reserved label type");
      if (len == 0) {
        if (!jumped) end = pos + 1;
        return true;
      }
      if (!need(pos + 1, len, "label runs past the end")) return false;
      encoded += 1u + len;
      if (encoded > kMaxNameBytes) return fail(pos, "name longer than 255 bytes");
      if (!out.empty()) out += '.';
      append_label(out, wire_.subspan(pos + 1, len));
      pos += 1u + len;
    }
  }

  bool record(std::size_t& pos, ResourceRecord& rr) {
    if (!name(pos, rr.name, pos) || !need(pos, 10, "record header cut short")) return false;
    rr.type = u16(pos);
    rr.cls = u16(pos + 2);
    rr.ttl = u32(pos + 4);
    if (rr.ttl > 0x7FFFFFFFu) rr.ttl = 0;  // RFC 2181 §8: a TTL with the top bit set means 0
    const std::size_t rdlen = u16(pos + 8);
    pos += 10;
    if (!need(pos, rdlen, "record data runs past the end")) return false;
    if (rr.type == kTypeA || rr.type == kTypeAaaa) {
      const std::size_t want = rr.type == kTypeA ? 4 : 16;
      if (rdlen != want)
        return fail(pos, "address record with " + std::to_string(rdlen) + " bytes");
      std::copy_n(wire_.begin() + static_cast<std::ptrdiff_t>(pos), want, rr.address.begin());
    } else if (rr.type == kTypeCname) {
      std::size_t end = pos;
      if (!name(pos, rr.target, end)) return false;
      if (end > pos + rdlen) return fail(pos, "CNAME target runs past its record");
    }
    pos += rdlen;
    return true;
  }

  std::span<const std::uint8_t> wire_;
  std::string error_;
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
