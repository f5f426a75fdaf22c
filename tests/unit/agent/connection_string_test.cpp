// Connection strings as applications hold them: the drivers' own documented examples, every
// quoting rule, each error with its position, and passwords kept out of errors and logs.
#include "agent/connection_string.h"
#include <algorithm>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using midiag::ErrorKind;
using midiag::agent::ApplicationIntent;
using midiag::agent::ConnectionSettings;
using midiag::agent::ConnectionStringDialect;
using midiag::agent::EncryptMode;
using midiag::agent::parse_connection_string;
using midiag::agent::redacted;

namespace {

// Names each parameterised case after its table row.
struct CaseName {
  template <typename T>
  std::string operator()(const testing::TestParamInfo<T>& row) const {
    return row.param.name;
  }
};

constexpr auto kAdo = ConnectionStringDialect::AdoNet;
constexpr auto kOdbc = ConnectionStringDialect::Odbc;
constexpr auto kJdbc = ConnectionStringDialect::Jdbc;

struct ParseCase {
  const char* name;
  const char* text;
  ConnectionStringDialect dialect;
  const char* host;
  std::optional<std::uint16_t> port;
  std::optional<std::string> instance;
  const char* user;
  const char* password;
  const char* database;
  std::vector<std::string> ignored;
};

void PrintTo(const ParseCase& c, std::ostream* os) {
  *os << c.name;
}

// The drivers' documented examples, and the Managed Instance endpoint forms.
const ParseCase kDocumentedExamples[] = {
    // learn.microsoft.com/sql/connect/ado-net/connection-strings (Microsoft.Data.SqlClient).
    {"AdoNetServerTcpPortStrict",
     "Server=tcp:sql.example.com,1433;Database=Orders;Integrated Security=true;Encrypt=Strict",
     kAdo,
     "sql.example.com",
     1433,
     std::nullopt,
     "",
     "",
     "Orders",
     {"Integrated Security"}},
    // learn.microsoft.com/dotnet/api/system.data.sqlclient.sqlconnectionstringbuilder.datasource:
    // "Network Address" is a synonym of "Data Source".
    {"AdoNetNetworkAddressSynonym",
     "Network Address=(local);Integrated Security=SSPI;Initial Catalog=AdventureWorks",
     kAdo,
     "(local)",
     std::nullopt,
     std::nullopt,
     "",
     "",
     "AdventureWorks",
     {"Integrated Security"}},
    // PRODUCT.md §2: the Managed Instance endpoints, as an ADO.NET application writes them.
    {"AdoNetManagedInstancePublicEndpoint",
     "Data Source=tcp:mymi.public.abc123.database.windows.net,3342;User ID=app;Password=pw;"
     "Initial Catalog=db1",
     kAdo,
     "mymi.public.abc123.database.windows.net",
     3342,
     std::nullopt,
     "app",
     "pw",
     "db1",
     {}},
    {"AdoNetManagedInstanceVnetLocalNoPort",
     "Server=mymi.abc123.database.windows.net;UID=app;PWD=pw",
     kAdo,
     "mymi.abc123.database.windows.net",
     std::nullopt,
     std::nullopt,
     "app",
     "pw",
     "",
     {}},
    {"AdoNetAddrAndUser",
     "Addr=10.0.0.4,1433;User=app",
     kAdo,
     "10.0.0.4",
     1433,
     std::nullopt,
     "app",
     "",
     "",
     {}},
    {"AdoNetAddressInstance",
     "Address=host\\SQLEXPRESS",
     kAdo,
     "host",
     std::nullopt,
     "SQLEXPRESS",
     "",
     "",
     "",
     {}},
    {"AdoNetInstanceAndPort", "Server=host\\inst,1500", kAdo, "host", 1500, "inst", "", "", "", {}},
    {"AdoNetBracketedIpv6",
     "Server=tcp:[fe80::1],1433",
     kAdo,
     "fe80::1",
     1433,
     std::nullopt,
     "",
     "",
     "",
     {}},
    {"AdoNetUnbracketedIpv6WithComma",
     "Server=2001:db8::5,1433",
     kAdo,
     "2001:db8::5",
     1433,
     std::nullopt,
     "",
     "",
     "",
     {}},
    {"AdoNetSpacesAroundParts",
     "  Server = tcp: host , 1433 ;  User ID = app  ",
     kAdo,
     "host",
     1433,
     std::nullopt,
     "app",
     "",
     "",
     {}},

    // learn.microsoft.com/dotnet/api/system.data.odbc.odbcconnection.connectionstring.
    {"OdbcDocExample",
     "Driver={SQL Server};Server=(local);Trusted_Connection=Yes;Database=AdventureWorks;",
     kOdbc,
     "(local)",
     std::nullopt,
     std::nullopt,
     "",
     "",
     "AdventureWorks",
     {"Driver", "Trusted_Connection"}},
    // learn.microsoft.com/sql/connect/odbc/dsn-connection-string-attribute: DSN-less keywords.
    {"OdbcDriver18Managedinstance",
     "Driver={ODBC Driver 18 for SQL Server};Server=tcp:mymi.abc123.database.windows.net,1433;"
     "UID=app;PWD={p}}w;d=};Database=db1;",
     kOdbc,
     "mymi.abc123.database.windows.net",
     1433,
     std::nullopt,
     "app",
     "p}w;d=",
     "db1",
     {"Driver"}},
    {"OdbcAddrSynonym",
     "Driver={ODBC Driver 18 for SQL Server};Addr=host,1444",
     kOdbc,
     "host",
     1444,
     std::nullopt,
     "",
     "",
     "",
     {"Driver"}},
    {"OdbcDetectedByBracesAlone",
     "Server=host;UID=app;PWD={a;b}",
     kOdbc,
     "host",
     std::nullopt,
     std::nullopt,
     "app",
     "a;b",
     "",
     {}},
    {"OdbcDsn",
     "DSN=mydsn;UID=app;PWD=pw",
     kOdbc,
     "",
     std::nullopt,
     std::nullopt,
     "app",
     "pw",
     "",
     {"DSN"}},
    // ODBC knows UID, not "User ID": the driver would ignore it, and so do we.
    {"OdbcIgnoresAdoNetOnlySynonyms",
     "Driver={x};Server=h;User ID=app;Password=pw",
     kOdbc,
     "h",
     std::nullopt,
     std::nullopt,
     "",
     "",
     "",
     {"Driver", "User ID", "Password"}},

    // learn.microsoft.com/sql/connect/jdbc/building-the-connection-url, "Connection examples".
    {"JdbcLocalhostUserPassword",
     "jdbc:sqlserver://localhost;encrypt=true;user=MyUserName;password=*****;",
     kJdbc,
     "localhost",
     std::nullopt,
     std::nullopt,
     "MyUserName",
     "*****",
     "",
     {}},
    {"JdbcPortAndDatabase",
     "jdbc:sqlserver://localhost:1433;encrypt=true;databaseName=AdventureWorks;"
     "integratedSecurity=true;",
     kJdbc,
     "localhost",
     1433,
     std::nullopt,
     "",
     "",
     "AdventureWorks",
     {"integratedSecurity"}},
    {"JdbcServerNameProperty",
     "jdbc:sqlserver://;servername=server_name;encrypt=true;integratedSecurity=true;"
     "authenticationScheme=JavaKerberos",
     kJdbc,
     "server_name",
     std::nullopt,
     std::nullopt,
     "",
     "",
     "",
     {"integratedSecurity", "authenticationScheme"}},
    {"JdbcInstanceNameProperty",
     "jdbc:sqlserver://localhost;encrypt=true;instanceName=instance1;integratedSecurity=true;",
     kJdbc,
     "localhost",
     std::nullopt,
     "instance1",
     "",
     "",
     "",
     {"integratedSecurity"}},
    // The general form: jdbc:sqlserver://[serverName[\instanceName][:portNumber]][;property=value]
    {"JdbcInstanceAndPortInUrl",
     "jdbc:sqlserver://host\\inst:1500;user=app",
     kJdbc,
     "host",
     1500,
     "inst",
     "app",
     "",
     "",
     {}},
    {"JdbcNoPropertiesNoSemicolon",
     "jdbc:sqlserver://mymi.abc123.database.windows.net:1433",
     kJdbc,
     "mymi.abc123.database.windows.net",
     1433,
     std::nullopt,
     "",
     "",
     "",
     {}},
    {"JdbcBracedPassword",
     "jdbc:sqlserver://h;user=app;password={a;b}}c=d}",
     kJdbc,
     "h",
     std::nullopt,
     std::nullopt,
     "app",
     "a;b}c=d",
     "",
     {}},
    {"JdbcPortNumberProperty",
     "jdbc:sqlserver://h;portNumber=3342",
     kJdbc,
     "h",
     3342,
     std::nullopt,
     "",
     "",
     "",
     {}},
    {"JdbcBracketedIpv6InUrl",
     "jdbc:sqlserver://[::1]:1433;userName=app",
     kJdbc,
     "::1",
     1433,
     std::nullopt,
     "app",
     "",
     "",
     {}},
    {"JdbcUnbracketedIpv6InServerName",
     "jdbc:sqlserver://;serverName=fe80::2;port=1433",
     kJdbc,
     "fe80::2",
     1433,
     std::nullopt,
     "",
     "",
     "",
     {}},
};

class ConnectionStringExamples : public testing::TestWithParam<ParseCase> {};

TEST_P(ConnectionStringExamples, Parse) {
  const ParseCase& c = GetParam();
  auto r = parse_connection_string(c.text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->dialect, c.dialect);
  EXPECT_EQ(r->host, c.host);
  EXPECT_EQ(r->port, c.port);
  EXPECT_EQ(r->instance_name, c.instance);
  EXPECT_EQ(r->user, c.user);
  EXPECT_EQ(r->password, c.password);
  EXPECT_EQ(r->database, c.database);
  EXPECT_EQ(r->ignored_keys, c.ignored);
}

INSTANTIATE_TEST_SUITE_P(Documented, ConnectionStringExamples,
                         testing::ValuesIn(kDocumentedExamples), CaseName());

// How a value is read: the user name carries it through untouched.
struct QuotingCase {
  const char* name;
  const char* text;
  const char* user;
};

void PrintTo(const QuotingCase& c, std::ostream* os) {
  *os << c.name;
}

const QuotingCase kQuotingRules[] = {
    // learn.microsoft.com/dotnet/framework/data/adonet/connection-strings, "Connection string
    // syntax": each of its examples, with User ID as the keyword.
    {"AdoNetDoubleQuotesKeepSpaces", "User ID=\" whitespace \";", " whitespace "},
    {"AdoNetSingleQuotesHoldSemicolon", "User ID='special;character';", "special;character"},
    {"AdoNetDoubleQuoteInsideSingle", "User ID='double\"quotation;mark';",
     "double\"quotation;mark"},
    {"AdoNetSingleQuoteInsideDouble", "User ID=\"single'quotation;mark\";",
     "single'quotation;mark"},
    {"AdoNetDoubledDoubleQuote", "User ID=\"double\"\"quotation\";", "double\"quotation"},
    {"AdoNetDoubledSingleQuote", "User ID='single''quotation';", "single'quotation"},
    {"AdoNetQuotesInsideAreLiteral", "User ID=no \"escaping\" 'required';",
     "no \"escaping\" 'required'"},
    {"AdoNetEqualsInValue", "User ID=a=b=c", "a=b=c"},
    {"AdoNetUnquotedTrimmed", "User ID=   app   ;", "app"},
    {"AdoNetSpaceAfterClosingQuote", "User ID='app'   ;Server=h", "app"},
    {"AdoNetEmptyValue", "User ID=;Server=h", ""},
    {"AdoNetKeysCaseInsensitive", "uSeR iD=app", "app"},
    {"AdoNetBraceNotSpecialInsideQuotes", "User ID='{app}'", "{app}"},
    {"AdoNetLastDuplicateWins", "User ID=first;UID=second;User=third", "third"},
    {"AdoNetDoubledEqualsInKeyIsNotOurKey", "User==ID=x;User ID=app", "app"},
    // learn.microsoft.com/sql/odbc/reference/syntax/sqldriverconnect-function: {} quoting,
    // and the first of a repeated keyword is the one used.
    {"OdbcBracesHoldSemicolon", "Driver={x};UID={a;b}", "a;b"},
    {"OdbcDoubledClosingBrace", "Driver={x};UID={a}}b}", "a}b"},
    {"OdbcOpeningBraceInsideIsLiteral", "Driver={x};UID={a{b}", "a{b"},
    {"OdbcBracesKeepSpaces", "Driver={x};UID={ app }", " app "},
    {"OdbcQuotesAreLiteral", "Driver={x};UID='app'", "'app'"},
    {"OdbcFirstDuplicateWins", "Driver={x};UID=first;UID=second", "first"},
    {"OdbcBraceLaterInValueIsLiteral", "Driver={x};UID=a{b}", "a{b}"},
    // JDBC: {} around a value, '}}' inside; repeated properties: the last one set wins.
    {"JdbcBracesHoldSemicolon", "jdbc:sqlserver://h;user={a;b}", "a;b"},
    {"JdbcDoubledClosingBrace", "jdbc:sqlserver://h;user={a}}b}", "a}b"},
    {"JdbcLastDuplicateWins", "jdbc:sqlserver://h;user=first;userName=second", "second"},
    {"JdbcKeysCaseInsensitive", "JDBC:SQLSERVER://h;USER=app", "app"},
};

class ConnectionStringQuoting : public testing::TestWithParam<QuotingCase> {};

TEST_P(ConnectionStringQuoting, Value) {
  const QuotingCase& c = GetParam();
  auto r = parse_connection_string(c.text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user, c.user);
}

INSTANTIATE_TEST_SUITE_P(Documented, ConnectionStringQuoting, testing::ValuesIn(kQuotingRules),
                         CaseName());

// Every error: its 0-based offset, the 1-based position in the message, and the key named.
// Each string holds the secret "Hunter2" somewhere an error might be tempted to quote.
struct ErrorCase {
  const char* name;
  const char* text;
  std::size_t offset;
  const char* says;  // a phrase the message must hold (the key, or what is wrong)
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

const ErrorCase kErrors[] = {
    {"AdoNetUnterminatedSingleQuote", "Server=h;Password='Hunter2;x", 18, "'Password'"},
    {"AdoNetUnterminatedDoubleQuote", "Password=Hunter2;User ID=\"app", 25, "'User ID'"},
    {"AdoNetTextAfterClosingQuote", "Password='Hunter2'x;Server=h", 18, "'Password'"},
    {"AdoNetUnquotedSemicolonInPassword", "Server=h;Password=Hun;ter2", 22,
     "after the value of 'Password'"},
    {"AdoNetSegmentWithoutEquals", "Password=Hunter2;Server", 17, "no '='"},
    {"AdoNetEmptyKey", "Password=Hunter2;=x", 17, "no key"},
    {"AdoNetBadPort", "Password=Hunter2;Server=tcp:h,14x3", 24, "port"},
    {"AdoNetPortZero", "Password=Hunter2;Server=h,0", 24, "'Server'"},
    {"AdoNetPortTooBig", "Password=Hunter2;Server=h,65536", 24, "1-65535"},
    {"AdoNetEmptyPort", "Server=h,;Password=Hunter2", 7, "'Server'"},
    {"AdoNetEmptyServer", "Password=Hunter2;Data Source=  ;", 31, "empty server"},
    {"AdoNetEmptyHostBeforePort", "Password=Hunter2;Server=tcp:,1433", 24, "empty server"},
    {"AdoNetNamedPipes", "Password=Hunter2;Server=np:\\\\h\\pipe\\sql\\query", 24, "np:"},
    {"AdoNetUnterminatedIpv6", "Password=Hunter2;Server=[fe80::1,1433", 24, "IPv6"},
    {"AdoNetBadEncrypt", "Password=Hunter2;Encrypt=maybe", 25, "value of 'Encrypt'"},
    // A missing ';' puts the password inside another key's value: values are never quoted back.
    {"AdoNetPasswordSwallowedByEncrypt", "Encrypt=true Password=Hunter2", 8, "'Encrypt'"},
    {"AdoNetBadTrust", "Password=Hunter2;TrustServerCertificate=sure", 40,
     "'TrustServerCertificate'"},
    {"AdoNetBadIntent", "Password=Hunter2;ApplicationIntent=ReadMostly", 35, "'ApplicationIntent'"},
    {"AdoNetBadTimeout", "Password=Hunter2;Connect Timeout=-1", 33, "'Connect Timeout'"},
    {"OdbcUnterminatedBrace", "Driver={x};PWD={Hunter2;Server=h", 15, "'PWD'"},
    {"OdbcTextAfterClosingBrace", "Driver={x};PWD={Hunter2}x;Server=h", 24, "'PWD'"},
    {"OdbcSegmentWithoutEquals", "Driver={x};PWD=Hun;ter2", 19, "in braces"},
    {"OdbcBadEncrypt", "Driver={x};PWD={Hunter2};Encrypt=perhaps", 33, "'Encrypt'"},
    {"JdbcBadPortInUrl", "jdbc:sqlserver://h:14x3;password=Hunter2", 17, "URL's server part"},
    {"JdbcEmptyHostBeforePort", "jdbc:sqlserver://:1433;password=Hunter2", 17, "empty server"},
    {"JdbcBraceInsideValue", "jdbc:sqlserver://h;password=Hun{ter2}", 31, "'password'"},
    {"JdbcUnterminatedBrace", "jdbc:sqlserver://h;password={Hunter2", 28, "'password'"},
    {"JdbcBadPortNumber", "jdbc:sqlserver://h;password=Hunter2;portNumber=http", 47,
     "'portNumber'"},
    {"JdbcBadLoginTimeout", "jdbc:sqlserver://h;password=Hunter2;loginTimeout=ten", 49,
     "'loginTimeout'"},
    {"JdbcSegmentWithoutEquals", "jdbc:sqlserver://h;password=Hun;ter2", 32, "no '='"},
    // Positions count characters, not bytes: "é" is two bytes.
    {"PositionCountsCharacters", "Database=é;Encrypt=x", 20, "position 20"},
};

class ConnectionStringErrors : public testing::TestWithParam<ErrorCase> {};

std::size_t char_position(const std::string& s, std::size_t offset) {
  std::size_t n = 1;
  for (std::size_t i = 0; i < offset; ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  return n;
}

TEST_P(ConnectionStringErrors, PositionKindKeyAndNoSecret) {
  const ErrorCase& c = GetParam();
  auto r = parse_connection_string(c.text);
  ASSERT_FALSE(r.ok()) << c.text;
  const auto& e = r.error();
  EXPECT_EQ(e.kind, ErrorKind::Usage);
  EXPECT_EQ(e.offset, c.offset) << e.message;
  const std::string position = "position " + std::to_string(char_position(c.text, c.offset));
  EXPECT_NE(e.message.find(position), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(c.says), std::string::npos) << e.message;
  for (const char* piece : {"Hunter2", "Hun", "ter2"})
    EXPECT_EQ(e.message.find(piece), std::string::npos) << e.message;
}

INSTANTIATE_TEST_SUITE_P(Documented, ConnectionStringErrors, testing::ValuesIn(kErrors),
                         CaseName());

// Encrypt, per value and dialect.
struct EncryptCase {
  const char* text;
  EncryptMode mode;
};

const EncryptCase kEncryptValues[] = {
    {"Server=h;Encrypt=True", EncryptMode::Mandatory},
    {"Server=h;Encrypt=yes", EncryptMode::Mandatory},
    {"Server=h;Encrypt=Mandatory", EncryptMode::Mandatory},
    {"Server=h;Encrypt=False", EncryptMode::Optional},
    {"Server=h;Encrypt=no", EncryptMode::Optional},
    {"Server=h;Encrypt=OPTIONAL", EncryptMode::Optional},
    {"Server=h;Encrypt=Strict", EncryptMode::Strict},
    {"Server=h;Encrypt=' strict '", EncryptMode::Strict},
    {"Driver={x};Server=h;Encrypt=yes", EncryptMode::Mandatory},
    {"Driver={x};Server=h;Encrypt=no", EncryptMode::Optional},
    {"Driver={x};Server=h;Encrypt=strict", EncryptMode::Strict},
    {"jdbc:sqlserver://h;encrypt=true", EncryptMode::Mandatory},
    {"jdbc:sqlserver://h;encrypt=false", EncryptMode::Optional},
    {"jdbc:sqlserver://h;encrypt=strict", EncryptMode::Strict},
};

TEST(ConnectionString, EncryptMapping) {
  for (const EncryptCase& c : kEncryptValues) {
    auto r = parse_connection_string(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().message;
    EXPECT_EQ(r->encrypt, c.mode) << c.text;
  }
}

// Microsoft.Data.SqlClient 4+, ODBC Driver 18 and JDBC 10+ all encrypt unless told otherwise.
const char* const kMinimalStrings[] = {
    "Server=h", "Driver={ODBC Driver 18 for SQL Server};Server=h", "jdbc:sqlserver://h"};

TEST(ConnectionString, DefaultsAreTheCurrentDrivers) {
  for (const char* text : kMinimalStrings) {
    auto r = parse_connection_string(text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(r->encrypt, EncryptMode::Mandatory) << text;
    EXPECT_FALSE(r->trust_server_certificate) << text;
    EXPECT_EQ(r->application_intent, ApplicationIntent::ReadWrite) << text;
    EXPECT_EQ(r->host_name_in_certificate, "") << text;
    EXPECT_EQ(r->authentication, "") << text;
    EXPECT_FALSE(r->port) << text;
    EXPECT_FALSE(r->instance_name) << text;
    EXPECT_FALSE(r->connect_timeout_s) << text;
    EXPECT_TRUE(r->ignored_keys.empty() || r->dialect == ConnectionStringDialect::Odbc) << text;
  }
}

TEST(ConnectionString, AdoNetTlsAndLoginSettings) {
  auto r = parse_connection_string(
      "Server=tcp:mymi.abc123.database.windows.net,1433;Trust Server Certificate=yes;"
      "Host Name In Certificate=*.abc123.database.windows.net;Application Intent=ReadOnly;"
      "Authentication=Active Directory Password;Connection Timeout=30");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->trust_server_certificate);
  EXPECT_EQ(r->host_name_in_certificate, "*.abc123.database.windows.net");
  EXPECT_EQ(r->application_intent, ApplicationIntent::ReadOnly);
  EXPECT_EQ(r->authentication, "ActiveDirectoryPassword");
  EXPECT_EQ(r->connect_timeout_s, 30u);
}

TEST(ConnectionString, TimeoutSynonyms) {
  const std::pair<const char*, std::uint32_t> cases[] = {
      {"Server=h;Connect Timeout=5", 5},
      {"Server=h;Connection Timeout=6", 6},
      {"Server=h;Timeout=7", 7},
      {"Driver={x};Server=h;ConnectTimeout=8", 8},
      {"jdbc:sqlserver://h;loginTimeout=9", 9},
  };
  for (const auto& [text, seconds] : cases) {
    auto r = parse_connection_string(text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(r->connect_timeout_s, seconds) << text;
  }
}

TEST(ConnectionString, OdbcAndJdbcTlsSettings) {
  auto odbc = parse_connection_string(
      "Driver={ODBC Driver 18 for SQL Server};Server=h;TrustServerCertificate=yes;"
      "HostNameInCertificate=*.zone.database.windows.net;ApplicationIntent=readonly;"
      "Authentication=ActiveDirectoryMsi");
  ASSERT_TRUE(odbc.ok()) << odbc.error().message;
  EXPECT_TRUE(odbc->trust_server_certificate);
  EXPECT_EQ(odbc->host_name_in_certificate, "*.zone.database.windows.net");
  EXPECT_EQ(odbc->application_intent, ApplicationIntent::ReadOnly);
  EXPECT_EQ(odbc->authentication, "ActiveDirectoryManagedIdentity");

  auto jdbc = parse_connection_string(
      "jdbc:sqlserver://h:1433;trustServerCertificate=true;"
      "hostNameInCertificate=*.zone.database.windows.net;applicationIntent=ReadOnly;"
      "authentication=SqlPassword;serverName=other");
  ASSERT_TRUE(jdbc.ok()) << jdbc.error().message;
  EXPECT_TRUE(jdbc->trust_server_certificate);
  EXPECT_EQ(jdbc->host_name_in_certificate, "*.zone.database.windows.net");
  EXPECT_EQ(jdbc->application_intent, ApplicationIntent::ReadOnly);
  EXPECT_EQ(jdbc->authentication, "SqlPassword");
  EXPECT_EQ(jdbc->host, "other");  // a later serverName property replaces the URL's host
  EXPECT_EQ(jdbc->port, 1433);     // ...and leaves its port
}

TEST(ConnectionString, UnknownAuthenticationKeptAsWritten) {
  auto r = parse_connection_string("Server=h;Authentication= Some Future Method ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->authentication, "Some Future Method");
}

TEST(ConnectionString, IgnoredKeysNamedOnceWithoutValues) {
  auto r = parse_connection_string(
      "Server=h;Pooling=false;pooling=true;Column Encryption Setting=Enabled;"
      "Client Secret=Hunter2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ignored_keys,
            (std::vector<std::string>{"Pooling", "Column Encryption Setting", "Client Secret"}));
}

// A quoted password in ADO.NET may hold what looks like ODBC: it stays ADO.NET.
TEST(ConnectionString, DialectDetection) {
  const std::pair<const char*, ConnectionStringDialect> cases[] = {
      {"Server=h;Password='{Driver=x}'", kAdo},
      {"Server=h;Password=\"a;Driver=b\"", kAdo},
      {"Server=h", kAdo},
      {"driver={x};server=h", kOdbc},
      {"Server=h;PWD={x}", kOdbc},
      {"Server=h;PWD='x;Driver={y}", kOdbc},  // ' is not a quote to ODBC
      {"  jdbc:sqlserver://h", kJdbc},
  };
  for (const auto& [text, dialect] : cases) {
    auto r = parse_connection_string(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(r->dialect, dialect) << text;
  }
}

TEST(ConnectionString, EmptyStringNamesNoServer) {
  auto r = parse_connection_string("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host, "");
}

// Every secret a string holds, decoded as its driver reads it, not only the password: a bundle
// removes each from every member.
TEST(ConnectionString, SecretValuesAreEverySecretKeysValueDecoded) {
  using midiag::agent::secret_values;
  auto v = secret_values(
      "Server=tcp:mi1.z.database.windows.net;User ID=app;Password='p;1';AccessToken=tok-9;"
      "Client Secret=\"s\"\"3\";Application Name=pass-through-app");
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v, (std::vector<std::string>{"p;1", "s\"3", "tok-9"}));
  // ODBC braces, a closing brace doubled inside.
  auto odbc = secret_values("Driver={ODBC Driver 18};Server=x;PWD={a}}b};UID=u");
  EXPECT_NE(std::find(odbc.begin(), odbc.end(), "a}b"), odbc.end());
  auto jdbc = secret_values("jdbc:sqlserver://h:1433;user=u;password={x;y};keyStoreSecret=k");
  std::sort(jdbc.begin(), jdbc.end());
  EXPECT_EQ(jdbc, (std::vector<std::string>{"k", "x;y"}));
  EXPECT_TRUE(secret_values("Server=x;Database=pwdb;Encrypt=true").empty());
}

TEST(ConnectionString, MovedFromSettingsHoldNoPassword) {
  auto r = parse_connection_string("Server=h;Password=Hunter2");
  ASSERT_TRUE(r.ok());
  ConnectionSettings a = std::move(r).value();
  EXPECT_EQ(a.password, "Hunter2");
  ConnectionSettings b = std::move(a);
  EXPECT_EQ(b.password, "Hunter2");
  EXPECT_TRUE(a.password.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  ConnectionSettings c;
  c = std::move(b);
  EXPECT_EQ(c.password, "Hunter2");
  EXPECT_TRUE(b.password.empty());  // NOLINT(bugprone-use-after-move)
}

struct RedactCase {
  const char* name;
  const char* text;
  const char* expected;
};

void PrintTo(const RedactCase& c, std::ostream* os) {
  *os << c.name;
}

const RedactCase kRedactions[] = {
    {"AdoNetPassword", "Server=h;Password=Hunter2;User ID=app",
     "Server=h;Password=***;User ID=app"},
    {"AdoNetPwdLastWithoutSemicolon", "Server=h;PWD=Hunter2", "Server=h;PWD=***"},
    {"AdoNetSingleQuoted", "Password='Hun;ter2';Server=h", "Password=***;Server=h"},
    {"AdoNetDoubleQuotedWithDoubledQuote", "Password=\"Hun\"\"ter2\"", "Password=***"},
    {"AdoNetSpacesKept", "Server=h; Password = Hunter2 ;x=y", "Server=h; Password = ***;x=y"},
    {"AdoNetUnterminatedQuoteToEnd", "Server=h;Password='Hunter2;User=x", "Server=h;Password=***"},
    {"AdoNetUnterminatedQuoteInOtherKey", "Database='x;Password=Hunter2", "Database=***"},
    {"AdoNetUnquotedSemicolonMasksTheRest", "Password=Hun;ter2;Server=h",
     "Password=***;***;Server=h"},
    {"OdbcBraced", "Driver={ODBC Driver 18 for SQL Server};PWD={Hun;t}}er2};Server=h",
     "Driver={ODBC Driver 18 for SQL Server};PWD=***;Server=h"},
    // Read as ODBC the password ends at ';' and "ter2'" is stray text; either way all is masked.
    {"OdbcQuoteIsNotAQuote", "Driver={x};PWD='Hun;ter2';Server=h", "Driver={x};PWD=***;Server=h"},
    {"JdbcPassword", "jdbc:sqlserver://h:1433;user=app;password={Hun;ter2}",
     "jdbc:sqlserver://h:1433;user=app;password=***"},
    {"JdbcOtherSecrets", "jdbc:sqlserver://h;keyStoreSecret=Hunter2;accessToken=Hunter2",
     "jdbc:sqlserver://h;keyStoreSecret=***;accessToken=***"},
    {"EmptyPassword", "Server=h;Password=;x=y", "Server=h;Password=***;x=y"},
    {"NothingSecret", "Server=h;Database=d", "Server=h;Database=d"},
};

class ConnectionStringRedaction : public testing::TestWithParam<RedactCase> {};

TEST_P(ConnectionStringRedaction, MasksSecrets) {
  const RedactCase& c = GetParam();
  const std::string out = redacted(c.text);
  EXPECT_EQ(out, c.expected);
  for (const char* piece : {"Hunter2", "Hun", "ter2"})
    EXPECT_EQ(out.find(piece), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Documented, ConnectionStringRedaction, testing::ValuesIn(kRedactions),
                         CaseName());

}  // namespace
