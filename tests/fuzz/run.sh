#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang) and runs each one for a bounded time on a
# temporary copy of its corpus, tests/fuzz/corpus/<target>/; then merges what it found back into
# that folder (libFuzzer -merge=1: only inputs that add coverage are copied, named by SHA-1).
#   FUZZ_SECONDS  seconds per target (default 20)
#   FUZZ_MERGE=0  leave tests/fuzz/corpus/ alone (default 1: the corpora grow; commit them)
#   FUZZ_MAX_LEN  largest input libFuzzer generates, in bytes (default 4096, or the largest
#                 file already in the target's corpus if that is bigger)
#   FUZZ_TARGETS  space-separated subset of targets to run (default: all that were built)
#   FUZZ_BUILD_DIR  build directory (default: <repo>/build-fuzz)
#   CXX           the clang++ to use (default: clang++)
#   CI=true       a missing clang++ or a target not built is a failure instead of a skip (77)
# Prints "fuzz: <target>: OK (<execs> execs)" or "fuzz: <target>: FAIL (...)" per target, then
# "N passed, M failed"; exits 0 only when every target passed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-20}"
cxx="${CXX:-clang++}"
# CXX may name g++ in the environment of the main build: only a clang is any use here.
if ! "$cxx" --version 2>/dev/null | grep -qi clang; then cxx=clang++; fi

if ! command -v "$cxx" >/dev/null 2>&1; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "fuzz: clang++ not found (CI=true: this is a failure)" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "fuzz: clang++ not found: skipping the fuzz targets" >&2
  exit 77
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/midiag-fuzz.XXXXXX")"
keep_work=0
cleanup() { if [[ $keep_work -eq 0 ]]; then rm -rf "$work"; fi; }
trap cleanup EXIT

jobs="${FUZZ_BUILD_JOBS:-2}"
echo "fuzz: configuring $build" >&2
if ! cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" >"$work/configure.log" 2>&1; then
  keep_work=1
  echo "fuzz: cmake configure failed, see $work/configure.log" >&2
  tail -n 20 "$work/configure.log" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
passed=0
failed=0
if grep -q "pcap_fuzzer is not built" "$work/configure.log"; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "fuzz: pcap_fuzzer, capture_stream_fuzzer: FAIL (CI=true: not built, decoders/pcap does not compile; see $build/pcap_compile.log)"
    failed=$((failed + 1))
  else
    echo "fuzz: pcap_fuzzer, capture_stream_fuzzer: SKIPPED (decoders/pcap does not compile; see $build/pcap_compile.log)"
  fi
fi

mapfile -t built < <(grep -v '^$' "$build/fuzz_targets.txt")
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=("${built[@]}")
fi

merge="${FUZZ_MERGE:-1}"
max_len_floor="${FUZZ_MAX_LEN:-4096}"
for t in "${targets[@]}"; do
  log="$work/$t.log"
  # Built one at a time, so a target that no longer compiles fails alone.
  if ! cmake --build "$build" --target "$t" -j "$jobs" >"$work/$t.build.log" 2>&1; then
    keep_work=1
    echo "fuzz: $t: FAIL (build failed, see $work/$t.build.log)"
    failed=$((failed + 1))
    continue
  fi
  seeds="$here/corpus/$t"
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  if [[ -d "$seeds" ]]; then cp -R "$seeds/." "$corpus/"; fi
  # Explicit, so a new input is never bigger than this (libFuzzer's own default, made visible).
  largest="$(find "$corpus" -type f -printf '%s\n' | sort -n | tail -n 1)"
  max_len=$((${largest:-0} > max_len_floor ? ${largest:-0} : max_len_floor))

  "$build/$t" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=5 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
  rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
  if [[ $rc -eq 0 && -z "$crash" ]]; then
    added=""
    if [[ "$merge" == 1 ]]; then
      # Into the in-tree corpus: only the inputs of the working copy that add coverage.
      mkdir -p "$seeds"
      before="$(find "$seeds" -type f | wc -l)"
      if ! "$build/$t" -merge=1 -max_len="$max_len" -rss_limit_mb=2048 -timeout=5 \
        "$seeds" "$corpus" >"$work/$t.merge.log" 2>&1; then
        keep_work=1
        echo "fuzz: $t: FAIL (merge into $seeds failed, log $work/$t.merge.log)"
        failed=$((failed + 1))
        continue
      fi
      added=", $(($(find "$seeds" -type f | wc -l) - before)) new corpus files"
    fi
    echo "fuzz: $t: OK (${execs:-?} execs${added})"
    passed=$((passed + 1))
  else
    keep_work=1
    failed=$((failed + 1))
    if [[ -n "$crash" ]]; then
      echo "fuzz: $t: FAIL (exit $rc, crash file $crash, log $log)"
      echo "  reproduce: $build/$t $crash" >&2
      grep -m 1 -E "ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer)|runtime error|fuzz check failed" "$log" | sed 's/^/  /' >&2
    else
      echo "fuzz: $t: FAIL (exit $rc, no crash file, log $log)"
    fi
  fi
done

if [[ $keep_work -eq 1 ]]; then echo "fuzz: logs and crash files kept in $work" >&2; fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
