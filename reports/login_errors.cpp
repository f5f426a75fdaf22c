// The login error table. Every row rests on a Microsoft page named in its reference; the facts are
// Microsoft's, the words are ours. Numbers or states with no Microsoft source are left out.
#include "reports/login_errors.h"

namespace midiag::reports {

namespace {

using C = LoginErrorClass;

constexpr std::string_view kDoc18456States =
    "MSSQLSERVER_18456, Additional error information (states) — "
    "https://learn.microsoft.com/sql/relational-databases/errors-events/"
    "mssqlserver-18456-database-engine-error";
constexpr std::string_view kDoc18456 =
    "MSSQLSERVER_18456, User action — "
    "https://learn.microsoft.com/sql/relational-databases/errors-events/"
    "mssqlserver-18456-database-engine-error";
constexpr std::string_view kDoc4064 =
    "MSSQLSERVER_4064 — "
    "https://learn.microsoft.com/sql/relational-databases/errors-events/"
    "mssqlserver-4064-database-engine-error";
constexpr std::string_view kDoc4064With18456 =
    "MSSQLSERVER_4064, Error 18456 is displayed along with error 4064 — "
    "https://learn.microsoft.com/sql/relational-databases/errors-events/"
    "mssqlserver-4064-database-engine-error";
constexpr std::string_view kDoc18452 =
    "MSSQLSERVER_18452 — "
    "https://learn.microsoft.com/sql/relational-databases/errors-events/"
    "mssqlserver-18452-database-engine-error";
constexpr std::string_view kDocEvents18000 =
    "Database Engine events and errors (18000 to 18999) — "
    "https://learn.microsoft.com/sql/relational-databases/errors-events/"
    "database-engine-events-and-errors-18000-to-18999";
constexpr std::string_view kDocPasswordCodes =
    "Changing passwords programmatically, SQL Server login error codes — "
    "https://learn.microsoft.com/sql/connect/oledb/features/changing-passwords-programmatically";
constexpr std::string_view kDocTransient =
    "Troubleshoot connectivity issues and other errors with Azure SQL Database and Azure SQL "
    "Managed Instance, Transient fault error messages — "
    "https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues";
constexpr std::string_view kDocLogin =
    "Troubleshoot connectivity issues and other errors with Azure SQL Database and Azure SQL "
    "Managed Instance, Unable to log in to the server — "
    "https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues";
constexpr std::string_view kDocResource =
    "Troubleshoot connectivity issues and other errors with Azure SQL Database and Azure SQL "
    "Managed Instance, Resource governance errors — "
    "https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues";
constexpr std::string_view kDocVnetRules =
    "Virtual network endpoints and rules for servers in Azure SQL Database, Errors 40914 and "
    "40615 — "
    "https://learn.microsoft.com/azure/azure-sql/database/vnet-service-endpoint-rule-overview";
// 40532 is listed only on this older page (General errors); Learn now redirects it to the
// troubleshooting page above, which no longer lists the number.
constexpr std::string_view kDocSqlDbErrorCodes =
    "SQL error codes for SQL Database client applications, General errors — "
    "https://learn.microsoft.com/azure/sql-database/sql-database-develop-error-messages";

struct Row {
  int number;
  int first_state;  // -1: the number's general row
  int last_state;   // a range of states shares one explanation
  std::string_view meaning;
  std::string_view remediation;
  std::string_view reference;
  C cls;
};

constexpr int kAny = -1;

// Microsoft's 18456 state list is the "Additional error information" table of MSSQLSERVER_18456.
constexpr std::string_view kEntraMeaning =
    "Login failed: Microsoft Entra ID (Azure AD) authentication failed. The instance was reached "
    "and rejected the token or the Entra principal.";
constexpr std::string_view kEntraRemedy =
    "Check that the Entra principal has a login or a contained database user on the instance, "
    "that the token was obtained for this tenant and for Azure SQL, and that the instance has a "
    "Microsoft Entra admin configured. The instance's error log has the detailed reason.";

const Row kRows[] = {
    // 18456: the only answer that proves the path with dummy credentials (spec §5).
    {18456, kAny, kAny,
     "Login failed for the user: the instance was reached, ran the login and refused it. With the "
     "dummy credentials mi-diag sends this is the expected answer and proves the whole network "
     "path, gateway and redirect included.",
     "For a real login: check the user name and password, that the login exists and is enabled "
     "(SELECT name, is_disabled FROM sys.sql_logins), and that the connection string names the "
     "intended server. The state in the instance's error log says which check failed.",
     kDoc18456, C::CredentialsRejected},
    {18456, 1, 1,
     "Login failed; the reason is hidden. Servers send state 1 to clients on purpose and write the "
     "real state to their error log.",
     "With dummy credentials nothing to do: the path works. For a real login, ask an administrator "
     "for the error log entry at this time; its state (2, 5, 8, 38 ...) names the cause.",
     kDoc18456States, C::CredentialsRejected},
    {18456, 2, 2, "Login failed: no login with this user name exists on the instance.",
     "Check the spelling of the login, create it if it is missing, and make sure the connection "
     "string points at the intended instance (not a test or production twin).",
     kDoc18456States, C::CredentialsRejected},
    {18456, 5, 5, "Login failed: no login with this user name exists on the instance.",
     "Check the spelling of the login, create it if it is missing, and make sure the connection "
     "string points at the intended instance (not a test or production twin).",
     kDoc18456States, C::CredentialsRejected},
    {18456, 6, 6,
     "Login failed: a Windows-style login name (DOMAIN\\user) was sent with SQL authentication.",
     "Use the authentication method that matches the login: integrated or Entra authentication "
     "for a Windows or Entra principal, or a SQL login name with SQL authentication.",
     kDoc18456States, C::CredentialsRejected},
    {18456, 7, 7, "Login failed: the login is disabled and the password was wrong as well.",
     "Enable the login (ALTER LOGIN ... ENABLE) and use its correct password.", kDoc18456States,
     C::CredentialsRejected},
    {18456, 8, 8, "Login failed: the password does not match the login's.",
     "Use the correct password (passwords are case-sensitive) or have an administrator reset it "
     "with ALTER LOGIN ... WITH PASSWORD.",
     kDoc18456States, C::CredentialsRejected},
    {18456, 9, 9, "Login failed: the password is not valid.",
     "Have an administrator set a new, valid password for the login.", kDoc18456States,
     C::CredentialsRejected},
    {18456, 11, 11,
     "Login failed: the credentials are valid but server access was refused (for example a "
     "Windows user admitted only through an administrators group, or a failed token-based "
     "server access check).",
     "Give the principal its own login with CONNECT SQL, check that no group it belongs to is "
     "denied, and for an elevated Windows user run the client as administrator.",
     kDoc18456States, C::CredentialsRejected},
    {18456, 12, 12, "Login failed: the credentials are valid but server access was refused.",
     "Check that the login has CONNECT SQL and is not denied it, directly or through a group.",
     kDoc18456States, C::CredentialsRejected},
    {18456, 18, 18, "Login failed: the password must be changed before the login can be used.",
     "Change the password, with a client that supports changing it at login or by an "
     "administrator with ALTER LOGIN ... WITH PASSWORD.",
     kDoc18456States, C::CredentialsRejected},
    {18456, 38, 38,
     "Login failed: the database the login asked for (Initial Catalog / Database) was not found "
     "or could not be opened.",
     "Correct the database name in the connection string (mind case-sensitive collations), check "
     "that the database is online, and that the login has a user in it.",
     kDoc18456States, C::DatabaseUnavailable},
    {18456, 40, 40,
     "Login failed: the login's default database could not be opened (the server-side half of "
     "error 4064).",
     "Name an available database in the connection string, or have an administrator change the "
     "login's default database (ALTER LOGIN ... WITH DEFAULT_DATABASE = ...).",
     kDoc4064With18456, C::DatabaseUnavailable},
    {18456, 46, 46,
     "Login failed: the database the login asked for (Initial Catalog / Database) was not found "
     "or could not be opened.",
     "Correct the database name in the connection string (mind case-sensitive collations), check "
     "that the database is online, and that the login has a user in it.",
     kDoc18456States, C::DatabaseUnavailable},
    {18456, 58, 58,
     "Login failed: SQL authentication was attempted where the server accepts only integrated "
     "authentication, or the login's SID does not match.",
     "Use integrated (Windows or Entra) authentication, or have an administrator allow SQL "
     "authentication; if the SIDs differ, re-create or re-map the login.",
     kDoc18456States, C::CredentialsRejected},
    {18456, 102, 111, kEntraMeaning, kEntraRemedy, kDoc18456States, C::CredentialsRejected},
    {18456, 122, 124, "Login failed: the user name or the password was empty.",
     "Supply both; check that the client or connection string really sends them (some tools drop "
     "a saved password).",
     kDoc18456States, C::CredentialsRejected},
    {18456, 126, 126, "Login failed: the database the login asked for does not exist.",
     "Correct the database name in the connection string, or create the database.", kDoc18456States,
     C::DatabaseUnavailable},
    {18456, 132, 133, kEntraMeaning, kEntraRemedy, kDoc18456States, C::CredentialsRejected},

    {18452, kAny, kAny,
     "Login failed: the credentials cannot be validated for this authentication method (a SQL "
     "login where only Windows authentication is accepted, a login that does not exist, or a "
     "Windows principal from an untrusted domain). The instance was reached.",
     "Use SQL authentication only where mixed mode is enabled and the login exists; for Windows "
     "logins sign in to the right, trusted domain.",
     kDoc18452, C::CredentialsRejected},
    {18470, kAny, kAny, "Login failed: the login exists but is disabled. The instance was reached.",
     "An administrator can check sys.sql_logins (is_disabled) and enable it with ALTER LOGIN ... "
     "ENABLE, or you use another login.",
     kDocEvents18000, C::CredentialsRejected},
    {18486, kAny, kAny,
     "Login failed: the login is locked out by the password policy, usually after repeated wrong "
     "passwords. The instance was reached.",
     "An administrator unlocks it (ALTER LOGIN ... WITH PASSWORD = ... UNLOCK). Find what keeps "
     "sending the wrong password first, or it locks again.",
     kDocEvents18000, C::CredentialsRejected},
    {18487, kAny, kAny, "Login failed: the login's password has expired. The instance was reached.",
     "Set a new password (a client that supports password change, or ALTER LOGIN ... WITH "
     "PASSWORD); review CHECK_EXPIRATION for service accounts.",
     kDocPasswordCodes, C::CredentialsRejected},
    {18488, kAny, kAny,
     "Login failed: the login must change its password before first use (MUST_CHANGE). The "
     "instance was reached.",
     "Set a new password with a client that supports changing it at login, or have an "
     "administrator reset it with ALTER LOGIN ... WITH PASSWORD.",
     kDocPasswordCodes, C::CredentialsRejected},

    {4060, kAny, kAny,
     "Cannot open the database requested by the login: it does not exist, is not online, or the "
     "login has no user in it. The instance was reached.",
     "Check the database name (and its case), that the database is online, and that the login is "
     "mapped to a user in it. Microsoft also lists 4060 as transient during reconfiguration: "
     "retry before changing anything if it is intermittent.",
     kDocTransient, C::DatabaseUnavailable},
    {4064, kAny, kAny,
     "Cannot open the login's default database: it is missing, offline, in single-user or "
     "restricted mode, or the login has no user there. The instance was reached.",
     "Name an available database in the connection string, or have an administrator change the "
     "login's default database (ALTER LOGIN ... WITH DEFAULT_DATABASE = ...).",
     kDoc4064, C::DatabaseUnavailable},

    {40613, kAny, kAny,
     "The database on the server is not currently available: a reconfiguration or failover is in "
     "progress, or (for the dedicated admin connection) another session already holds it.",
     "Retry with back-off (5 s, growing to 60 s). If it lasts beyond a minute or recurs daily, "
     "check Azure Service Health and open a support case with the session tracing ID from the "
     "message.",
     kDocTransient, C::ServiceUnavailable},
    {40197, kAny, kAny,
     "The service hit an error processing the request: an upgrade, hardware failure or failover. "
     "The code inside the message says which.",
     "Retry; reconnecting reaches a healthy copy. Record the embedded code for support if it "
     "persists.",
     kDocTransient, C::ServiceUnavailable},
    {4221, kAny, kAny,
     "Login to a readable secondary failed: the replica is waiting for row versions of "
     "transactions that were open when it restarted (ApplicationIntent=ReadOnly connections).",
     "Retry; long write transactions on the primary cause it, so commit or roll them back sooner.",
     kDocTransient, C::ServiceUnavailable},
    {40501, kAny, kAny, "The service is busy: a resource limit is being exceeded.",
     "Retry after 10 seconds; if it recurs, review the instance's resource limits and load.",
     kDocResource, C::Throttled},
    {10928, kAny, kAny,
     "A resource limit was reached: Resource ID 1 is the worker limit, 2 the session limit (a new "
     "login can be refused at the session limit).",
     "Reduce concurrent sessions or workers (blocking, parallelism, connection leaks) or scale "
     "up.",
     kDocResource, C::Throttled},

    {40615, kAny, kAny,
     "A gateway refused the client's IP address: no firewall IP rule admits it. These rules "
     "belong to Azure SQL Database logical servers; a managed instance is filtered by its "
     "subnet's network security group instead, so check that the name reaches the instance.",
     "Add an IP firewall rule for the address named in the message, or connect through the "
     "intended endpoint.",
     kDocVnetRules, C::AccessRuleRejected},
    {40914, kAny, kAny,
     "A gateway refused the client: its subnet uses service endpoints but the server has no "
     "virtual network rule for that subnet. An Azure SQL Database logical server answered, not "
     "a managed instance.",
     "Add a virtual network rule for the client's subnet, or check that the name reaches the "
     "intended managed instance.",
     kDocVnetRules, C::AccessRuleRejected},
    {40532, kAny, kAny,
     "Cannot open the server requested by the login: the gateway that answered does not host the "
     "server named in the login. Typical causes: connecting by IP address or through an alias or "
     "proxy, so the name the gateway sees is not the instance's, or a user name containing '@' "
     "whose remainder is read as a server name.",
     "Connect with the instance's full name (<instance>.<dns-zone>.database.windows.net, or the "
     ".public. name on 3342). If the server in the message is the domain of the user name, give "
     "the server name explicitly in the user name.",
     kDocSqlDbErrorCodes, C::WrongTarget},
};

std::vector<LoginErrorInfo> build_table() {
  std::vector<LoginErrorInfo> out;
  for (const Row& r : kRows) {
    if (r.first_state == kAny) {
      out.push_back({r.number, std::nullopt, r.meaning, r.remediation, r.reference, r.cls});
      continue;
    }
    for (int s = r.first_state; s <= r.last_state; ++s)
      out.push_back({r.number, s, r.meaning, r.remediation, r.reference, r.cls});
  }
  return out;
}

}  // namespace

std::string_view to_string(LoginErrorClass c) {
  switch (c) {
    case C::CredentialsRejected:
      return "credentials_rejected";
    case C::DatabaseUnavailable:
      return "database_unavailable";
    case C::ServiceUnavailable:
      return "service_unavailable";
    case C::Throttled:
      return "throttled";
    case C::AccessRuleRejected:
      return "access_rule_rejected";
    case C::WrongTarget:
      return "wrong_target";
  }
  return "unknown";
}

const std::vector<LoginErrorInfo>& login_error_table() {
  static const std::vector<LoginErrorInfo> table = build_table();
  return table;
}

const LoginErrorInfo* find_login_error(int number, int state) {
  const auto& t = login_error_table();
  const LoginErrorInfo* general = nullptr;
  for (const auto& row : t) {
    if (row.number != number) continue;
    if (row.state == state) return &row;
    if (!row.state) general = &row;
  }
  return general;
}

bool proves_path_with_dummy_credentials(int number) {
  return number == 18456;
}

}  // namespace midiag::reports
