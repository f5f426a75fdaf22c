// `--connection-string-env VAR`: read the connection string an application already has
// (ADO.NET SqlClient, ODBC Driver for SQL Server, or Microsoft JDBC) the way its driver reads it,
// so the check connects with the same server, credentials and encryption settings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::agent {

enum class ConnectionStringDialect { AdoNet, Odbc, Jdbc };
std::string_view to_string(ConnectionStringDialect d);  // ado.net|odbc|jdbc

// Encrypt as Microsoft.Data.SqlClient 5 names it; True/Yes are Mandatory, False/No Optional.
enum class EncryptMode { Mandatory, Optional, Strict };
std::string_view to_string(EncryptMode e);  // mandatory|optional|strict

enum class ApplicationIntent { ReadWrite, ReadOnly };
std::string_view to_string(ApplicationIntent a);  // ReadWrite|ReadOnly

// What a connection string asked for. Fields it did not mention keep the current drivers'
// defaults (Microsoft.Data.SqlClient 4+, ODBC Driver 18, JDBC 10+ all encrypt by default).
// Move-only: the password is wiped with OPENSSL_cleanse when destroyed and when moved from.
struct ConnectionSettings {
  ConnectionStringDialect dialect = ConnectionStringDialect::AdoNet;
  std::string host;  // empty: the string named no server (the command line must give one)
  std::optional<std::uint16_t> port;
  std::optional<std::string> instance_name;  // `host\instance`; a port, if given, takes precedence
  std::string user;
  std::string password;  // never logged, printed or put in an error message
  std::string database;
  EncryptMode encrypt = EncryptMode::Mandatory;
  bool trust_server_certificate = false;
  std::string host_name_in_certificate;
  ApplicationIntent application_intent = ApplicationIntent::ReadWrite;
  // Canonical spelling without spaces for the known methods (SqlPassword,
  // ActiveDirectoryPassword, ActiveDirectoryManagedIdentity...); others as written; empty: not
  // given.
  std::string authentication;
  std::optional<std::uint32_t> connect_timeout_s;  // none: the driver's default
  // Keys present but not used by mi-diag, as written (names only, never their values).
  std::vector<std::string> ignored_keys;

  ConnectionSettings() = default;
  ConnectionSettings(ConnectionSettings&& other) noexcept;
  ConnectionSettings& operator=(ConnectionSettings&& other) noexcept;
  ConnectionSettings(const ConnectionSettings&) = delete;
  ConnectionSettings& operator=(const ConnectionSettings&) = delete;
  ~ConnectionSettings();
};

// Parses an ADO.NET, ODBC or JDBC connection string. The dialect is JDBC for the
// `jdbc:sqlserver://` prefix, ODBC when a Driver/DSN key or a `{...}` value appears, else ADO.NET.
// A malformed string is an ErrorKind::Usage error whose offset is the 0-based byte offset and
// whose message names the 1-based character position and the key, never a value (a missing
// ';' can put a password inside any value).
Expected<ConnectionSettings> parse_connection_string(std::string_view text);

// The values of every secret key (Password, AccessToken, a client secret...) as the string's
// driver decodes them: what a bundle must remove from every member.
std::vector<std::string> secret_values(std::string_view text);

// `text` with the value of every secret key (named like pass/pwd/secret/token) replaced by ***,
// quotes or braces included, and any text that is not a key=value pair masked too: safe for any
// log or report, even when `text` does not parse.
std::string redacted(std::string_view text);

}  // namespace midiag::agent
