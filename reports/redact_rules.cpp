#include "reports/redact_rules.h"

#include <array>
#include <utility>
#include <vector>

#include "reports/ascii.h"
#include "reports/redact.h"

namespace midiag::reports {

namespace {

using namespace ascii;

constexpr std::size_t npos = std::string_view::npos;

bool is_b64url(char c) {
  return is_alnum(c) || c == '-' || c == '_';
}
bool is_ident(char c) {
  return is_alnum(c) || c == '_' || c == '-' || c == '.';
}
bool is_space(char c) {
  return c == ' ' || c == '\t';
}
bool is_eol(char c) {
  return c == '\n' || c == '\r';
}

bool ieq_at(std::string_view s, std::size_t at, std::string_view word) {
  if (at > s.size() || s.size() - at < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k)
    if (lower(s[at + k]) != word[k]) return false;
  return true;
}

// Case-insensitive find of a lower-case word; linear (the word is a short constant).
std::size_t ifind(std::string_view s, std::string_view word, std::size_t from) {
  if (word.empty() || s.size() < word.size()) return npos;
  for (std::size_t i = from; i + word.size() <= s.size(); ++i)
    if (lower(s[i]) == word[0] && ieq_at(s, i, word)) return i;
  return npos;
}

std::size_t end_of_line(std::string_view s, std::size_t from) {
  while (from < s.size() && !is_eol(s[from])) ++from;
  return from;
}

bool already_redacted(std::string_view s, std::size_t at) {
  return s.substr(at).starts_with(kRedacted);
}

// One pass: copies the input, replacing the ranges it is told to, and counts per rule name.
class Pass {
 public:
  explicit Pass(std::string_view in) : in_(in) { out_.reserve(in.size()); }
  void redact(std::size_t from, std::size_t to, std::string_view rule) {
    out_.append(in_.substr(copied_, from - copied_));
    out_ += kRedacted;
    copied_ = to;
    for (auto& [name, n] : hits_)
      if (name == rule) {
        ++n;
        return;
      }
    hits_.emplace_back(std::string(rule), 1);
  }
  std::string finish(const RuleCounter& count) {
    out_.append(in_.substr(copied_));
    for (const auto& [name, n] : hits_) count(name, n);
    return std::move(out_);
  }

