// Text fixtures read in place (../shared/fixtures, or the repository's own), one loader for the
// tests: a missing file skips the test, and fails it in CI (which has ../shared beside the clone).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

namespace midiag::test_support {

inline const std::string kSharedFixtures = MIDIAG_SOURCE_DIR "/../shared/fixtures/";

// The whole file as stored, or nullopt when it cannot be opened.
inline std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace midiag::test_support

// `var`: the text of the file at `path` (a full path); skips, or fails in CI, when it is missing.
#define TEXT_OR_SKIP(var, path)                                        \
  const auto var##_opt = ::midiag::test_support::read_text_file(path); \
  if (!var##_opt) {                                                    \
    if (::midiag::test_support::running_in_ci())                       \
      FAIL() << "fixture missing (CI has ../shared): " << (path);      \
    GTEST_SKIP() << "fixture missing: " << (path);                     \
  }                                                                    \
  const std::string& var = *var##_opt
