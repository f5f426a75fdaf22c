// Fuzzes the IMDS document parser (platform/azure): whatever the bytes, it returns a document or
// a Malformed error, keeps within its bounds, writes MACs in one form, keeps only addresses and
// subnets that parse, and relates any address to the VM without throwing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/azure/imds.h"
#include "tests/fuzz/fuzz_check.h"

namespace azure = midiag::platform::azure;
namespace routes = midiag::platform::routes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto info = azure::parse_imds(text);
  if (!info) {
    FUZZ_CHECK(info.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(!info.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(info->interfaces.size() <= azure::kMaxInterfaces);
  FUZZ_CHECK(info->unread.size() <= azure::kMaxUnread + 1);
  for (const auto& u : info->unread) FUZZ_CHECK(!u.where.empty() && !u.why.empty());
  for (const auto& nic : info->interfaces) {
    FUZZ_CHECK(nic.mac.empty() || nic.mac.size() == 17);
    for (std::size_t i = 0; i < nic.mac.size(); ++i)
      FUZZ_CHECK(i % 3 == 2 ? nic.mac[i] == ':'
                            : ((nic.mac[i] >= '0' && nic.mac[i] <= '9') ||
                               (nic.mac[i] >= 'a' && nic.mac[i] <= 'f')));
    FUZZ_CHECK(nic.private_addresses.size() <= 2 * azure::kMaxPerList);
    FUZZ_CHECK(nic.subnets.size() <= 2 * azure::kMaxPerList);
    for (const auto& list : {nic.private_addresses, nic.public_addresses})
      for (const auto& a : list) {
        auto parsed = routes::Address::parse(a);
        FUZZ_CHECK(parsed && parsed->text() == a);
      }
    for (const auto& s : nic.subnets) {
      FUZZ_CHECK(s.parsed.length >= 1 &&
                 s.parsed.length <= (s.parsed.network.family == 4 ? 32 : 128));
      FUZZ_CHECK(s.parsed.contains(s.parsed.network));
    }
  }
  // Every address the VM lists is in its own subnets or not; either way the relation is named.
  for (const char* to : {"10.0.0.4", "10.1.0.4", "20.40.1.1", "fd00::5", "127.0.0.1"})
    for (auto scope :
         {azure::AddressScope::Private, azure::AddressScope::Public, azure::AddressScope::Other}) {
      const auto r = azure::relate(*info, to, scope);
      FUZZ_CHECK(r.address == to && !r.relation.empty() && !r.detail.empty());
      bool inside = false;
      const auto a = routes::Address::parse(to);
      for (const auto& nic : info->interfaces)
        for (const auto& s : nic.subnets) inside = inside || s.parsed.contains(*a);
      FUZZ_CHECK(inside == (r.relation == "same subnet"));
    }
  return 0;
}
