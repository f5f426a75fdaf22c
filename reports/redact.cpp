#include "reports/redact.h"

#include <algorithm>
#include <utility>

#include "reports/redact_rules.h"

namespace midiag::reports {

namespace {

// UTF-8 to UTF-16LE; a byte that does not start a valid sequence is taken as Latin-1, so every
// input has an encoding (a password is what the user typed, not necessarily valid UTF-8).
std::vector<std::uint8_t> utf16le(std::string_view s) {
  std::vector<std::uint8_t> out;
  auto put = [&](std::uint32_t u) {
    out.push_back(static_cast<std::uint8_t>(u & 0xFF));
    out.push_back(static_cast<std::uint8_t>(u >> 8));
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80           ? 1
                      : (b >> 5) == 0x6  ? 2
                      : (b >> 4) == 0xE  ? 3
                      : (b >> 3) == 0x1E ? 4
                                         : 0;
    bool ok = len > 0 && i + len <= s.size();
    std::uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = (c & 0xC0) == 0x80;
      cp = cp << 6 | (c & 0x3F);
    }
    if (!ok) {
      put(b);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 | (cp >> 10));
      put(0xDC00 | (cp & 0x3FF));
    } else {
      put(cp);
    }
    i += len;
  }
  return out;
}

// One pass building a new string: in-place replacement would move the tail once per hit.
std::size_t replace_all(std::string& text, std::string_view what, std::string_view with) {
  std::size_t at = text.find(what);
  if (at == std::string::npos) return 0;
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  std::size_t n = 0;
  for (; at != std::string::npos; at = text.find(what, copied)) {
    out.append(text, copied, at - copied);
    out += with;
    copied = at + what.size();
    ++n;
  }
  out.append(text, copied);
  text = std::move(out);
  return n;
}

}  // namespace

std::vector<std::vector<std::uint8_t>> secret_encodings(std::string_view secret) {
  std::vector<std::vector<std::uint8_t>> out;
  if (secret.empty()) return out;
  out.emplace_back(secret.begin(), secret.end());
  auto wide = utf16le(secret);
  auto obfuscated = wide;
  for (auto& b : obfuscated) b = static_cast<std::uint8_t>(((b << 4) | (b >> 4)) ^ 0xA5);
  out.push_back(std::move(wide));
  out.push_back(std::move(obfuscated));
  return out;
}

void Redactor::add_known_secret(std::string_view secret) {
  if (secret.empty() || std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end())
    return;
  secrets_.emplace_back(secret);
  for (auto& e : secret_encodings(secret)) encodings_.push_back(std::move(e));
  // Longest first, so a secret that contains another is removed whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

void Redactor::count(std::string_view rule, std::string_view member, std::size_t n) {
  if (n == 0) return;
  for (auto& c : counts_)
    if (c.rule == rule && c.member == member) {
      c.count += n;
      return;
    }
  counts_.push_back({std::string(rule), std::string(member), n});
}

std::string Redactor::redact_text(std::string_view text, std::string_view member) {
  std::string out = apply_redaction_rules(
      text, [&](std::string_view rule, std::size_t hits) { count(rule, member, hits); });
  std::size_t n = 0;
  for (const auto& s : secrets_) n += replace_all(out, s, kRedacted);
  count("known-secret", member, n);
  return out;
}

void Redactor::scrub_bytes(std::span<std::uint8_t> bytes, std::string_view member) {
  std::size_t n = 0;
  for (const auto& e : encodings_) {
    auto from = bytes.begin();
    while (true) {
      auto hit = std::search(from, bytes.end(), e.begin(), e.end());
      if (hit == bytes.end()) break;
      std::fill(hit, hit + static_cast<std::ptrdiff_t>(e.size()), std::uint8_t{'*'});
      from = hit + static_cast<std::ptrdiff_t>(e.size());
      ++n;
    }
  }
  count("known-secret", member, n);
}

}  // namespace midiag::reports
