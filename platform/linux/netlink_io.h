// Minimal rtnetlink transport (private to platform/linux): one request per fresh NETLINK_ROUTE
// socket, bounded receive, and bounds-checked parsing that never trusts a length field.
#pragma once

#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::platform::nl {

using Bytes = std::span<const std::uint8_t>;

constexpr std::size_t align4(std::size_t n) {
  return (n + 3U) & ~std::size_t{3};
}

// Builds one request: nlmsghdr, the family header, then attributes, each padded to 4 bytes.
class Request {
 public:
  Request(std::uint16_t type, std::uint16_t flags);
  template <typename T>
  void add_struct(const T& header) {
    append(&header, sizeof header);
  }
  void add_attr(std::uint16_t type, const void* data, std::size_t len);
  [[nodiscard]] bool is_dump() const { return (flags_ & NLM_F_DUMP) == NLM_F_DUMP; }
  // The wire bytes with length and sequence number filled in.
  [[nodiscard]] std::vector<std::uint8_t> bytes(std::uint32_t seq) const;

 private:
  void append(const void* data, std::size_t len);
  std::uint16_t type_;
  std::uint16_t flags_;
  std::vector<std::uint8_t> body_;
};

struct Message {
  std::uint16_t type = 0;
  std::vector<std::uint8_t> payload;  // everything after the nlmsghdr
};

struct Reply {
  int error = 0;  // errno from the kernel's NLMSG_ERROR; 0 when `messages` is the answer
  std::vector<Message> messages;
};

// Sends `req` and collects the answer (all parts of a dump, or the single reply). `strict` asks
// the kernel to honour dump filters (NETLINK_GET_STRICT_CHK); ignored by kernels before 4.20.
Expected<Reply> transact(const Request& req, bool strict = false);

// Copies a fixed-size struct from the front of `b`; nullopt when `b` is too short.
template <typename T>
std::optional<T> read_as(Bytes b) {
  if (b.size() < sizeof(T)) return std::nullopt;
  T out;
  std::memcpy(&out, b.data(), sizeof out);
  return out;
}

// The attributes that follow a family header of type T in a message payload.
template <typename T>
Bytes attrs_after(Bytes payload) {
  const std::size_t skip = align4(sizeof(T));
  return skip >= payload.size() ? Bytes{} : payload.subspan(skip);
}

// Calls fn(type, payload) for each well-formed rtattr; stops at the first malformed one.
template <typename Fn>
void for_each_attr(Bytes b, Fn&& fn) {
  while (b.size() >= sizeof(rtattr)) {
    const auto a = *read_as<rtattr>(b);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > b.size()) return;
    fn(static_cast<std::uint16_t>(a.rta_type & NLA_TYPE_MASK),
       b.subspan(sizeof(rtattr), a.rta_len - sizeof(rtattr)));
    const std::size_t step = align4(a.rta_len);
    if (step >= b.size()) return;
    b = b.subspan(step);
  }
}

// Numeric text for a 4- or 16-byte address of `family`; "" when the size does not match.
std::string format_addr(int family, Bytes b);

}  // namespace midiag::platform::nl
