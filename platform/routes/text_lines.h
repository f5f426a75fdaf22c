// Small helpers the text route parsers share: lines with their numbers, whitespace tokens that
// remember where they sit in the line, and a bounded list of the lines that could not be read.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/routes/route_table.h"

namespace midiag::platform::routes::text {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The text split on '\n', a trailing '\r' kept off each line; no empty last line for a final '\n'.
// The lines of `text`, a last one without '\n' included.
inline std::size_t line_count(std::string_view text) {
  std::size_t n = 0;
  for (const char c : text) n += c == '\n' ? 1U : 0U;
  return n + (text.empty() || text.back() == '\n' ? 0U : 1U);
}

inline std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  out.reserve(line_count(text));
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    start = end + 1;
  }
  return out;
}

struct Token {
  std::string_view text;
  std::size_t begin = 0, end = 0;  // offsets in the line, for "the rest of the line as written"
};

inline std::vector<Token> tokens(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) break;
    const std::size_t b = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    out.push_back({line.substr(b, i - b), b, i});
  }
  return out;
}

// The line from token `first` to token `last` (inclusive), inner spacing as written.
inline std::string_view span(std::string_view line, const std::vector<Token>& t, std::size_t first,
                             std::size_t last) {
  return line.substr(t[first].begin, t[last].end - t[first].begin);
}

inline bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

inline std::optional<std::uint32_t> number(std::string_view s) {
  if (!all_digits(s)) return std::nullopt;
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

inline bool equals_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Looks like (a piece of) an address: only hex digits and . : / %, with a digit and a . or :.
inline bool address_like(std::string_view s) {
  bool digit = false, punct = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' || c == ':') {
      punct = true;
    } else if (!((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '/' || c == '%')) {
      return false;
    }
  }
  return digit && punct;
}

// The unread lines, bounded so a huge file of garbage cannot grow the table without limit: after
// kMaxListed entries one last entry counts the rest.
class UnreadList {
 public:
  static constexpr std::size_t kMaxListed = 1000;
  explicit UnreadList(std::vector<RouteTable::Unread>& out) : out_(out) {}
  void add(std::size_t line, std::string_view text, std::string reason) {
    ++total_;
    if (out_.size() < kMaxListed)
      out_.push_back({line, std::string(text.substr(0, 512)), std::move(reason)});
    else
      first_omitted_ = first_omitted_ == 0 ? line : first_omitted_;
  }
  // Call once at the end: the count of what was not listed.
  void finish() {
    if (total_ > out_.size())
      out_.push_back({first_omitted_, "",
                      std::to_string(total_ - out_.size()) +
                          " more lines could not be read (not listed), the first of them here"});
  }
  [[nodiscard]] std::size_t total() const { return total_; }

 private:
  std::vector<RouteTable::Unread>& out_;
  std::size_t total_ = 0, first_omitted_ = 0;
};

}  // namespace midiag::platform::routes::text
