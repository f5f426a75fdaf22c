// Fuzzes the login response token walker and, for what it decodes, the token builders: the
// rebuilt stream must walk again to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "decoders/tds/login7.h"
#include "decoders/tds/tokens.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace tds = midiag::tds;

// The builders cut B_VARCHAR values to 255 code units and US_VARCHAR values to 4096.
bool fits(const std::string& s, std::size_t max_units) {
  return tds::to_utf16le(s).size() <= 2 * max_units;
}
void same_string(const std::string& before, const std::string& after, std::size_t max_units) {
  if (fits(before, max_units)) FUZZ_CHECK(after == before);
}

void append(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& token) {
  out.insert(out.end(), token.begin(), token.end());
}

void same_routing(const tds::Routing& a, const tds::Routing& b) {
  FUZZ_CHECK(b.enhanced == a.enhanced);
  FUZZ_CHECK(b.protocol == a.protocol);
  FUZZ_CHECK(b.port == a.port);
  if (fits(a.server, 4096)) {
    FUZZ_CHECK(b.server == a.server);
    FUZZ_CHECK(b.host == a.host);
    FUZZ_CHECK(b.instance == a.instance);
  }
  if (a.enhanced) same_string(a.database, b.database, 4096);
}

// Rebuilds what the walk decoded (LOGINACK, routing and database ENVCHANGEs, ERROR/INFO, DONE)
// and walks it again. Grouped by kind: the TokenStream does not keep the order across kinds.
void check_round_trip(const tds::TokenStream& ts) {
  std::vector<std::uint8_t> wire;
  if (ts.login_ack) append(wire, tds::build_loginack(*ts.login_ack));
  std::vector<const tds::EnvChange*> rebuilt_env;
  for (const auto& ec : ts.env_changes) {
    if (ec.routing) {
      append(wire, tds::build_envchange_routing(*ec.routing));
    } else if (ec.type == 1) {
      append(wire, tds::build_envchange_database(ec.new_value, ec.old_value));
    } else {
      continue;  // no builder for the other types
    }
    rebuilt_env.push_back(&ec);
  }
  for (const auto& m : ts.messages) append(wire, tds::build_server_message(m));
  // The LOGINACK goes first, so its TDS version picks the DONE layout for all of them.
  const std::uint32_t version = ts.login_ack ? ts.login_ack->tds_version : 0;
  const bool short_done = version != 0 && tds::tds_before_72(version);
  for (const auto& d : ts.dones) append(wire, tds::build_done(d, version));

  auto again = tds::parse_tokens(wire);
  FUZZ_CHECK(again.ok());
  const tds::TokenStream& r = *again;

  FUZZ_CHECK(r.login_ack.has_value() == ts.login_ack.has_value());
  if (ts.login_ack) {
    const auto& a = *ts.login_ack;
    const auto& b = *r.login_ack;
    FUZZ_CHECK(b.interface == a.interface);
    FUZZ_CHECK(b.tds_version == a.tds_version);
    FUZZ_CHECK(b.prog_name == a.prog_name);  // decoded from a B_VARCHAR: always fits
    FUZZ_CHECK(b.major == a.major && b.minor == a.minor);
    FUZZ_CHECK(b.build_hi == a.build_hi && b.build_lo == a.build_lo);
  }

  FUZZ_CHECK(r.env_changes.size() == rebuilt_env.size());
  for (std::size_t i = 0; i < rebuilt_env.size(); ++i) {
    const auto& a = *rebuilt_env[i];
    const auto& b = r.env_changes[i];
    FUZZ_CHECK(b.type == a.type);
    FUZZ_CHECK(b.routing.has_value() == a.routing.has_value());
    if (a.routing) {
      same_routing(*a.routing, *b.routing);
    } else {
      FUZZ_CHECK(b.new_value == a.new_value);  // B_VARCHARs: always fit
      FUZZ_CHECK(b.old_value == a.old_value);
    }
  }
  FUZZ_CHECK(r.routing.has_value() == ts.routing.has_value());
  if (ts.routing) same_routing(*ts.routing, *r.routing);

  FUZZ_CHECK(r.messages.size() == ts.messages.size());
  for (std::size_t i = 0; i < ts.messages.size(); ++i) {
    const auto& a = ts.messages[i];
    const auto& b = r.messages[i];
    FUZZ_CHECK(b.is_error == a.is_error);
    FUZZ_CHECK(b.number == a.number);
    FUZZ_CHECK(b.state == a.state);
    FUZZ_CHECK(b.severity == a.severity);
    same_string(a.message, b.message, 4096);
    FUZZ_CHECK(b.server_name == a.server_name);
    FUZZ_CHECK(b.proc_name == a.proc_name);
    FUZZ_CHECK(b.line == a.line);
  }
  FUZZ_CHECK((r.first_error() == nullptr) == (ts.first_error() == nullptr));

  FUZZ_CHECK(r.dones.size() == ts.dones.size());
  for (std::size_t i = 0; i < ts.dones.size(); ++i) {
    const auto& a = ts.dones[i];
    const auto& b = r.dones[i];
    FUZZ_CHECK(b.token == a.token);
    FUZZ_CHECK(b.status == a.status);
    FUZZ_CHECK(b.cur_cmd == a.cur_cmd);
    // A DONE before a 7.0/7.1 LOGINACK was read with a u64 count, rebuilt with a u32 one.
    FUZZ_CHECK(b.row_count == (short_done ? a.row_count & 0xFFFFFFFFU : a.row_count));
    FUZZ_CHECK(b.error() == a.error());
  }
  FUZZ_CHECK(r.skipped_tokens.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> payload(data, size);
  auto parsed = tds::parse_tokens(payload);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty());
    FUZZ_CHECK(parsed.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(parsed.error().offset <= size);
    return 0;
  }
  check_round_trip(*parsed);
  return 0;
}
