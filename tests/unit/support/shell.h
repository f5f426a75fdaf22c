// A shell command a test runs (tar, sha256sum, jq, tshark): its exit code and its output, stderr
// included.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace midiag::test_support {

struct Shell {
  int code = -1;
  std::string out;
};

inline Shell sh(const std::string& cmd) {
  Shell r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace midiag::test_support
