#include "reports/safe_text.h"

#include <algorithm>
#include <cstdio>

#include "decoders/common/utf8.h"

namespace midiag::reports {

namespace {

void put_hex(std::string& out, char32_t cp) {
  char buf[12];
  if (cp <= 0xFF) {
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
  } else {
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
  }
  out += buf;
}

// Characters that reorder or break lines on display: a forged line or a reversed host name.
bool is_invisible_layout(char32_t cp) {
  return cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F;
}

std::size_t longest_run(std::string_view s, char c) {
  std::size_t best = 0, run = 0;
  for (char ch : s) {
    run = ch == c ? run + 1 : 0;
    best = std::max(best, run);
  }
  return best;
}

std::string escape_pipes(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string safe_text(std::string_view s) {
  const std::string valid = to_valid_utf8(s);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size();) {
    const std::size_t start = i;
    bool invalid = false;
    const char32_t cp = next_code_point(valid, i, invalid);
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || is_invisible_layout(cp)) {
      put_hex(out, cp);
    } else {
      out.append(valid, start, i - start);
    }
  }
  return out;
}

std::string safe_md_text(std::string_view s) {
  const std::string t = safe_text(s);
  std::string out;
  out.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      // Backslash first among these: otherwise a server's "\" would undo the escape that follows.
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '|':
      case '~':
      case '#':
        out += '\\';
        out += c;
        break;
      case '-':
      case '+':
      case '=':
        if (i == 0) out += '\\';  // a list item or heading underline at the start of a line
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string safe_md_code(std::string_view s, bool in_table) {
  std::string t = safe_text(s);
  const std::string ticks(longest_run(t, '`') + 1, '`');
  // CommonMark strips one space from each side when both are there: pad whenever the content
  // starts or ends with a space or a backtick, so what is shown is exactly the content.
  const bool pad =
      t.empty() || t.front() == '`' || t.back() == '`' || t.front() == ' ' || t.back() == ' ';
  std::string out = ticks + (pad ? " " : "") + t + (pad ? " " : "") + ticks;
  return in_table ? escape_pipes(out) : out;
}

std::string md_fence_for(std::string_view content) {
  const std::size_t longest = std::max(longest_run(content, '`'), longest_run(content, '~'));
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

void make_strings_valid(nlohmann::json& doc) {
  if (doc.is_string()) {
    auto& s = doc.get_ref<std::string&>();
    if (!is_valid_utf8(s)) s = to_valid_utf8(s);
  } else if (doc.is_array()) {
    for (auto& e : doc) make_strings_valid(e);
  } else if (doc.is_object()) {
    bool bad_key = false;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      make_strings_valid(it.value());
      bad_key = bad_key || !is_valid_utf8(it.key());
    }
    if (bad_key) {
      nlohmann::json fixed = nlohmann::json::object();
      for (auto it = doc.begin(); it != doc.end(); ++it)
        fixed[to_valid_utf8(it.key())] = std::move(it.value());
      doc = std::move(fixed);
    }
  }
}

std::string code_name(Code code) {
  for (const auto& e : catalogue_entries())
    if (e.code == code) return std::string(e.name);
  return "UNKNOWN_" + std::to_string(static_cast<int>(code));
}

}  // namespace midiag::reports
