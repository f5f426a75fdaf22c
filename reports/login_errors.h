// Login error numbers explained from one table: what the server's ERROR token after LOGIN7 means,
// what to do about it, where Microsoft documents it, and what it proves about the network path.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace midiag::reports {

// What an error answering LOGIN7 proves about the path from this client to the instance. Every
// class means a TDS server answered; they differ in what answered and why it said no.
enum class LoginErrorClass {
  // The engine that hosts the name checked the login itself and refused it (bad user, password,
  // disabled, locked out, expired). The network path works; the credentials do not.
  CredentialsRejected,
  // The engine accepted the connection but cannot open the database the login asked for (or the
  // login's default database): wrong name, no user mapped in it, or the database is not online.
  DatabaseUnavailable,
  // The service was reached but the instance or database is not available right now
  // (reconfiguration, failover, a replica not ready). Usually transient: retry with back-off.
  ServiceUnavailable,
  // The service is refusing work because a resource limit was hit (busy, session/worker limit).
  Throttled,
  // A gateway refused the client's address by a firewall or virtual-network rule before any
  // credential was looked at: reachable, but not admitted.
  AccessRuleRejected,
  // What answered does not host the server named in LOGIN7 (connecting by IP, through an alias or
  // proxy that rewrites the name, or a user name carrying '@server'). Fix the name, not the path.
  WrongTarget,
};

std::string_view to_string(LoginErrorClass c);  // credentials_rejected|database_unavailable|...

struct LoginErrorInfo {
  int number;
  std::optional<int> state;  // set for a state-specific row; nullopt is the number's general row
  std::string_view meaning;
  std::string_view remediation;
  std::string_view reference;  // "Title — https://learn.microsoft.com/..." (section in the title)
  LoginErrorClass cls;
};

// Every row: general rows (no state) and state-specific rows, unique per (number, state).
const std::vector<LoginErrorInfo>& login_error_table();

// The row for (number, state) if there is one, else the number's general row, else nullptr.
const LoginErrorInfo* find_login_error(int number, int state);

// With dummy credentials only 18456 is the healthy answer that proves the path (PRODUCT.md §5);
// every other number is a finding of its own.
bool proves_path_with_dummy_credentials(int number);

}  // namespace midiag::reports
