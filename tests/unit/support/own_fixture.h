// The repository's own fixtures (tests/fixtures/<folder>/<name>), read whole: one loader for the
// tests that read them, instead of a copy per test file.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace midiag::test_support {

// The file's bytes as stored; a missing file fails the test that asked (and reads as "").
inline std::string own_fixture(const std::string& folder, const std::string& name) {
  const std::string path = std::string(MIDIAG_SOURCE_DIR "/tests/fixtures/") + folder + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) ADD_FAILURE() << "fixture missing: " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace midiag::test_support
