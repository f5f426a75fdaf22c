#!/usr/bin/env bash
# The whole test suite: install, build with warnings as errors, unit tests + the namespace lab,
# then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
# The Node driver (tedious) used by the real-client tests, pinned by tests/clients/package-lock.json.
if [[ ! -d tests/clients/node_modules ]]; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi
jobs=$(nproc)

echo "== build (warnings are errors)"
cmake -S . -B build-ci -DMIDIAG_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-ci -j"$jobs"
echo "== unit tests"
(cd build-ci && ctest --output-on-failure --timeout 900 -E '^lab$')
echo "== network-namespace lab (each scenario is printed)"
(cd build-ci && ctest --timeout 900 -R '^lab$' -V)

echo "== ASan+UBSan build"
cmake -S . -B build-asan -DMIDIAG_WERROR=ON -DMIDIAG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
echo "== unit tests under ASan+UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure --timeout 900 -E '^lab$')

echo "== fuzz targets (libFuzzer + ASan + UBSan, bounded time per target)"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash tests/fuzz/run.sh
