#include "agent/watch/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <set>

#include <yaml-cpp/yaml.h>

#include "agent/check.h"
#include "probes/net/address.h"
#include "probes/tds/ca_file.h"
#include "reports/safe_text.h"

namespace midiag::agent::watch {

namespace {

constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;  // a config is a few KiB
constexpr std::size_t kMaxPasswordBytes = 4096;
constexpr std::size_t kMaxTargets = 1000;
constexpr std::string_view kDurationHint = "(use e.g. 500ms, 2s, 1m)";

constexpr std::array<std::string_view, 4> kTopKeys = {"interval", "timeout", "state_dir",
                                                      "targets"};
constexpr std::array<std::string_view, 15> kTargetKeys = {"name",
                                                          "host",
                                                          "port",
                                                          "mode",
                                                          "interval",
                                                          "timeout",
                                                          "ca_file",
                                                          "user",
                                                          "password_env",
                                                          "password_file",
                                                          "fail_after",
                                                          "recover_after",
                                                          "trust_server_certificate",
                                                          "strict",
                                                          "resolvers"};

// Carries the first error out of the nested checks: every check returns false after setting it.
class Checker {
 public:
  Checker(std::string path, EnvLookup env) : path_(std::move(path)), env_(std::move(env)) {}

  bool fail(int line, const std::string& key, const std::string& what) {
    if (error_) return false;
    std::string m = path_;
    if (line > 0) m += ":" + std::to_string(line);
    m += ": ";
    if (!key.empty()) m += key + ": ";
    // Keys, values and yaml-cpp's messages quote the file's bytes: shown as safe terminal text.
    error_ = make_error(reports::safe_text(m + what), ErrorKind::Usage);
    return false;
  }
  bool fail(const YAML::Node& at, const std::string& key, const std::string& what) {
    return fail(line_of(at), key, what);
  }
  static int line_of(const YAML::Node& n) {
    auto m = n.Mark();
    return m.line < 0 ? 0 : m.line + 1;
  }
  [[nodiscard]] const std::optional<Error>& error() const { return error_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  std::optional<std::string> getenv(const std::string& name) const {
    if (env_) return env_(name);
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  }
  // Relative file names in the config are relative to the config's own directory.
  [[nodiscard]] std::string resolve(const std::string& file) const {
    if (file.starts_with('/')) return file;
    auto slash = path_.rfind('/');
    return slash == std::string::npos ? file : path_.substr(0, slash + 1) + file;
  }

 private:
  std::string path_;
  EnvLookup env_;
  std::optional<Error> error_;
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

template <std::size_t N>
std::string unknown_key_message(std::string_view key,
                                const std::array<std::string_view, N>& known) {
  std::string lower(key);
  std::replace(lower.begin(), lower.end(), '-', '_');
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view best;
  std::size_t best_d = 0;
  for (auto k : known) {
    auto d = edit_distance(lower, k);
    if (best.empty() || d < best_d) best = k, best_d = d;
  }
  std::string m = "unknown key '" + std::string(key) + "'";
  if (best_d <= std::max<std::size_t>(2, key.size() / 3))
    return m + " (did you mean '" + std::string(best) + "'?)";
  m += " (known: ";
  for (std::size_t i = 0; i < N; ++i) m += (i ? ", " : "") + std::string(known[i]);
  return m + ")";
}

const std::string kPasswordRefused =
    "a password does not go in the config (whoever can read the file, its backups or a ticket "
    "it is pasted into would have it): use password_env: VAR or password_file: FILE (mode 0600)";

// The mapping's keys, each once; unknown or repeated keys are errors.
bool check_keys(Checker& c, const YAML::Node& map, const std::string& prefix, const auto& known,
                const auto& elsewhere, std::string_view elsewhere_where) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node k = it->first;  // a copy: `it->` returns a temporary
    if (!k.IsScalar())
      return c.fail(k, prefix.empty() ? "(top level)" : prefix, "a key must be a plain word");
    const std::string key = k.Scalar();
    const std::string full = prefix.empty() ? key : prefix + "." + key;
    if (!seen.insert(key).second) return c.fail(k, full, "given twice");
    // A key without a value: its own line (yaml-cpp marks the empty value where the next begins).
    if (it->second.IsNull()) return c.fail(k, full, "has no value");
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    if (key == "password") return c.fail(k, full, kPasswordRefused);
    if (std::find(elsewhere.begin(), elsewhere.end(), key) != elsewhere.end())
      return c.fail(k, full, "'" + key + "' belongs " + std::string(elsewhere_where));
    return c.fail(k, full, unknown_key_message(key, known));
  }
  return true;
}

std::optional<std::string> scalar(Checker& c, const YAML::Node& v, const std::string& key) {
  if (v.IsNull() || (v.IsScalar() && v.Scalar().empty() && v.Tag() != "!")) {
    c.fail(v, key, "has no value");
    return std::nullopt;
  }
  if (!v.IsScalar()) {
    c.fail(v, key,
           "expected a single value, not a " + std::string(v.IsSequence() ? "list" : "mapping"));
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<Duration> duration(Checker& c, const YAML::Node& v, const std::string& key) {
  auto s = scalar(c, v, key);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d) {
    c.fail(v, key, d.error().message);
    return std::nullopt;
  }
  return *d;
}

std::optional<long> whole_number(Checker& c, const YAML::Node& v, const std::string& key, long lo,
                                 long hi) {
  auto s = scalar(c, v, key);
  if (!s) return std::nullopt;
  long n = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
  if (ec != std::errc{} || end != s->data() + s->size() || n < lo || n > hi) {
    c.fail(v, key,
           "bad value '" + *s + "' (a whole number " + std::to_string(lo) + "-" +
               std::to_string(hi) + ")");
    return std::nullopt;
  }
  return n;
}

std::optional<bool> boolean(Checker& c, const YAML::Node& v, const std::string& key) {
  auto s = scalar(c, v, key);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  c.fail(v, key, "bad value '" + *s + "' (true or false)");
  return std::nullopt;
}

// Reads the password file through one descriptor: the mode checked is the mode of what is read.
std::optional<std::string> read_password_file(Checker& c, const YAML::Node& v,
                                              const std::string& key, const std::string& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    c.fail(v, key, file + ": cannot be read: " + std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  std::string pw;
  bool ok = false;
  char mode[8];
  if (::fstat(fd, &st) != 0) {
    c.fail(v, key, file + ": cannot be read: " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    c.fail(v, key, file + ": not a regular file");
  } else if ((st.st_mode & 077) != 0) {
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    c.fail(v, key,
           file + ": mode " + mode + " lets group or others at the password: refused (chmod 600 " +
               file + ")");
  } else if (st.st_size > static_cast<off_t>(kMaxPasswordBytes)) {
    c.fail(v, key, file + ": " + std::to_string(st.st_size) + " bytes is not a password");
  } else {
    pw.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < pw.size()) {
      auto n = ::read(fd, pw.data() + got, pw.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    pw.resize(got);
    // One trailing newline is the editor's, not the password's.
    if (pw.ends_with('\n')) pw.pop_back();
    if (pw.ends_with('\r')) pw.pop_back();
    ok = !pw.empty();
    if (!ok) c.fail(v, key, file + ": is empty");
  }
  ::close(fd);
  if (!ok) {
    tdsprobe::wipe(pw);
    return std::nullopt;
  }
  return pw;
}

bool check_target(Checker& c, const YAML::Node& t, std::size_t index, const WatchConfig& top,
                  WatchTarget& out) {
  const std::string p = "targets[" + std::to_string(index) + "]";
  out.line = Checker::line_of(t);
  if (!t.IsMap())
    return c.fail(t, p, "a target is a mapping with at least host: (see the example)");
  if (!check_keys(c, t, p, kTargetKeys, kTopKeys, "at the top level, not in a target"))
    return false;
  out.interval = top.interval;
  out.timeout = top.timeout;
  const YAML::Node host = t["host"];
  if (!host) return c.fail(t, p, "no host: (the name or address to check)");
  auto host_text = scalar(c, host, p + ".host");
  if (!host_text) return false;
  auto endpoint = reports::parse_target(*host_text);
  if (!endpoint) return c.fail(host, p + ".host", endpoint.error().message);
  if (endpoint->port_given)
    return c.fail(
        host, p + ".host",
        "'" + *host_text + "' carries a port: write it as port: " + std::to_string(endpoint->port));
  out.endpoint = *endpoint;
  if (auto v = t["port"]) {
    auto port = whole_number(c, v, p + ".port", 1, 65535);
    if (!port) return false;
    out.endpoint.port = static_cast<std::uint16_t>(*port);
    out.endpoint.port_given = true;
    reports::classify_target(out.endpoint);
  }
  out.name = out.endpoint.host;
  if (auto v = t["name"]) {
    auto name = scalar(c, v, p + ".name");
    if (!name) return false;
    // The name is a label value and the runtime's file name for this target's state.
    const bool ok = name->size() <= 64 && std::all_of(name->begin(), name->end(), [](char ch) {
                      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' ||
                             ch == '_' || ch == '-' || ch == ':';
                    });
    if (!ok || *name == "." || *name == "..")
      return c.fail(v, p + ".name",
                    "bad name '" + *name + "' (up to 64 letters, digits, '.', '_', '-', ':')");
    out.name = *name;
  }
  if (auto v = t["mode"]) {
    auto m = scalar(c, v, p + ".mode");
    if (!m) return false;
    if (*m == "client")
      out.mode = reports::Mode::Client;
    else if (*m == "link")
      out.mode = reports::Mode::Link;
    else if (*m == "failover-group")
      out.mode = reports::Mode::FailoverGroup;
    else
      return c.fail(v, p + ".mode", "bad mode '" + *m + "' (client|link|failover-group)");
  }
  if (auto v = t["interval"]) {
    auto d = duration(c, v, p + ".interval");
    if (!d) return false;
    out.interval = *d;
  }
  if (auto v = t["timeout"]) {
    auto d = duration(c, v, p + ".timeout");
    if (!d) return false;
    out.timeout = *d;
  }
  if (out.timeout >= out.interval) {
    const YAML::Node at = t["timeout"] ? t["timeout"] : t["interval"] ? t["interval"] : t;
    return c.fail(at, p + (t["timeout"] ? ".timeout" : ".interval"),
                  "timeout " + format_duration(out.timeout) + " is not shorter than interval " +
                      format_duration(out.interval) + " (a round would outlast its interval)");
  }
  for (const char* key : {"fail_after", "recover_after"}) {
    if (auto v = t[key]) {
      auto n = whole_number(c, v, p + "." + key, 1, 1000);
      if (!n) return false;
      (std::string_view(key) == "fail_after" ? out.fail_after : out.recover_after) =
          static_cast<int>(*n);
    }
  }
  if (auto v = t["trust_server_certificate"]) {
    auto b = boolean(c, v, p + ".trust_server_certificate");
    if (!b) return false;
    out.trust_server_certificate = *b;
  }
  if (auto v = t["strict"]) {
    auto b = boolean(c, v, p + ".strict");
    if (!b) return false;
    out.strict = *b;
  }
  if (auto v = t["resolvers"]) {
    if (!v.IsSequence())
      return c.fail(v, p + ".resolvers", "expected a list of IP[:port], e.g. [168.63.129.16]");
    std::size_t i = 0;
    for (const auto& r : v) {
      const std::string key = p + ".resolvers[" + std::to_string(i++) + "]";
      auto s = scalar(c, r, key);
      if (!s) return false;
      auto parsed = parse_resolver(*s);
      if (!parsed) return c.fail(r, key, parsed.error().message);
      out.resolvers.push_back(*parsed);
    }
  }
  if (auto v = t["ca_file"]) {
    auto s = scalar(c, v, p + ".ca_file");
    if (!s) return false;
    out.ca_file = c.resolve(*s);
    if (auto ca = tdsprobe::load_ca_file(out.ca_file); !ca) {
      std::string m = ca.error().message;
      if (m.starts_with("--ca-file ")) m.erase(0, 10);
      return c.fail(v, p + ".ca_file", m);
    }
  }
  const YAML::Node user = t["user"], env = t["password_env"], file = t["password_file"];
  if (env && file)
    return c.fail(file, p + ".password_file", "give password_env or password_file, not both");
  if (user && !env && !file)
    return c.fail(user, p + ".user",
                  "a user needs password_env: VAR or password_file: FILE (the password's source)");
  if (!user && (env || file))
    return c.fail(env ? env : file, p + (env ? ".password_env" : ".password_file"),
                  "a password needs user: (the SQL login it belongs to)");
  if (user) {
    auto u = scalar(c, user, p + ".user");
    if (!u) return false;
    std::optional<std::string> pw;
    if (env) {
      auto var = scalar(c, env, p + ".password_env");
      if (!var) return false;
      pw = c.getenv(*var);
      if (!pw)
        return c.fail(env, p + ".password_env", "environment variable " + *var + " is not set");
      if (pw->empty())
        return c.fail(env, p + ".password_env", "environment variable " + *var + " is empty");
      out.password_source = "env " + *var;
    } else {
      auto f = scalar(c, file, p + ".password_file");
      if (!f) return false;
      const std::string resolved = c.resolve(*f);
      pw = read_password_file(c, file, p + ".password_file", resolved);
      if (!pw) return false;
      out.password_source = "file " + resolved;
    }
    out.credentials = tdsprobe::Credentials{*u, std::move(*pw)};
    tdsprobe::wipe(*pw);
  }
  return true;
}

}  // namespace

Expected<Duration> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view hint = kDurationHint) {
    return make_error("bad duration '" + std::string(text) + "' " + std::string(hint),
                      ErrorKind::Usage);
  };
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad();
  if (digits > 9) return bad("(at most 24h)");
  std::uint64_t n = 0;
  std::from_chars(text.data(), text.data() + digits, n);
  const auto unit = text.substr(digits);
  std::uint64_t ms_per = 0;
  if (unit == "ms")
    ms_per = 1;
  else if (unit == "s")
    ms_per = 1000;
  else if (unit == "m")
    ms_per = 60'000;
  else if (unit == "h")
    ms_per = 3'600'000;
  else
    return bad();
  if (n == 0) return bad();
  const std::uint64_t ms = n * ms_per;  // at most 999,999,999 h: fits in 64 bits
  if (ms > static_cast<std::uint64_t>(kMaxDuration.count())) return bad("(at most 24h)");
  return Duration(static_cast<Duration::rep>(ms));
}

std::string format_duration(Duration d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string describe_target(const WatchTarget& t) {
  std::string host = t.endpoint.host.find(':') != std::string::npos ? "[" + t.endpoint.host + "]"
                                                                    : t.endpoint.host;
  std::string s = t.name + "  " + host + ":" + std::to_string(t.endpoint.port) + "  " +
                  std::string(reports::to_string(t.mode)) + "  every " +
                  format_duration(t.interval) + ", timeout " + format_duration(t.timeout) +
                  ", down after " + std::to_string(t.fail_after) + ", up after " +
                  std::to_string(t.recover_after);
  if (t.credentials)
    s += ", login " + t.credentials->user + " (password from " + t.password_source + ")";
  else
    s += ", dummy login";
  if (!t.ca_file.empty()) s += ", ca " + t.ca_file;
  if (t.trust_server_certificate) s += ", trust_server_certificate";
  if (t.strict) s += ", strict";
  for (const auto& r : t.resolvers) s += ", resolver " + r;
  return s;
}

Expected<WatchConfig> parse_watch_config(std::string_view yaml, const std::string& path,
                                         const EnvLookup& env) {
  Checker c(path, env);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    c.fail(e.mark.line < 0 ? 0 : e.mark.line + 1, "", "not YAML: " + e.msg);
    return *c.error();
  }
  if (docs.size() > 1) {
    c.fail(Checker::line_of(docs[1]), "", "more than one YAML document ('---'): write one");
    return *c.error();
  }
  if (docs.empty() || docs[0].IsNull()) {
    c.fail(0, "", "empty: expected interval, timeout, state_dir and targets");
    return *c.error();
  }
  const YAML::Node& root = docs[0];
  if (!root.IsMap()) {
    c.fail(root, "",
           "expected a mapping of interval, timeout, state_dir and targets at the top level");
    return *c.error();
  }
  WatchConfig cfg;
  cfg.path = path;
  try {
    if (!check_keys(c, root, "", kTopKeys, kTargetKeys, "under a target in targets:"))
      return *c.error();
    if (auto v = root["interval"]) {
      auto d = duration(c, v, "interval");
      if (!d) return *c.error();
      cfg.interval = *d;
    }
    if (auto v = root["timeout"]) {
      auto d = duration(c, v, "timeout");
      if (!d) return *c.error();
      cfg.timeout = *d;
    }
    if (cfg.timeout >= cfg.interval) {
      const YAML::Node at = root["timeout"] ? root["timeout"] : root["interval"];
      c.fail(at, root["timeout"] ? "timeout" : "interval",
             "timeout " + format_duration(cfg.timeout) + " is not shorter than interval " +
                 format_duration(cfg.interval) + " (a round would outlast its interval)");
      return *c.error();
    }
    if (auto v = root["state_dir"]) {
      auto s = scalar(c, v, "state_dir");
      if (!s) return *c.error();
      cfg.state_dir = c.resolve(*s);
    }
    const YAML::Node targets = root["targets"];
    if (!targets) {
      c.fail(root, "targets", "missing: nothing to watch (a list of targets with host:)");
      return *c.error();
    }
    if (!targets.IsSequence() || targets.size() == 0) {
      c.fail(targets, "targets",
             targets.IsSequence() ? "empty: nothing to watch" : "expected a list of targets");
      return *c.error();
    }
    if (targets.size() > kMaxTargets) {
      c.fail(targets, "targets", "more than " + std::to_string(kMaxTargets) + " targets");
      return *c.error();
    }
    std::size_t i = 0;
    for (const auto& t : targets) {
      WatchTarget wt;
      if (!check_target(c, t, i, cfg, wt)) return *c.error();
      for (const auto& other : cfg.targets)
        if (other.name == wt.name) {
          c.fail(t["name"] ? t["name"] : t["host"], "targets[" + std::to_string(i) + "].name",
                 "'" + wt.name + "' is also the name of the target at line " +
                     std::to_string(other.line) + " (names are the target label: unique)");
          return *c.error();
        }
      cfg.targets.push_back(std::move(wt));
      ++i;
    }
  } catch (const YAML::Exception& e) {  // a node shape the checks above did not foresee
    c.fail(e.mark.line < 0 ? 0 : e.mark.line + 1, "", e.msg);
    return *c.error();
  }
  return cfg;
}

Expected<WatchConfig> load_watch_config(const std::string& path, const EnvLookup& env) {
  auto fail = [&](const std::string& what) {
    return make_error(path + ": " + what, ErrorKind::Usage);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(std::string("cannot be read: ") + std::strerror(errno));
  struct stat st {};
  std::string text;
  std::optional<Error> error;
  if (::fstat(fd, &st) != 0)
    error = fail(std::string("cannot be read: ") + std::strerror(errno));
  else if (!S_ISREG(st.st_mode))
    error = fail(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  else if (st.st_size > static_cast<off_t>(kMaxConfigBytes))
    error = fail(std::to_string(st.st_size) + " bytes: too large for a config (at most 1 MiB)");
  if (!error) {
    char buf[8192];
    for (;;) {
      auto n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) error = fail(std::string("cannot be read: ") + std::strerror(errno));
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      if (text.size() > kMaxConfigBytes) {
        error = fail("too large for a config (at most 1 MiB)");
        break;
      }
    }
  }
  ::close(fd);
  if (error) return *error;
  return parse_watch_config(text, path, env);
}

Expected<ListenAddress> parse_listen_address(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error("bad --metrics-listen '" + std::string(text) + "': " + why +
                          " (e.g. 127.0.0.1:9797 or [::1]:9797)",
                      ErrorKind::Usage);
  };
  std::string_view addr, port;
  if (text.starts_with('[')) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return bad("expected [IPv6]:PORT");
    addr = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    addr = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (addr.find(':') != std::string_view::npos) return bad("write IPv6 as [addr]:port");
  }
  auto ip = net::parse_ip(addr);
  if (!ip) return bad("'" + std::string(addr) + "' is not an IP address");
  if (text.starts_with('[') == ip->is_v4()) return bad("brackets are for IPv6 only");
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535)
    return bad("bad port '" + std::string(port) + "' (1-65535)");
  return ListenAddress{ip->str(), static_cast<std::uint16_t>(p)};
}

}  // namespace midiag::agent::watch
