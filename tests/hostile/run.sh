#!/usr/bin/env bash
# Hostile servers and hostile input against a real mi-diag binary, on loopback addresses only.
#
# Each case starts `mi-diag simulate` with one misbehaviour (a server that lies, breaks protocol
# or tries to take a password), runs `mi-diag check` against it as a user would, and asserts on
# what was observed: the report, the exit code, and what reached the server (the simulator's
# own count of LOGIN7 messages). These are the findings of issue 7, one case each.
#
#   tests/hostile/run.sh MIDIAG [SIMULATOR]
#     MIDIAG      the binary under test (a release or an ASan+UBSan build, or an older build)
#     SIMULATOR   the binary whose `simulate` serves the hostile instance (default MIDIAG)
#   HOSTILE_ONLY=name,name   run a subset
#
# A sanitizer report on any stderr fails its case. Names resolve through a hosts file and a
# resolv.conf written here: the host's resolver is never asked. Every wait is bounded.
# Exit: 0 every case passed; 1 a case failed; 2 bad usage.
set -uo pipefail

MIDIAG=${1:-}
SIM=${2:-$MIDIAG}
if [[ -z "$MIDIAG" || ! -x "$MIDIAG" || ! -x "$SIM" ]]; then
  echo "usage: $0 MIDIAG [SIMULATOR]  (executables)" >&2
  exit 2
fi
command -v jq >/dev/null || {
  echo "hostile: jq is missing (tests/setup.sh installs it)" >&2
  exit 2
}
MIDIAG=$(realpath "$MIDIAG")
SIM=$(realpath "$SIM")

T=$(mktemp -d "${TMPDIR:-/tmp}/midiag-hostile.XXXXXX")
SIM_PID=""
cleanup() {
  [[ -n "$SIM_PID" ]] && kill -TERM "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  [[ -n "${HOSTILE_KEEP:-}" ]] && cp "$T/out" "$T/err" /tmp/ 2>/dev/null; rm -rf -- "$T"
}
trap cleanup EXIT

readonly NAME=mi1.sim0001.database.windows.net
readonly SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'
: >"$T/hosts" # no overrides: names resolve through the simulator's DNS on port 53
export HOSTILE_PW=sim-password
if ((EUID != 0)); then
  # Its own network namespace, and port 53 there: resolv.conf names no port.
  echo "hostile: needs root (a network namespace of its own, ports 53 and 1433 in it)"
  [[ "${CI:-}" == true ]] && exit 1
  exit 77
fi
# Everything runs in a network namespace of our own: its loopback, its firewall rules (one case
# drops a port range), ports 53 and 1433 free whatever this host runs. Removed on exit.
if [[ -z "${HOSTILE_IN_NETNS:-}" ]]; then
  NS=midiag-hostile-$$
  ip netns add "$NS" || exit 1
  trap 'ip netns del "$NS" 2>/dev/null; rm -rf -- "$T"' EXIT
  ip -n "$NS" link set lo up
  HOSTILE_IN_NETNS=1 ip netns exec "$NS" bash "${BASH_SOURCE[0]}" "$MIDIAG" "$SIM"
  exit $?
fi

# ------------------------------------------------------------------ simulator and check

# sim_start ARGS...: serves the instance on its own loopback address 127.0.77.N, gateway on 1433
# and DNS on 53 like the real thing (so no noise findings about ports or resolvers); writes the
# resolv.conf that points at it. Sets ADDR.
SIM_N=0
sim_start() {
  SIM_N=$((SIM_N + 1))
  ADDR=127.0.77.${SIM_N}
  printf 'nameserver %s\n' "$ADDR" >"$T/resolv.conf"
  "$SIM" simulate --bind "$ADDR" --gateway-port 1433 --dns-port 53 --ca-out "$T/ca.pem" \
    --max-seconds 120 "$@" >"$T/sim.out" 2>&1 &
  SIM_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do # up to 10 s for the listeners
    grep -q '^ready' "$T/sim.out" 2>/dev/null && break
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.05
  done
  grep -q '^ready' "$T/sim.out" || {
    WHY="simulator did not start: $(head -c 300 "$T/sim.out")"
    return 1
  }
}

