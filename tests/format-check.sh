#!/usr/bin/env bash
# clang-format check (the root .clang-format) on every tracked C++ file under the source and test
# folders: a fresh clone has no "previous CI'd commit" to diff against, so the honest rule is all
# of them. Nothing is rewritten; fix with `clang-format -i FILE`.
#   FORMAT_CHECK=0  skip the check (ignored when CI=true: CI always checks)
#   CLANG_FORMAT    the clang-format binary (default: clang-format)
# Exit: 0 clean (or skipped outside CI), 1 files need formatting or clang-format is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${FORMAT_CHECK:-1}" == 0 ]]; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "format: FORMAT_CHECK=0 is ignored under CI=true"
  else
    echo "format: skipped (FORMAT_CHECK=0)"
    exit 0
  fi
fi

clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "format: FAIL: ${clang_format} not found (tests/setup.sh installs clang-format)"
  exit 1
fi

folders=(agent decoders probes platform reports tests bench)
specs=()
for d in "${folders[@]}"; do
  for ext in cpp h; do specs+=("${d}/*.${ext}"); done
done
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- "${specs[@]}")
else # an exported tree without .git: the same folders, found on disk
  mapfile -t files < <(find "${folders[@]}" -type f \( -name '*.cpp' -o -name '*.h' \) \
    -not -path '*/node_modules/*' 2>/dev/null | LC_ALL=C sort)
fi
if ((${#files[@]} == 0)); then
  echo "format: FAIL: no C++ files found under ${folders[*]}"
  exit 1
fi

present=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] && present+=("$f") # a file deleted in the work tree is not checked
done
# One clang-format run for all files; each unformatted line is reported as
# "FILE:LINE:COL: error: code should be clang-formatted [-Wclang-format-violations]".
report=$(mktemp)
trap 'rm -f "$report"' EXIT
rc=0
"$clang_format" --dry-run -Werror "${present[@]}" 2>"$report" || rc=$?
mapfile -t bad < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' "$report" |
  LC_ALL=C sort -u)
if ((rc != 0 && ${#bad[@]} == 0)); then
  echo "format: FAIL: clang-format exited ${rc}:"
  head -n 20 "$report" | sed 's/^/  /'
  exit 1
fi
if ((${#bad[@]})); then
  echo "format: FAIL: ${#bad[@]} of ${#files[@]} files are not clang-format clean ($("$clang_format" --version | head -n 1)):"
  printf '  %s\n' "${bad[@]}"
  echo "format: first differences of ${bad[0]}:"
  grep -F -A3 -m 3 "${bad[0]}:" "$report" | head -n 12 | sed 's/^/  /' || true
  echo "format: fix with: clang-format -i FILE..."
  exit 1
fi
echo "format: ${#files[@]} files clean"
