#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/cli.h"

int main(int argc, char** argv) {
  try {
    // Logs go to stderr so stdout stays a clean report (JSON pipes into jq).
    spdlog::set_default_logger(spdlog::stderr_color_mt("mi-diag"));
    spdlog::set_level(spdlog::level::warn);
    std::vector<std::string> args(argv + 1, argv + argc);
    bool tty = isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
    return midiag::agent::run_cli(args, std::cout, std::cerr, tty);
  } catch (const std::exception& e) {
    std::cerr << "mi-diag: internal error: " << e.what() << "\n";
    return midiag::agent::kExitToolFailure;
  }
}