# sim_stop: stops it and reads what reached it (CONNECTIONS, LOGIN7S, LOGINS_OK).
sim_stop() {
  kill -TERM "$SIM_PID" 2>/dev/null
  wait "$SIM_PID" 2>/dev/null
  SIM_PID=""
  local line
  line=$(grep '^stopped' "$T/sim.out")
  CONNECTIONS=$(sed -n 's/.* connections=\([0-9]*\).*/\1/p' <<<"$line")
  LOGIN7S=$(($(sed -n 's/.*gateway_login7s=\([0-9]*\).*/\1/p' <<<"$line") + $(sed -n 's/.*node_login7s=\([0-9]*\).*/\1/p' <<<"$line")))
  LOGINS_OK=$(($(sed -n 's/.*gateway_logins_ok=\([0-9]*\).*/\1/p' <<<"$line") + $(sed -n 's/.*node_logins_ok=\([0-9]*\).*/\1/p' <<<"$line")))
  if grep -qE "$SANITIZER_REPORT" "$T/sim.out"; then
    SANITIZER="simulator: $(grep -m1 -E "$SANITIZER_REPORT" "$T/sim.out")"
  fi
}

# check [ulimit-n] TARGET ARGS...: runs the check (bounded to 60 s); sets RC, OUT, ERR.
check() {
  local limit=""
  if [[ "$1" == ulimit-n=* ]]; then
    limit=${1#ulimit-n=}
    shift
  fi
  local target=$1
  shift
  (
    [[ -n "$limit" ]] && ulimit -n "$limit"
    exec timeout 60 "$MIDIAG" check "$target" --timeout-ms "${TIMEOUT_MS:-2000}" --hosts-file "$T/hosts" \
      --resolv-conf "${RESOLV:-$T/resolv.conf}" "$@"
  ) >"$T/out" 2>"$T/err" </dev/null
  RC=$?
  OUT=$(cat "$T/out")
  if grep -qE "$SANITIZER_REPORT" "$T/err"; then
    SANITIZER="check: $(grep -m1 -E "$SANITIZER_REPORT" "$T/err")"
  fi
}

readonly CREDS=(--user sim --password-env HOSTILE_PW)
trusted() { printf '%s\n' --ca-file "$T/ca.pem"; }
codes() { jq -r '[.findings[].code] | join(",")' <<<"$OUT" 2>/dev/null; }
has_code() { jq -e --arg c "$1" 'any(.findings[]; .code == $c)' <<<"$OUT" >/dev/null 2>&1; }
verdict() { jq -r '.verdict' <<<"$OUT" 2>/dev/null; }
# Probes made toward the redirect target: its rows plus the summarised sweeps.
redirect_probes() {
  jq '([.redirect.tcp[]?] | length) + ([.redirect.tcp_sweeps[]? |
        .open + .refused + .filtered + .unreachable + .no_route + (.not_probed // 0)] | add // 0)' \
    <<<"$OUT" 2>/dev/null
}
# markdown_prose: the Markdown with fenced blocks and code spans removed (CommonMark: a fence
# closes on a line of at least as many of its characters; a span on a run of the same length).
# What is left is what a renderer would treat as markup.
markdown_prose() {
  awk '
    function strip_spans(line,    out, i, n, m, j, k, run) {
      out = ""
      while ((i = index(line, "`")) > 0) {
        out = out substr(line, 1, i - 1)
        line = substr(line, i)
        match(line, /^`+/)
        n = RLENGTH
        run = substr(line, 1, n)
        rest = substr(line, n + 1)
        k = 0
        for (j = 1; j <= length(rest); ) {           # the next run of exactly n backticks
          if (substr(rest, j, 1) == "`") {
            m = match(substr(rest, j), /^`+/) ? RLENGTH : 0
            if (m == n) { k = j; break }
            j += m
          } else j++
        }
        if (k == 0) { out = out run; line = rest; continue }  # no closer: literal backticks
        line = substr(rest, k + n)
      }
      return out line
    }
    fence == "" && match($0, /^ ? ? ?(```+|~~~+)/) {
      fence = substr($0, RSTART, RLENGTH); sub(/^ +/, "", fence); next
    }
    fence != "" {
      if (match($0, /^ ? ? ?(```+|~~~+) *$/)) {
        close_run = $0; gsub(/ /, "", close_run)
        if (substr(close_run, 1, 1) == substr(fence, 1, 1) && length(close_run) >= length(fence)) fence = ""
      }
      next
    }
    { print strip_spans($0) }
  '
}
has_esc() { LC_ALL=C grep -q $'\x1b' "$T/out"; }

# ------------------------------------------------------------------ the cases
# Each case_* sets WHY (what was observed) and returns 0 when the behaviour is right.

# Item 1: real credentials only to a verified server.
case_untrusted_certificate_gets_no_password() {
  sim_start || return 1
  check "$NAME" --json "${CREDS[@]}" # the simulator's CA is in no system store
  sim_stop
  WHY="LOGIN7s at the server: ${LOGIN7S}; findings: $(codes)"
  ((LOGIN7S == 0)) && has_code TLS_CERT_UNTRUSTED
}
case_foreign_certificate_gets_no_password() {
  sim_start --cert-name '*.other0002.database.windows.net' || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="LOGIN7s at the server: ${LOGIN7S}; findings: $(codes)"
  ((LOGIN7S == 0)) && has_code TLS_CERT_NAME_MISMATCH && ! has_code CONNECTION_PATH
}
case_no_tls_offered_gets_no_password() {
  sim_start --encryption not_sup || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="LOGIN7s at the server (XOR-obfuscated only): ${LOGIN7S}; findings: $(codes)"
  ((LOGIN7S == 0)) && has_code TLS_NOT_OFFERED
}
case_redirect_to_a_foreign_address_is_not_swept() {
  sim_start --routed-host 127.0.76.2 --routed-port 11123 || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted) --classify-as 127.0.76.2/32=public
  sim_stop
  WHY="probes toward the routed host 127.0.76.2 (classified public): $(redirect_probes)"
  [[ "$(redirect_probes)" == 1 ]]
}

# Item 2: no false "ok" from broken redirects and login answers.
case_routing_to_port_zero_is_unreachable() {
  sim_start --routed-port 0 || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}, verdict $(verdict); findings: $(codes)"
  has_code REDIRECT_TARGET_UNREACHABLE && [[ "$(verdict)" != ok ]]
}
case_a_node_that_routes_again_is_a_loop() {
  sim_start --node-routes-again || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}, verdict $(verdict); findings: $(codes)"
  has_code REDIRECT_LOOP && [[ "$(verdict)" == fail ]]
}
case_an_empty_login_answer_is_not_ok() {
  sim_start --login-answer empty || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}, verdict $(verdict); findings: $(codes)"
  has_code LOGIN_FAILED && [[ "$(verdict)" == fail ]]
}
case_a_done_only_login_answer_is_not_ok() {
  sim_start --login-answer done-only || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}, verdict $(verdict); findings: $(codes)"
  has_code LOGIN_FAILED && [[ "$(verdict)" == fail ]]
}
case_a_sweep_under_an_fd_limit_of_64_is_never_ok() {
  # The node answers on 11042; the rest of the range drops SYNs, so every probe holds its
  # socket until the timeout: 64 descriptors cannot hold the sweep at once.
  sim_start --node-port 11042 || return 1
  iptables -A OUTPUT -p tcp -d "$ADDR" --dport 11042 -j ACCEPT
  iptables -A OUTPUT -p tcp -d "$ADDR" --dport 11000:11999 -j DROP
  TIMEOUT_MS=500 check ulimit-n=64 "$NAME" --json "${CREDS[@]}" $(trusted)
  iptables -F OUTPUT
  sim_stop
  local state not_probed
  state=$(jq -r '.redirect.state' <<<"$OUT" 2>/dev/null)
  not_probed=$(jq '[.redirect.tcp_sweeps[]?.not_probed // 0] | add // 0' <<<"$OUT" 2>/dev/null)
  WHY="exit ${RC}, verdict $(verdict); redirect state ${state}; probes $(redirect_probes) of 1000, ${not_probed} not probed; findings: $(codes)"
  # Every port is accounted for, and what could not be probed is said, never read as health.
  [[ "$(redirect_probes)" == 1000 && "$(verdict)" != ok ]] &&
    { ((not_probed == 0)) || has_code CHECK_INCOMPLETE; }
}

# Item 3: with dummy credentials only 18456 proves the path.
case_dummy_login_answered_40532_is_not_healthy() {
  sim_start --login-error 40532 \
    --login-error-message 'Cannot open server "mi1" requested by the login. The login failed.' || return 1
  check "$NAME" --json $(trusted)
  sim_stop
  WHY="exit ${RC}, verdict $(verdict); findings: $(codes)"
  has_code LOGIN_FAILED && [[ "$(verdict)" == fail ]]
}

# Item 4: bytes that are not UTF-8 never cost the JSON report.
case_non_utf8_prelogin_instance_keeps_the_json() {
  sim_start --prelogin-instance-hex ff41ff00 || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}; stdout $(wc -c <"$T/out") bytes; $(head -c 200 "$T/err")"
  ((RC != 3)) && jq -e '.verdict' <<<"$OUT" >/dev/null 2>&1
}
case_non_utf8_certificate_name_keeps_the_json() {
  sim_start --extra-cert-name $'\xff\xfe.sim0001.database.windows.net' || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}; stdout $(wc -c <"$T/out") bytes; $(head -c 200 "$T/err")"
  ((RC != 3)) && jq -e '.verdict' <<<"$OUT" >/dev/null 2>&1
}

# Item 5: no server text reaches the terminal or a ticket raw.
case_escape_sequences_in_a_routing_host_stay_out_of_the_terminal() {
  sim_start --routed-host $'\e[2J\e]0;owned\a\e[32mOK: connection path healthy\e[0m' || return 1
  check "$NAME" -v "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}; raw ESC bytes in the text report: $(LC_ALL=C grep -c $'\x1b' "$T/out")"
  ! has_esc && ((RC != 3))
}
case_escape_sequences_in_a_login_error_stay_out_of_the_terminal() {
  sim_start --password other-password --login-error-message $'\e[2J\e[32mOK\e[0m login accepted' || return 1
  check "$NAME" -v "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="exit ${RC}; raw ESC bytes in the text report: $(LC_ALL=C grep -c $'\x1b' "$T/out")"
  ! has_esc && ((RC != 3))
}
case_escape_sequences_in_a_certificate_name_stay_out_of_the_terminal() {
  # A name that does not match, so the report lists the certificate's names.
  sim_start --cert-name $'\e[2J\e]0;owned\a\e[32mmi1.sim0001.database.windows.net' || return 1
  check "$NAME" -v $(trusted)
  sim_stop
  WHY="exit ${RC}; raw ESC bytes in the text report: $(LC_ALL=C grep -c $'\x1b' "$T/out")"
  ! has_esc && ((RC != 3))
}
case_markup_in_a_routing_host_stays_out_of_a_ticket() {
  sim_start --routed-host $'x`` </details><script>alert(1)</script>\n| forged | row |\n```' || return 1
  check "$NAME" --format markdown "${CREDS[@]}" $(trusted)
  sim_stop
  local raw opened closed
  raw=$(markdown_prose <"$T/out" | grep -c -e '<script>' -e '^| forged')
  opened=$(markdown_prose <"$T/out" | grep -c '<details>')
  closed=$(markdown_prose <"$T/out" | grep -c '</details>')
  WHY="exit ${RC}; raw <script> or forged rows outside code: ${raw}; <details> ${opened}, </details> ${closed}"
  ((raw == 0 && opened == closed && RC != 3))
}

# Item 6: ENCRYPT_OFF answered to a client that asked ON is a fully encrypted session.
case_encrypt_off_answer_is_a_fully_encrypted_session() {
  sim_start --encryption off --proxy || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  WHY="logins accepted by the server: ${LOGINS_OK}; findings: $(codes)"
  ((LOGINS_OK == 1)) && has_code CONNECTION_PATH && ! has_code LOGIN_FAILED
}

# Item 7: an unusable --ca-file is bad input: exit 2 before any traffic.
case_unusable_ca_files_are_exit_2_before_any_traffic() {
  mkdir -p "$T/cadir"
  printf 'not a certificate\n' >"$T/garbage.pem"
  local ca rcs=""
  for ca in /dev/null "$T/cadir" "$T/garbage.pem"; do
    sim_start || return 1
    check "$NAME" --json "${CREDS[@]}" --ca-file "$ca"
    sim_stop
    rcs+="${ca##*/}: exit ${RC}, ${CONNECTIONS} connections; "
    ((RC == 2 && CONNECTIONS == 0)) || {
      WHY=$rcs
      return 1
    }
  done
  WHY=$rcs
}

# Item 8: a scoped nameserver is skipped with a limitation, not blamed on the DNS servers.
case_a_scoped_nameserver_does_not_break_the_others() {
  sim_start || return 1
  printf 'nameserver fe80::1%%eth0\nnameserver %s\n' "$ADDR" >"$T/scoped.conf"
  RESOLV="$T/scoped.conf" check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  local servers
  servers=$(jq -c '.dns.system_servers' <<<"$OUT" 2>/dev/null)
  WHY="exit ${RC}; system servers ${servers}; findings: $(codes)"
  ! has_code DNS_SERVER_FAILURE && [[ "$servers" == "[\"${ADDR}\"]" ]] && has_code CONNECTION_PATH
}

# Item 9: a whole range answering RST is not "only this port is blocked".
case_a_whole_range_of_resets_is_not_only_this_port() {
  sim_start --routed-port 11500 || return 1
  check "$NAME" --json "${CREDS[@]}" $(trusted)
  sim_stop
  local said
  said=$(jq -r '.findings[] | select(.code == "REDIRECT_PORTS_FILTERED") | .title + " " + .detail' <<<"$OUT" 2>/dev/null)
  WHY="REDIRECT_PORTS_FILTERED says: ${said:0:160}"
  [[ -n "$said" && "$said" != *"the rest of the range answers"* ]]
}

# Item 11: input is read whole or refused; never cut silently, never a hang, never 500k probes.
case_a_fifo_resolv_conf_is_exit_2_promptly() {
  mkfifo "$T/fifo"
  RESOLV="$T/fifo" check "$NAME:1" --json --no-login
  WHY="exit ${RC} (124 = still blocked after 60 s)"
  ((RC == 2))
}
case_an_oversized_resolv_conf_is_refused() {
  head -c $((100 << 20)) /dev/zero | tr '\0' '#' >"$T/big.conf"
  printf '\nnameserver 127.0.0.1\n' >>"$T/big.conf"
  RESOLV="$T/big.conf" check "$NAME:1" --json --no-login
  rm -f "$T/big.conf"
  WHY="exit ${RC}; $(head -c 160 "$T/err")"
  ((RC == 2))
}
case_a_hosts_override_past_64_mib_is_not_missed() {
  {
    head -c $((65 << 20)) /dev/zero | tr '\0' '#'
    printf '\n127.0.0.1 %s\n' "$NAME"
  } >"$T/bighosts"
  (exec timeout 60 "$MIDIAG" check "$NAME:1" --json --no-login --timeout-ms 300 \
    --hosts-file "$T/bighosts" --resolv-conf "$T/resolv.conf") >"$T/out" 2>"$T/err" </dev/null
  RC=$?
  OUT=$(cat "$T/out")
  rm -f "$T/bighosts"
  local seen
  seen=$(jq '[.dns.hosts_entries[]?] | length' <<<"$OUT" 2>/dev/null)
  WHY="exit ${RC}; hosts entries seen: ${seen:-none}; $(head -c 120 "$T/err")"
  ((RC == 2)) || [[ "${seen:-0}" -ge 1 ]]
}
case_a_probe_count_past_the_maximum_is_exit_2() {
  check "127.0.0.1" --json --no-login --ports 1-65535
  WHY="exit ${RC}; $(head -c 160 "$T/err")"
  ((RC == 2))
}

# ------------------------------------------------------------------ run

mapfile -t CASES < <(declare -F | sed -n 's/^declare -f case_//p')
passed=0
failed=0
for c in "${CASES[@]}"; do
  if [[ -n "${HOSTILE_ONLY:-}" && ",${HOSTILE_ONLY}," != *",${c},"* ]]; then continue; fi
  WHY=""
  SANITIZER=""
  if "case_$c" && [[ -z "$SANITIZER" ]]; then
    printf 'PASS  %-66s %s\n' "$c" "$WHY"
    ((passed++))
  else
    printf 'FAIL  %-66s %s %s\n' "$c" "$WHY" "$SANITIZER"
    ((failed++))
  fi
  [[ -n "$SIM_PID" ]] && sim_stop
done
echo "hostile: ${passed} passed, ${failed} failed"
((failed == 0))
