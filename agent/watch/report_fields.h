// Reading a `mi-diag.report/1` document (or a state file) without trusting its shape: a missing
// member, or one of another type, reads as null, "" or 0, never as an exception.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace midiag::agent::watch {

inline const nlohmann::json& member(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() ? *it : kNull;
}

inline std::string text(const nlohmann::json& j, const char* key) {
  const auto& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

inline double number(const nlohmann::json& j, const char* key) {
  const auto& v = member(j, key);
  return v.is_number() ? v.get<double>() : 0;
}

}  // namespace midiag::agent::watch
