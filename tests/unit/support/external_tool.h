// Outside tools a test drives (promtool, systemd-analyze): found on PATH or where tests/setup.sh
// unpacks them; missing is a skip outside CI and a failure under CI=true (CI must prove it).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace midiag::test_support {

// tests/setup.sh unpacks Debian's prometheus package here (promtool without a server).
inline constexpr const char* kToolsPrefix = "/opt/mi-diag-tools";

// The tool's path: $PATH first, then the `fallbacks`; empty when none is executable.
inline std::string find_tool(const std::string& name, const std::vector<std::string>& fallbacks) {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':'))
      if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  }
  for (const auto& f : fallbacks)
    if (::access(f.c_str(), X_OK) == 0) return f;
  return {};
}

inline std::string promtool_path() {
  return find_tool("promtool", {std::string(kToolsPrefix) + "/prometheus/usr/bin/promtool"});
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh, stderr folded into stdout.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace midiag::test_support

// Binds `var` to the tool's path, or skips (fails under CI=true) saying how to get it.
#define REQUIRE_TOOL(var, path_expr, how)                                             \
  const std::string var = (path_expr);                                                \
  if (var.empty()) {                                                                  \
    if (midiag::test_support::running_in_ci()) FAIL() << #var " not found (" how ")"; \
    GTEST_SKIP() << #var " not found (" how ")";                                      \
  }
