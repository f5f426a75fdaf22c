#!/usr/bin/env bash
# Records the lab's real-driver captures (tests/lab/captures/driver-*.pcap): the lab's driver
# scenarios (tests/lab/drivers.sh) run, each with `mi-diag capture --write` while tsql or tedious
# logs in, and their files are kept. Each capture's answer key (NAME.key, written by hand) is
# checked against the fresh capture by the lab itself; this script then shows what the new
# captures say beside the keys, so a changed outcome is seen before it is committed.
#
#   tests/lab/make_driver_captures.sh path/to/mi-diag path/to/lab_tcp_listener [OUT_DIR]
#   (root; default OUT_DIR tests/lab/captures; LAB_ONLY=driver-tsql-* for a subset)
# Exit: run.sh's (0 only when every selected scenario passed, fresh capture matching its key).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
(($# == 2 || $# == 3)) || {
  echo "usage: $0 path/to/mi-diag path/to/lab_tcp_listener [OUT_DIR]" >&2
  exit 2
}
out=$(realpath -- "${3:-${here}/captures}")
mkdir -p -- "$out"
rc=0
LAB_ONLY=${LAB_ONLY:-driver-*} LAB_DRIVER_CAPTURES_OUT="$out" bash "${here}/run.sh" "$1" "$2" || rc=$?

# What each fresh capture gives, beside its key (run.sh left NAME.observed for each).
for observed in "$out"/driver-*.observed; do
  [[ -f "$observed" ]] || continue
  name=$(basename -- "$observed" .observed)
  key="${here}/captures/${name}.key"
  if [[ -f "$key" ]] && diff -q <(grep -E '^(verdict|codes|session):' "$key") "$observed" >/dev/null; then
    echo "${name}: $(stat -c %s "${out}/${name}.pcap") bytes, matches ${key#"${here}/"}"
  else
    echo "${name}: $(stat -c %s "${out}/${name}.pcap") bytes, DIFFERS from its key; it gives:"
    sed 's/^/    /' "$observed"
    rc=1
  fi
  rm -f -- "$observed"
done
exit "$rc"
