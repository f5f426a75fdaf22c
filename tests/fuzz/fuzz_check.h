// One assertion for every fuzz target: a failed invariant prints itself and traps, so libFuzzer
// saves the input as a crash.
#pragma once

#include <cstdio>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      __builtin_trap();                                                                   \
    }                                                                                     \
  } while (0)
