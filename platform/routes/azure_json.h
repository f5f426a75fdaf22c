// Reading Azure's JSON exports the way both of its writers spell them: the az CLI (camelCase,
// lists) and PowerShell's ConvertTo-Json (PascalCase, a lone object for a one-element list).
// Shared by parse_azure_effective.cpp and nsg.cpp; nothing here throws.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/routes/text_lines.h"

namespace midiag::platform::routes::azure_json {

constexpr std::size_t kMaxDepth = 64;

// Deeper nesting than any export has is refused before parsing (nlohmann's tree is destroyed
// and printed recursively).
inline bool nesting_within(std::string_view text, std::size_t max_depth = kMaxDepth) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    }
    if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return true;
}

// Parsed JSON, or nullopt (not JSON, or nested too deep); a UTF-8 BOM is allowed.
inline std::optional<nlohmann::json> parse(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (!nesting_within(text)) return std::nullopt;
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// The route parsers' one locale-free case-insensitive comparison.
inline bool iequals(std::string_view a, std::string_view b) {
  return text::equals_nocase(a, b);
}

// The member named `key` in any letter case; nullptr when absent or `j` is not an object.
inline const nlohmann::json* member(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (iequals(it.key(), key)) return &it.value();
  return nullptr;
}

inline std::string text(const nlohmann::json* j) {
  return j != nullptr && j->is_string() ? j->get<std::string>() : std::string();
}

inline std::string text(const nlohmann::json& j, std::string_view key) {
  return text(member(j, key));
}

// A member that is a string or a list of strings (the CLI writes lists where PowerShell may
// write one string, and "sourcePortRange" beside "sourcePortRanges").
inline std::vector<std::string> strings(const nlohmann::json* j) {
  std::vector<std::string> out;
  if (j == nullptr) return out;
  if (j->is_string()) {
    if (!j->get_ref<const std::string&>().empty()) out.push_back(j->get<std::string>());
  } else if (j->is_array()) {
    for (const auto& e : *j)
      if (e.is_string() && !e.get_ref<const std::string&>().empty())
        out.push_back(e.get<std::string>());
  }
  return out;
}

inline std::vector<std::string> strings(const nlohmann::json& j, std::string_view key) {
  return strings(member(j, key));
}

// A member as short, safe text for an "unread" entry.
inline std::string preview(const nlohmann::json& j, std::size_t max = 200) {
  std::string s = j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

// The list a document carries: {"value": [...]}, a bare [...], or one object that has
// `marker` (PowerShell writes a one-element list as the element itself).
inline const nlohmann::json* list_of(const nlohmann::json& doc, std::string_view marker,
                                     nlohmann::json& holder) {
  if (doc.is_array()) return &doc;
  if (const auto* v = member(doc, "value"); v != nullptr && v->is_array()) return v;
  if (doc.is_object() && member(doc, marker) != nullptr) {
    holder = nlohmann::json::array({doc});
    return &holder;
  }
  return nullptr;
}

}  // namespace midiag::platform::routes::azure_json