 private:
  std::string_view in_;
  std::string out_;
  std::size_t copied_ = 0;
  std::vector<std::pair<std::string, std::size_t>> hits_;
};

// End of a value quoted with q starting at `open` (the quote itself). Doubled quotes are an escape
// (ADO.NET); with backslash_escapes (JSON, shell) \x is one. Unterminated: the end of the line,
// so a stray quote costs at most one line of context, never the rest of the member.
std::size_t quoted_end(std::string_view s, std::size_t open, bool backslash_escapes) {
  const char q = s[open];
  for (std::size_t j = open + 1; j < s.size(); ++j) {
    if (backslash_escapes && s[j] == '\\') {
      ++j;
      continue;
    }
    if (s[j] == q) {
      if (!backslash_escapes && j + 1 < s.size() && s[j + 1] == q) {
        ++j;
        continue;
      }
      return j + 1;
    }
    if (is_eol(s[j])) return j;
  }
  return s.size();
}

// -----BEGIN <anything> PRIVATE KEY----- ... -----END ...: the body goes, both armour lines stay.
// A BEGIN without an END redacts to the end of the member: a truncated key is still a key.
std::string pem_private_keys(std::string_view in, const RuleCounter& count) {
  Pass p(in);
  constexpr std::string_view kBegin = "-----BEGIN ";
  constexpr std::string_view kEnd = "-----END ";
  std::size_t pos = 0;
  while (true) {
    const std::size_t b = in.find(kBegin, pos);
    if (b == npos) break;
    const std::size_t label = b + kBegin.size();
    // The label is short; looking further would make many BEGINs quadratic.
    const std::size_t dashes = in.substr(label, 80).find("-----");
    if (dashes == npos) {
      pos = label;
      continue;
    }
    const std::string_view name = in.substr(label, dashes);
    if (!name.ends_with("PRIVATE KEY") || name.find('\n') != npos) {
      pos = label;
      continue;
    }
    std::size_t body = label + dashes + 5;
    while (body < in.size() && is_eol(in[body])) ++body;
    std::size_t end = in.find(kEnd, body);
    const std::size_t next = end == npos ? in.size() : end + kEnd.size();
    if (end == npos) end = in.size();
    std::size_t last = end;
    while (last > body && is_eol(in[last - 1])) --last;
    if (last > body && !already_redacted(in, body)) p.redact(body, last, "pem-private-key");
    pos = next;
  }
  return p.finish(count);
}

// Authorization: / Proxy-Authorization: headers, any scheme, also as a JSON member. A scheme word
// followed by credentials is kept ("Bearer [REDACTED]"); a lone token goes whole.
std::string authorization_headers(std::string_view in, const RuleCounter& count) {
  Pass p(in);
  constexpr std::string_view kName = "authorization";
  std::size_t pos = 0;
  while (true) {
    const std::size_t h = ifind(in, kName, pos);
    if (h == npos) break;
    pos = h + kName.size();
    if (h > 0 && is_alnum(in[h - 1])) continue;
    std::size_t j = pos;
    if (j < in.size() && (in[j] == '"' || in[j] == '\'')) ++j;
    while (j < in.size() && is_space(in[j])) ++j;
    if (j >= in.size() || (in[j] != ':' && in[j] != '=')) continue;
    ++j;
    while (j < in.size() && is_space(in[j])) ++j;
    std::size_t v = j;
    std::size_t end;
    if (j < in.size() && (in[j] == '"' || in[j] == '\'')) {
      v = j + 1;
      end = quoted_end(in, j, true);
      if (end > v && in[end - 1] == in[j]) --end;
    } else {
      end = end_of_line(in, j);
    }
    while (end > v && is_space(in[end - 1])) --end;
    std::size_t scheme = v;
    while (scheme < end && (is_alpha(in[scheme]) || in[scheme] == '-')) ++scheme;
    if (scheme > v && scheme < end && is_space(in[scheme])) {
      v = scheme;
      while (v < end && is_space(in[v])) ++v;
    }
    if (v < end && !already_redacted(in, v)) p.redact(v, end, "authorization-header");
    pos = end;
  }
  return p.finish(count);
}

// header.payload.signature, each base64url, the header JSON so starting "eyJ" ('{"').
std::string jwts(std::string_view in, const RuleCounter& count) {
  Pass p(in);
  std::size_t pos = 0;
  while (true) {
    const std::size_t b = in.find("eyJ", pos);
    if (b == npos) break;
    std::size_t j = b;
    while (j < in.size() && is_b64url(in[j])) ++j;
    pos = j;
    if (b > 0 && is_b64url(in[b - 1])) continue;
    if (j - b < 10 || j >= in.size() || in[j] != '.') continue;
    std::size_t k = j + 1;
    while (k < in.size() && is_b64url(in[k])) ++k;
    if (k - (j + 1) < 2 || k >= in.size() || in[k] != '.') continue;
    std::size_t e = k + 1;
    while (e < in.size() && is_b64url(in[e])) ++e;  // an unsigned JWT has an empty signature
    p.redact(b, e, "jwt");
    pos = e;
  }
  return p.finish(count);
}

// scheme://user:password@host: the password goes, the user stays.
std::string url_userinfo(std::string_view in, const RuleCounter& count) {
  Pass p(in);
  std::size_t pos = 0;
  while (true) {
    const std::size_t s = in.find("://", pos);
    if (s == npos) break;
    const std::size_t a = s + 3;
    std::size_t e = a;
    std::size_t at = npos;
    while (e < in.size()) {
      const char c = in[e];
      if (c == '/' || c == '?' || c == '#' || is_space(c) || is_eol(c) || c == '"' || c == '\'' ||
          c == '<' || c == '>' || c == '\\')
        break;
      if (c == '@') at = e;
      ++e;
    }
    pos = e;
    if (at == npos) continue;
    const std::size_t colon = in.substr(a, at - a).find(':');
    if (colon == npos) continue;
    const std::size_t v = a + colon + 1;
    if (v < at && !already_redacted(in, v)) p.redact(v, at, "url-userinfo");
  }
  return p.finish(count);
}

struct ConnKey {
  std::string_view normalised;  // lower case, no spaces
  std::string_view rule;
};
constexpr std::array<ConnKey, 7> kConnKeys{{
    {"password", "connection-string:Password"},
    {"pwd", "connection-string:Pwd"},
    {"accountkey", "connection-string:AccountKey"},
    {"sharedaccesskey", "connection-string:SharedAccessKey"},
    {"sharedaccesssignature", "connection-string:SharedAccessSignature"},
    {"clientsecret", "connection-string:ClientSecret"},
    {"accesstoken", "connection-string:AccessToken"},
}};

// ADO.NET / ODBC / JDBC key=value pairs: keys case-insensitive, spaces around and inside them
// ignored; values bare (to ';', the end of the line or a '"' that closes an enclosing string),
// quoted with " or ' (doubled to escape) or ODBC-braced ({...}, '}}' escapes '}').
std::string connection_strings(std::string_view in, const RuleCounter& count) {
  Pass p(in);
  std::size_t i = 0;
  while (i < in.size()) {
    if (!is_alpha(in[i]) || (i > 0 && (is_ident(in[i - 1])))) {
      ++i;
      continue;
    }
    // The key: letters and spaces up to '=', at most 40 characters (bounded work per start).
    std::string key;
    std::size_t j = i;
    while (j < in.size() && j - i < 40 && (is_alpha(in[j]) || is_space(in[j]))) {
      if (!is_space(in[j])) key += lower(in[j]);
      ++j;
    }
    const ConnKey* hit = nullptr;
    if (j < in.size() && in[j] == '=' && !(j + 1 < in.size() && in[j + 1] == '='))
      for (const auto& k : kConnKeys)
        if (key == k.normalised) hit = &k;
    if (hit == nullptr) {
      ++i;
      continue;
    }
    std::size_t v = j + 1;
    while (v < in.size() && is_space(in[v])) ++v;
    std::size_t end = v;
    if (v < in.size() && (in[v] == '"' || in[v] == '\'')) {
      end = quoted_end(in, v, false);
    } else if (v < in.size() && in[v] == '{') {
      end = end_of_line(in, v);  // unterminated brace: the rest of the line
      for (std::size_t k = v + 1; k < in.size() && !is_eol(in[k]); ++k) {
        if (in[k] != '}') continue;
        if (k + 1 < in.size() && in[k + 1] == '}') {
          ++k;
          continue;
        }
        end = k + 1;
        break;
      }
    } else {
      while (end < in.size() && in[end] != ';' && in[end] != '"' && !is_eol(in[end])) ++end;
      while (end > v && is_space(in[end - 1])) --end;
    }
    if (end > v && !already_redacted(in, v)) p.redact(v, end, hit->rule);
    i = end > j ? end : j + 1;
  }
  return p.finish(count);
}

// SAS tokens: the signature of sig= in a URL or query string (the other fields say what the token
// grants and when it expires, which a reader needs).
std::string sas_signatures(std::string_view in, const RuleCounter& count) {
  Pass p(in);
  std::size_t pos = 0;
  while (true) {
    const std::size_t s = ifind(in, "sig=", pos);
    if (s == npos) break;
    pos = s + 4;
    if (s > 0) {
      const char c = in[s - 1];
      if (!(c == '?' || c == '&' || c == ';' || c == '"' || c == '\'' || is_space(c) || is_eol(c)))
        continue;
    }
    std::size_t e = pos;
    while (e < in.size()) {
      const char c = in[e];
      if (c == '&' || c == ';' || c == '#' || c == '"' || c == '\'' || c == '<' || is_space(c) ||
          is_eol(c))
        break;
      ++e;
    }
    if (e > pos && !already_redacted(in, pos)) p.redact(pos, e, "sas-sig");
    pos = e;
  }
  return p.finish(count);
}

enum class KeyKind { kNone, kSecret, kNumericIsCount, kConnectionString };

// A key's words: split at '_', '-', '.' and lower-to-upper case changes, lower-cased.
std::vector<std::string> key_words(std::string_view key) {
  std::vector<std::string> words(1);
  for (std::size_t k = 0; k < key.size(); ++k) {
    const char c = key[k];
    if (c == '_' || c == '-' || c == '.') {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (k > 0 && c >= 'A' && c <= 'Z' && key[k - 1] >= 'a' && key[k - 1] <= 'z' &&
        !words.back().empty())
      words.emplace_back();
    words.back() += lower(c);
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

KeyKind classify_key(std::string_view key) {
  const auto words = key_words(key);
  if (words.empty()) return KeyKind::kNone;
  // A key that names where a secret is, or something about it, is not the secret: the watch
  // config's password_env: MI_PW names an environment variable.
  static constexpr std::array<std::string_view, 24> kAbout{
      "env",     "file",  "path", "var",      "name",   "url",  "uri",    "endpoint",
      "type",    "count", "len",  "length",   "min",    "max",  "policy", "expiry",
      "expires", "ttl",   "set",  "required", "prompt", "hint", "format", "mode"};
  for (auto a : kAbout)
    if (words.back() == a) return KeyKind::kNone;
  KeyKind kind = KeyKind::kNone;
  for (std::size_t k = 0; k < words.size(); ++k) {
    const std::string_view w = words[k];
    const std::string_view next = k + 1 < words.size() ? std::string_view(words[k + 1]) : "";
    if ((w == "connection" && next == "string") || w == "connectionstring" || w == "connstr")
      return KeyKind::kConnectionString;
    if (w == "pass" || w == "passwd" || w == "password" || w == "passphrase" || w == "pwd" ||
        w == "secret" || w == "apikey" || (w == "api" && next == "key") ||
        w.ends_with("password") || w.ends_with("passwd") || w.ends_with("secret"))
      kind = KeyKind::kSecret;
    else if ((w == "token" || w.ends_with("token")) && kind == KeyKind::kNone)
      kind = KeyKind::kNumericIsCount;
  }
  return kind;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

// Keys named like pass|pwd|secret|token|api_key|client_secret|connection_string, in key=value,
// key: value, export KEY=value and JSON "key": "value". Quoted values lose their content and keep
// their quotes (JSON stays JSON); a bare value after '=' ends at white space, ';' '&' or a quote,
// after ':' (YAML, headers) at the end of the line. Non-string JSON values are left alone.
std::string secret_keys(std::string_view in, const RuleCounter& count) {
  Pass p(in);
  std::size_t i = 0;
  while (i < in.size()) {
    if (!is_ident(in[i]) || (i > 0 && is_ident(in[i - 1]))) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    std::size_t t = i;
    while (t < in.size() && is_ident(in[t])) ++t;
    const std::string_view token = in.substr(start, t - start);
    i = t;
    std::size_t j = t;
    bool quoted_key = false;
    if (start > 0 && (in[start - 1] == '"' || in[start - 1] == '\'') && j < in.size() &&
        in[j] == in[start - 1]) {
      quoted_key = true;
      ++j;
    }
    while (j < in.size() && is_space(in[j])) ++j;
    if (j >= in.size() || (in[j] != '=' && in[j] != ':')) continue;
    const char sep = in[j];
    if (j + 1 < in.size() && (in[j + 1] == sep || (sep == ':' && in[j + 1] == '/'))) continue;
    const KeyKind kind = classify_key(token);
    if (kind == KeyKind::kNone) continue;
    std::size_t v = j + 1;
    while (v < in.size() && is_space(in[v])) ++v;
    std::size_t end = v;
    if (v < in.size() && (in[v] == '"' || in[v] == '\'')) {
      end = quoted_end(in, v, true);
      const char q = in[v];
      ++v;
      if (end > v && in[end - 1] == q) --end;
    } else if (quoted_key) {
      continue;  // a JSON number, boolean, null, object or array
    } else if (sep == ':' || kind == KeyKind::kConnectionString) {
      end = end_of_line(in, v);
    } else {
      while (end < in.size() && !is_space(in[end]) && !is_eol(in[end]) && in[end] != ';' &&
             in[end] != '&' && in[end] != '"' && in[end] != '\'')
        ++end;
    }
    while (end > v && is_space(in[end - 1])) --end;
    const std::string_view value = in.substr(v, end - v);
    // A count is not a secret: tokens, max_tokens and token=3 are numbers of things.
    if (value.empty() || already_redacted(in, v) ||
        (kind == KeyKind::kNumericIsCount && all_digits(value)))
      continue;
    p.redact(v, end, "secret-key-name");
    i = end;
  }
  return p.finish(count);
}

}  // namespace

std::string apply_redaction_rules(std::string_view text, const RuleCounter& count) {
  std::string s = pem_private_keys(text, count);
  s = authorization_headers(s, count);
  s = jwts(s, count);
  s = url_userinfo(s, count);
  s = connection_strings(s, count);
  s = sas_signatures(s, count);
  return secret_keys(s, count);
}

}  // namespace midiag::reports
