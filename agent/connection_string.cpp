#include "agent/connection_string.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

namespace midiag::agent {
namespace {

constexpr std::string_view kJdbcPrefix = "jdbc:sqlserver://";

// Overwrites the whole buffer, not only size(): a shorter value may have replaced a longer one.
void wipe(std::string& s) {
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Keys whose values are secrets: Password/PWD and whatever a driver adds (keyStoreSecret,
// AccessToken, clientCertificate passwords...). Their values never leave this file unmasked.
bool is_secret_key(std::string_view key) {
  const std::string k = lowercase(key);
  for (std::string_view word : {"pass", "pwd", "secret", "token"})
    if (k.find(word) != std::string::npos) return true;
  return false;
}

// Render-safe: control bytes escaped, long text cut, so a message stays one readable line.
std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

// 1-based position in characters (UTF-8 continuation bytes do not count).
std::size_t char_position(std::string_view text, std::size_t offset) {
  std::size_t n = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  return n;
}

Error usage_error(std::string_view text, std::size_t offset, const std::string& what) {
  return make_error(
      "connection string, position " + std::to_string(char_position(text, offset)) + ": " + what,
      ErrorKind::Usage, offset);
}

std::string quoted_key(std::string_view key) {
  return "'" + printable(key) + "'";
}

// ---------------------------------------------------------------------------------------------
// Lexing: key=value pairs with their spans. Lexing carries on past a problem where it can, so
// redacted() can mask a string that does not parse; parsing reports the first problem.

enum class Syntax {
  Quotes,      // ADO.NET: '...' or "..." with the quote doubled inside; '==' in a key is '='
  Braces,      // ODBC: {...} with '}}' inside
  JdbcBraces,  // JDBC: as ODBC, and a '{' inside an unbraced value is an error
};

struct Pair {
  std::string key;  // trimmed
  std::size_t key_pos = 0;
  std::size_t value_pos = 0;  // the value as written, delimiters included
  std::size_t value_end = 0;
  std::size_t inner_begin = 0;  // the value without its delimiters (trimmed when unquoted)
  std::size_t inner_end = 0;
  char delimiter = 0;      // '\'', '"', '{' or 0
  bool malformed = false;  // unterminated, or text after the closing delimiter
};

struct Lexed {
  std::vector<Pair> pairs;
  std::vector<std::pair<std::size_t, std::size_t>> bare;  // text that is not key=value
  std::optional<Error> error;                             // the first problem
  bool odbc_signal = false;                               // a Driver/DSN key or a value in braces
};

Lexed lex(std::string_view text, std::size_t start, Syntax syntax) {
  Lexed out;
  auto fail = [&](std::size_t offset, const std::string& what) {
    if (!out.error) out.error = usage_error(text, offset, what);
  };
  const std::size_t n = text.size();
  std::size_t i = start;
  while (i < n) {
    if (is_space(text[i]) || text[i] == ';') {
      ++i;
      continue;
    }
    Pair p;
    p.key_pos = i;
    bool has_equals = false;
    while (i < n && text[i] != ';') {
      if (text[i] == '=') {
        if (syntax == Syntax::Quotes && i + 1 < n && text[i + 1] == '=') {
          p.key += '=';
          i += 2;
          continue;
        }
        has_equals = true;
        ++i;
        break;
      }
      p.key += text[i++];
    }
    if (!has_equals) {
      // Never quote this text: it is often the rest of a password that held an unquoted ';'.
      out.bare.emplace_back(p.key_pos, i);
      const std::string after =
          out.pairs.empty() ? "" : " after the value of " + quoted_key(out.pairs.back().key);
      fail(p.key_pos, "text with no '='" + after + " (a value holding ';' must be " +
                          (syntax == Syntax::Quotes ? "quoted" : "in braces") + ")");
      continue;
    }
    p.key = std::string(trim(p.key));
    if (p.key.empty()) fail(p.key_pos, "'=' with no key before it");

    std::size_t j = i;
    while (j < n && is_space(text[j]) && text[j] != ';') ++j;
    p.value_pos = j;
    const bool quoted = j < n && syntax == Syntax::Quotes && (text[j] == '\'' || text[j] == '"');
    const bool braced = j < n && syntax != Syntax::Quotes && text[j] == '{';
    if (quoted || braced) {
      p.delimiter = text[j];
      const char close = braced ? '}' : text[j];
      std::size_t k = j + 1;
      bool closed = false;
      while (k < n) {
        if (text[k] == close) {
          if (k + 1 < n && text[k + 1] == close) {
            k += 2;
            continue;
          }
          closed = true;
          break;
        }
        ++k;
      }
      p.inner_begin = j + 1;
      if (!closed) {
        p.inner_end = p.value_end = n;
        p.malformed = true;
        fail(j, std::string("unterminated ") + (braced ? "brace" : "quote") + " in the value of " +
                    quoted_key(p.key));
        out.pairs.push_back(std::move(p));
        break;
      }
      p.inner_end = k;
      std::size_t m = k + 1;
      while (m < n && is_space(text[m])) ++m;
      if (m < n && text[m] != ';') {
        fail(m, std::string("text after the closing ") + (braced ? "brace" : "quote") +
                    " of the value of " + quoted_key(p.key));
        p.malformed = true;
        while (m < n && text[m] != ';') ++m;
        p.value_end = m;
      } else {
        p.value_end = k + 1;
      }
      i = m;
    } else {
      std::size_t k = j;
      while (k < n && text[k] != ';') {
        if (syntax == Syntax::JdbcBraces && text[k] == '{') {
          fail(k, "'{' inside the value of " + quoted_key(p.key) +
                      " (braces must enclose the whole value)");
          p.malformed = true;
        }
        ++k;
      }
      p.value_end = k;
      std::size_t e = k;
      while (e > j && is_space(text[e - 1])) --e;
      p.inner_begin = j;
      p.inner_end = e;
      i = k;
    }
    if (iequals(p.key, "driver") || iequals(p.key, "dsn") || p.delimiter == '{' ||
        (p.delimiter == 0 && p.inner_begin < p.inner_end && text[p.inner_begin] == '{'))
      out.odbc_signal = true;
    out.pairs.push_back(std::move(p));
  }
  return out;
}

// The value with its delimiters removed and doubled delimiters undone. The caller wipes it.
std::string value_of(std::string_view text, const Pair& p) {
  std::string v;
  v.reserve(p.inner_end - p.inner_begin);
  const char close = p.delimiter == '{' ? '}' : p.delimiter;
  for (std::size_t k = p.inner_begin; k < p.inner_end; ++k) {
    v += text[k];
    if (close != 0 && text[k] == close && k + 1 < p.inner_end && text[k + 1] == close) ++k;
  }
  return v;
}

bool has_jdbc_prefix(std::string_view text) {
  return istarts_with(trim(text), kJdbcPrefix);
}

// Offset of the URL's server part, just after the prefix.
std::size_t jdbc_server_begin(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  return i + kJdbcPrefix.size();
}

ConnectionStringDialect detect(std::string_view text) {
  if (has_jdbc_prefix(text)) return ConnectionStringDialect::Jdbc;
  // A string that reads cleanly as ADO.NET with no ODBC sign is ADO.NET (a quoted password may
  // hold "Driver=" or '{'); otherwise it is ODBC when braces or Driver/DSN are really there.
  const Lexed ado = lex(text, 0, Syntax::Quotes);
  if (!ado.error && !ado.odbc_signal) return ConnectionStringDialect::AdoNet;
  if (lex(text, 0, Syntax::Braces).odbc_signal) return ConnectionStringDialect::Odbc;
  return ConnectionStringDialect::AdoNet;
}

// Where the JDBC property list starts: after the first ';' of the URL, or at its end.
std::size_t jdbc_properties_start(std::string_view text) {
  const std::size_t semi = text.find(';', jdbc_server_begin(text));
  return semi == std::string_view::npos ? text.size() : semi + 1;
}

// ---------------------------------------------------------------------------------------------
// Keys and their synonyms, per driver: a key one driver knows may mean nothing to another.

enum class Field {
  Server,
  Port,
  Instance,
  User,
  Password,
  Database,
  Encrypt,
  Trust,
  HostNameInCertificate,
  Intent,
  Authentication,
  Timeout,
  kCount
};

struct Synonym {
  std::string_view key;  // lower case
  Field field;
};

// SqlConnection.ConnectionString (Microsoft.Data.SqlClient), keywords and synonyms.
constexpr Synonym kAdoNetKeys[] = {
    {"data source", Field::Server},
    {"server", Field::Server},
    {"address", Field::Server},
    {"addr", Field::Server},
    {"network address", Field::Server},
    {"user id", Field::User},
    {"uid", Field::User},
    {"user", Field::User},
    {"password", Field::Password},
    {"pwd", Field::Password},
    {"initial catalog", Field::Database},
    {"database", Field::Database},
    {"encrypt", Field::Encrypt},
    {"trustservercertificate", Field::Trust},
    {"trust server certificate", Field::Trust},
    {"hostnameincertificate", Field::HostNameInCertificate},
    {"host name in certificate", Field::HostNameInCertificate},
    {"applicationintent", Field::Intent},
    {"application intent", Field::Intent},
    {"authentication", Field::Authentication},
    {"connect timeout", Field::Timeout},
    {"connection timeout", Field::Timeout},
    {"timeout", Field::Timeout},
};

// ODBC Driver 18 for SQL Server, "DSN and connection string keywords and attributes".
constexpr Synonym kOdbcKeys[] = {
    {"server", Field::Server},
    {"address", Field::Server},
    {"addr", Field::Server},
    {"uid", Field::User},
    {"pwd", Field::Password},
    {"database", Field::Database},
    {"encrypt", Field::Encrypt},
    {"trustservercertificate", Field::Trust},
    {"hostnameincertificate", Field::HostNameInCertificate},
    {"applicationintent", Field::Intent},
    {"authentication", Field::Authentication},
    {"connecttimeout", Field::Timeout},
};

// Microsoft JDBC Driver, "Setting the connection properties".
constexpr Synonym kJdbcKeys[] = {
    {"servername", Field::Server},
    {"server", Field::Server},
    {"portnumber", Field::Port},
    {"port", Field::Port},
    {"instancename", Field::Instance},
    {"user", Field::User},
    {"username", Field::User},
    {"password", Field::Password},
    {"databasename", Field::Database},
    {"database", Field::Database},
    {"encrypt", Field::Encrypt},
    {"trustservercertificate", Field::Trust},
    {"hostnameincertificate", Field::HostNameInCertificate},
    {"applicationintent", Field::Intent},
    {"authentication", Field::Authentication},
    {"logintimeout", Field::Timeout},
};

std::optional<Field> field_of(ConnectionStringDialect dialect, std::string_view key) {
  auto find = [&](const auto& table) -> std::optional<Field> {
    for (const Synonym& s : table)
      if (iequals(s.key, key)) return s.field;
    return std::nullopt;
  };
  switch (dialect) {
    case ConnectionStringDialect::AdoNet:
      return find(kAdoNetKeys);
    case ConnectionStringDialect::Odbc:
      return find(kOdbcKeys);
    case ConnectionStringDialect::Jdbc:
      return find(kJdbcKeys);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Values.

std::optional<std::uint32_t> parse_number(std::string_view s, std::uint64_t max) {
  s = trim(s);
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  auto v = parse_number(s, 65535);
  if (!v || *v == 0) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

std::optional<EncryptMode> parse_encrypt(std::string_view s) {
  s = trim(s);
  for (std::string_view v : {"true", "yes", "mandatory"})
    if (iequals(s, v)) return EncryptMode::Mandatory;
  for (std::string_view v : {"false", "no", "optional"})
    if (iequals(s, v)) return EncryptMode::Optional;
  if (iequals(s, "strict")) return EncryptMode::Strict;
  return std::nullopt;
}

std::optional<bool> parse_bool(std::string_view s) {
  s = trim(s);
  if (iequals(s, "true") || iequals(s, "yes")) return true;
  if (iequals(s, "false") || iequals(s, "no")) return false;
  return std::nullopt;
}

std::optional<ApplicationIntent> parse_intent(std::string_view s) {
  s = trim(s);
  if (iequals(s, "readwrite")) return ApplicationIntent::ReadWrite;
  if (iequals(s, "readonly")) return ApplicationIntent::ReadOnly;
  return std::nullopt;
}

// ADO.NET writes "Active Directory Password", ODBC and JDBC "ActiveDirectoryPassword".
std::string canonical_authentication(std::string_view s) {
  s = trim(s);
  std::string squeezed;
  for (char c : s)
    if (!is_space(c)) squeezed += lower(c);
  static constexpr std::pair<std::string_view, std::string_view> kMethods[] = {
      {"sqlpassword", "SqlPassword"},
      {"activedirectorypassword", "ActiveDirectoryPassword"},
      {"activedirectoryintegrated", "ActiveDirectoryIntegrated"},
      {"activedirectoryinteractive", "ActiveDirectoryInteractive"},
      {"activedirectoryserviceprincipal", "ActiveDirectoryServicePrincipal"},
      {"activedirectorymanagedidentity", "ActiveDirectoryManagedIdentity"},
      {"activedirectorymsi", "ActiveDirectoryManagedIdentity"},
      {"activedirectorydevicecodeflow", "ActiveDirectoryDeviceCodeFlow"},
      {"activedirectorydefault", "ActiveDirectoryDefault"},
      {"activedirectoryworkloadidentity", "ActiveDirectoryWorkloadIdentity"},
      {"notspecified", "NotSpecified"},
  };
  for (const auto& [key, name] : kMethods)
    if (squeezed == key) return std::string(name);
  return std::string(s);
}

struct ServerParts {
  std::string host;
  std::optional<std::uint16_t> port;
  std::optional<std::string> instance;
};

// ADO.NET / ODBC: [tcp:]host[\instance][,port], host may be [IPv6].
Expected<ServerParts> parse_adonet_server(std::string_view text, const Pair& p,
                                          std::string_view value) {
  auto error = [&](const std::string& what) {
    return usage_error(text, p.value_pos, what + " in the value of " + quoted_key(p.key));
  };
  std::string_view v = trim(value);
  if (istarts_with(v, "tcp:")) {
    v = trim(v.substr(4));
  } else {
    for (std::string_view other : {"np:", "lpc:", "admin:"})
      if (istarts_with(v, other))
        return error("protocol '" + std::string(other) +
                     "' (mi-diag checks TCP connections; use tcp: or no prefix)");
  }
  ServerParts parts;
  std::string_view rest;
  if (!v.empty() && v.front() == '[') {
    const std::size_t close = v.find(']');
    if (close == std::string_view::npos) return error("unterminated '[' of an IPv6 address");
    parts.host = std::string(trim(v.substr(1, close - 1)));
    rest = trim(v.substr(close + 1));
  } else {
    const std::size_t cut = v.find_first_of("\\,");
    parts.host = std::string(trim(v.substr(0, cut)));
    rest = cut == std::string_view::npos ? std::string_view{} : v.substr(cut);
  }
  if (parts.host.empty()) return error("empty server name");
  if (!rest.empty() && rest.front() == '\\') {
    const std::size_t comma = rest.find(',');
    parts.instance = std::string(
        trim(rest.substr(1, comma == std::string_view::npos ? std::string_view::npos : comma - 1)));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma);
  }
  if (!rest.empty()) {
    if (rest.front() != ',') return error("unexpected text after the server name");
    parts.port = parse_port(rest.substr(1));
    if (!parts.port) return error("the port is not a number 1-65535");
  }
  return parts;
}

// JDBC: host[\instance][:port] in the URL, host[\instance] in serverName; host may be [IPv6]
// (unbracketed IPv6 works in serverName, where ':' means nothing).
Expected<ServerParts> parse_jdbc_server(std::string_view text, std::size_t offset,
                                        std::string_view v, bool in_url, const std::string& where) {
  auto error = [&](const std::string& what) { return usage_error(text, offset, what + where); };
  v = trim(v);
  ServerParts parts;
  std::string_view rest;
  if (!v.empty() && v.front() == '[') {
    const std::size_t close = v.find(']');
    if (close == std::string_view::npos) return error("unterminated '[' of an IPv6 address");
    parts.host = std::string(trim(v.substr(1, close - 1)));
    rest = trim(v.substr(close + 1));
  } else {
    const std::size_t cut = v.find_first_of(in_url ? "\\:" : "\\");
    parts.host = std::string(trim(v.substr(0, cut)));
    rest = cut == std::string_view::npos ? std::string_view{} : v.substr(cut);
  }
  if (parts.host.empty()) return error("empty server name");
  if (!rest.empty() && rest.front() == '\\') {
    const std::size_t colon = in_url ? rest.find(':') : std::string_view::npos;
    parts.instance = std::string(
        trim(rest.substr(1, colon == std::string_view::npos ? std::string_view::npos : colon - 1)));
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
  }
  if (!rest.empty()) {
    if (!in_url || rest.front() != ':') return error("unexpected text after the server name");
    parts.port = parse_port(rest.substr(1));
    if (!parts.port) return error("the port is not a number 1-65535");
  }
  return parts;
}

// Applies one recognised key to `s`; an Error names the key, never the value.
std::optional<Error> apply(std::string_view text, ConnectionSettings& s, Field field, const Pair& p,
                           std::string& value) {
  auto bad = [&](const std::string& expected) {
    // No value is ever quoted back: a missing ';' can put a password inside any value.
    return usage_error(text, p.value_pos,
                       "the value of " + quoted_key(p.key) + " is not " + expected);
  };
  switch (field) {
    case Field::Server: {
      if (s.dialect == ConnectionStringDialect::Jdbc) {
        auto parts = parse_jdbc_server(text, p.value_pos, value, false,
                                       " in the value of '" + printable(p.key) + "'");
        if (!parts) return parts.error();
        s.host = std::move(parts->host);
        if (parts->instance) s.instance_name = std::move(parts->instance);
      } else {
        auto parts = parse_adonet_server(text, p, value);
        if (!parts) return parts.error();
        s.host = std::move(parts->host);
        s.port = parts->port;
        s.instance_name = std::move(parts->instance);
      }
      return std::nullopt;
    }
    case Field::Port: {
      auto port = parse_port(value);
      if (!port) return bad("a port number 1-65535");
      s.port = port;
      return std::nullopt;
    }
    // The lexer already trimmed unquoted values; quoted ones keep their spaces, as drivers do.
    case Field::Instance:
      s.instance_name = value;
      return std::nullopt;
    case Field::User:
      s.user = value;
      return std::nullopt;
    case Field::Password:
      wipe(s.password);
      s.password = std::move(value);
      return std::nullopt;
    case Field::Database:
      s.database = value;
      return std::nullopt;
    case Field::Encrypt: {
      auto mode = parse_encrypt(value);
      if (!mode) return bad("one of True|Yes|Mandatory|False|No|Optional|Strict");
      s.encrypt = *mode;
      return std::nullopt;
    }
    case Field::Trust: {
      auto trust = parse_bool(value);
      if (!trust) return bad("one of True|Yes|False|No");
      s.trust_server_certificate = *trust;
      return std::nullopt;
    }
    case Field::HostNameInCertificate:
      s.host_name_in_certificate = value;
      return std::nullopt;
    case Field::Intent: {
      auto intent = parse_intent(value);
      if (!intent) return bad("ReadWrite or ReadOnly");
      s.application_intent = *intent;
      return std::nullopt;
    }
    case Field::Authentication:
      s.authentication = canonical_authentication(value);
      return std::nullopt;
    case Field::Timeout: {
      auto seconds = parse_number(value, 2147483647);
      if (!seconds) return bad("a number of seconds");
      s.connect_timeout_s = seconds;
      return std::nullopt;
    }
    case Field::kCount:
      break;
  }
  return std::nullopt;
}

std::optional<Error> parse_jdbc_url_server(std::string_view text, ConnectionSettings& s) {
  const std::size_t begin = jdbc_server_begin(text);
  const std::size_t semi = text.find(';', begin);
  const std::string_view server =
      text.substr(begin, semi == std::string_view::npos ? std::string_view::npos : semi - begin);
  if (trim(server).empty()) return std::nullopt;  // serverName= may come later
  auto parts = parse_jdbc_server(text, begin, server, true, " in the URL's server part");
  if (!parts) return parts.error();
  s.host = std::move(parts->host);
  s.port = parts->port;
  s.instance_name = std::move(parts->instance);
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ConnectionStringDialect d) {
  switch (d) {
    case ConnectionStringDialect::AdoNet:
      return "ado.net";
    case ConnectionStringDialect::Odbc:
      return "odbc";
    case ConnectionStringDialect::Jdbc:
      return "jdbc";
  }
  return "?";
}

std::string_view to_string(EncryptMode e) {
  switch (e) {
    case EncryptMode::Mandatory:
      return "mandatory";
    case EncryptMode::Optional:
      return "optional";
    case EncryptMode::Strict:
      return "strict";
  }
  return "?";
}

std::string_view to_string(ApplicationIntent a) {
  return a == ApplicationIntent::ReadOnly ? "ReadOnly" : "ReadWrite";
}

ConnectionSettings::ConnectionSettings(ConnectionSettings&& other) noexcept
    : dialect(other.dialect),
      host(std::move(other.host)),
      port(other.port),
      instance_name(std::move(other.instance_name)),
      user(std::move(other.user)),
      password(std::move(other.password)),
      database(std::move(other.database)),
      encrypt(other.encrypt),
      trust_server_certificate(other.trust_server_certificate),
      host_name_in_certificate(std::move(other.host_name_in_certificate)),
      application_intent(other.application_intent),
      authentication(std::move(other.authentication)),
      connect_timeout_s(other.connect_timeout_s),
      ignored_keys(std::move(other.ignored_keys)) {
  wipe(other.password);  // a short password is copied, not moved (small-string buffer)
}

ConnectionSettings& ConnectionSettings::operator=(ConnectionSettings&& other) noexcept {
  if (this == &other) return *this;
  wipe(password);
  dialect = other.dialect;
  host = std::move(other.host);
  port = other.port;
  instance_name = std::move(other.instance_name);
  user = std::move(other.user);
  password = std::move(other.password);
  database = std::move(other.database);
  encrypt = other.encrypt;
  trust_server_certificate = other.trust_server_certificate;
  host_name_in_certificate = std::move(other.host_name_in_certificate);
  application_intent = other.application_intent;
  authentication = std::move(other.authentication);
  connect_timeout_s = other.connect_timeout_s;
  ignored_keys = std::move(other.ignored_keys);
  wipe(other.password);
  return *this;
}

ConnectionSettings::~ConnectionSettings() {
  wipe(password);
}

Expected<ConnectionSettings> parse_connection_string(std::string_view text) {
  ConnectionSettings s;
  s.dialect = detect(text);
  std::size_t start = 0;
  Syntax syntax = Syntax::Quotes;
  if (s.dialect == ConnectionStringDialect::Jdbc) {
    if (auto e = parse_jdbc_url_server(text, s)) return std::move(*e);
    start = jdbc_properties_start(text);
    syntax = Syntax::JdbcBraces;
  } else if (s.dialect == ConnectionStringDialect::Odbc) {
    syntax = Syntax::Braces;
  }
  Lexed lexed = lex(text, start, syntax);
  if (lexed.error) return std::move(*lexed.error);

  // ODBC keeps the first of a repeated key (SQLDriverConnect); ADO.NET and JDBC the last.
  const bool first_wins = s.dialect == ConnectionStringDialect::Odbc;
  std::array<bool, static_cast<std::size_t>(Field::kCount)> seen{};
  for (const Pair& p : lexed.pairs) {
    const std::optional<Field> field = field_of(s.dialect, p.key);
    if (!field) {
      const bool listed = std::any_of(s.ignored_keys.begin(), s.ignored_keys.end(),
                                      [&](const std::string& k) { return iequals(k, p.key); });
      if (!listed) s.ignored_keys.push_back(p.key);
      continue;
    }
    const auto index = static_cast<std::size_t>(*field);
    if (first_wins && seen[index]) continue;
    seen[index] = true;
    std::string value = value_of(text, p);
    std::optional<Error> error = apply(text, s, *field, p, value);
    wipe(value);
    if (error) return std::move(*error);
  }
  return s;
}

std::vector<std::string> secret_values(std::string_view text) {
  std::vector<std::string> out;
  auto collect = [&](std::size_t start, Syntax syntax) {
    for (const Pair& p : lex(text, start, syntax).pairs) {
      if (p.key.empty() || p.malformed || !is_secret_key(p.key)) continue;
      std::string v = value_of(text, p);
      if (!v.empty() && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
      wipe(v);
    }
  };
  // The reading its driver uses (the dialect the parser picks): the other reading of the same
  // text yields fragments ('p of 'p;1'), not secrets.
  switch (detect(text)) {
    case ConnectionStringDialect::Jdbc:
      collect(jdbc_properties_start(text), Syntax::JdbcBraces);
      break;
    case ConnectionStringDialect::Odbc:
      collect(0, Syntax::Braces);
      break;
    case ConnectionStringDialect::AdoNet:
      collect(0, Syntax::Quotes);
      break;
  }
  return out;
}

std::string redacted(std::string_view text) {
  // Mask what either reading (ADO.NET quotes, ODBC braces) would call a secret or could not
  // read, so a wrong guess of the dialect cannot expose a password.
  std::vector<std::pair<std::size_t, std::size_t>> masks;
  auto collect = [&](std::size_t start, Syntax syntax) {
    const Lexed lexed = lex(text, start, syntax);
    for (const Pair& p : lexed.pairs)
      if (p.key.empty() || p.malformed || is_secret_key(p.key))
        masks.emplace_back(p.value_pos, p.value_end);
    masks.insert(masks.end(), lexed.bare.begin(), lexed.bare.end());
  };
  if (has_jdbc_prefix(text)) {
    collect(jdbc_properties_start(text), Syntax::JdbcBraces);
  } else {
    collect(0, Syntax::Quotes);
    collect(0, Syntax::Braces);
  }
  std::sort(masks.begin(), masks.end());
  std::string out;
  std::size_t at = 0;
  bool masking = false;  // `at` is the end of a mask: a span starting there joins it
  for (const auto& [begin, end] : masks) {
    if (begin > at || (begin == at && !masking)) {
      out.append(text.substr(at, begin - at));
      out += "***";
    }
    at = std::max(at, end);
    masking = true;
  }
  if (at < text.size()) out.append(text.substr(at));
  return out;
}

}  // namespace midiag::agent
