// A private directory under /tmp for a test's files, removed with everything in it (archives a
// test extracts there included).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace midiag::test_support {

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/midiag-test-XXXXXX";
    const char* made = mkdtemp(templ);
    path_ = made != nullptr ? made : "";
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  // Writes `content` to a new file in the directory and returns its path.
  std::string file(const std::string& name, const std::string& content) {
    auto p = track(name);
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // A path in the directory the test creates itself (a FIFO, a subdirectory's file).
  std::string track(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace midiag::test_support
