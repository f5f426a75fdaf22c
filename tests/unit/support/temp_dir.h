// A private directory under /tmp for a test's input files, removed with what the test put in it.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

namespace midiag::test_support {

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/midiag-test-XXXXXX";
    path_ = mkdtemp(templ);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    for (const auto& f : made_) ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  // Writes `content` to a new file in the directory and returns its path.
  std::string file(const std::string& name, const std::string& content) {
    auto p = track(name);
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // A path in the directory the test creates itself (a FIFO, a subdirectory's file).
  std::string track(const std::string& name) {
    made_.push_back(path_ + "/" + name);
    return made_.back();
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> made_;
};

}  // namespace midiag::test_support
