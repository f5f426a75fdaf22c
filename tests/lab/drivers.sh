# shellcheck shell=bash
# Capture + real driver scenarios of the lab, sourced by tests/lab/run.sh (which provides
# run_fault, fault_*, trim, normalise_codes, selected, log and the lab itself).
#
# Each scenario runs `mi-diag capture` in the client namespace -- with no credentials: no
# --user/--password option and LAB_SIM_PASSWORD removed from its environment -- while a real
# driver (FreeTDS tsql, or the Node driver tedious) logs in to a simulated instance by name, as an
# application does. The capture is stopped with SIGINT by PID and explains what it saw (--json);
# its --write file is then given to `mi-diag analyze`, which must find the same. The report is
# asserted three ways: the table's verdict / codes / exit, an assert_* function, and the answer
# key tests/lab/captures/NAME.key (verdict, codes, each session's server and state), which is
# also the key of the committed capture NAME.pcap (tests/lab/make_driver_captures.sh writes them;
# tests/unit/agent/lab_captures_test.cpp analyses the committed ones). So every lab run regenerates
# the captures with the drivers and simulator of the day and checks them against the same key.
#
#   mioff.lab0001... 10.250.2.40: gateway 1433 with encryption off (TLS around LOGIN7 only; tsql
#                    follows a redirect only there, tedious encrypt=false uses no TLS at all)
#   mi1.lab0001...   10.250.2.10: gateway 1433 with encryption on (the whole session in TLS)
#   both redirect to their own address, node port 11042.

readonly DRIVER_PASSWORD_WRONG=not-the-password
readonly DRIVER_TIMEOUT_S=40     # bound on one driver run (tedious gives up after 10 s itself)
readonly CAPTURE_BOUND_S=90      # --duration: the capture's own bound if SIGINT never came
DRIVER_CAPTURES_OUT=${LAB_DRIVER_CAPTURES_OUT:-}   # make_driver_captures.sh: keep the pcaps here

# One line per scenario; fields separated by '|', surrounding blanks ignored.
#   name | driver (tsql|tedious) | host | driver option | password (ok|wrong) | fault setup |
#   fault undo | driver logs in (yes|no) | verdict | finding codes | capture exit | assertion
# The driver option is tsql's freetds.conf "encryption" or tedious's encrypt (true|false).
readonly DRIVER_SCENARIOS=(
  "driver-tsql-redirect           | tsql    | mioff | request | ok    | - | - | yes | ok   | -                       | 0 | assert_driver_routed 10.250.2.40 11042 visible"
  "driver-tsql-redirect-dropped   | tsql    | mioff | request | ok    | fault_forward -p tcp --dport 11000:11999 -j DROP | fault_clear | no | fail | REDIRECT_PORTS_FILTERED | 1 | assert_driver_redirect_filtered 10.250.2.40 11042 visible"
  "driver-tsql-login-failed       | tsql    | mioff | request | wrong | - | - | no  | fail | LOGIN_FAILED            | 1 | assert_driver_login_failed"
  "driver-tsql-middlebox-reset    | tsql    | mioff | request | ok    | fault_reset_after_handshake | fault_clear | no | fail | TCP_RESET_BY_MIDDLEBOX | 1 | assert_driver_middlebox_reset"
  "driver-tsql-syn-rejected       | tsql    | mioff | request | ok    | fault_forward -p tcp --dport 1433 -j REJECT --reject-with tcp-reset | fault_clear | no | fail | TCP_REFUSED | 1 | assert_driver_reset_cannot_tell"
  "driver-tedious-redirect-plain  | tedious | mioff | false   | ok    | - | - | yes | ok   | -                       | 0 | assert_driver_routed 10.250.2.40 11042 visible"
  "driver-tedious-redirect-tls    | tedious | mi1   | true    | ok    | - | - | yes | ok   | -                       | 0 | assert_driver_routed 10.250.2.10 11042 hidden"
  "driver-tedious-redirect-dropped | tedious | mi1  | true    | ok    | fault_forward -p tcp --dport 11000:11999 -j DROP | fault_clear | no | fail | REDIRECT_PORTS_FILTERED | 1 | assert_driver_redirect_filtered 10.250.2.10 11042 hidden"
  "driver-tedious-login-failed    | tedious | mioff | false   | wrong | - | - | no  | fail | LOGIN_FAILED            | 1 | assert_driver_login_failed"
  "driver-tedious-middlebox-reset | tedious | mi1   | true    | ok    | fault_reset_after_handshake | fault_clear | no | fail | TCP_RESET_BY_MIDDLEBOX | 1 | assert_driver_middlebox_reset"
  "driver-tedious-syn-rejected    | tedious | mi1   | true    | ok    | fault_forward -p tcp --dport 1433 -j REJECT --reject-with tcp-reset | fault_clear | no | fail | TCP_REFUSED | 1 | assert_driver_reset_cannot_tell"
)

# A middlebox (an IPS) that lets the handshake through and resets the session at the client's
# first data (its PRELOGIN): the router answers the client with a reset in the server's name.
fault_reset_after_handshake() {
  lab_router_iptables -A FORWARD -p tcp --dport 1433 -m connbytes --connbytes 3: \
    --connbytes-dir original --connbytes-mode packets -j REJECT --reject-with tcp-reset
}

# ---------------------------------------------------------------- JSON assertions (stdin: report)

# The gateway session (PRELOGIN answered, a LOGIN7 seen) is linked to the client's next
# connection, to the routed ADDRESS:PORT. visible: the routing ENVCHANGE was read in clear;
# hidden: the login was encrypted and the link is the passive one (redirect_inferred).
assert_driver_routed() {
  jq -e --arg addr "$1" --argjson port "$2" --arg how "$3" '
    (.sessions[0] as $g | .sessions[($g.redirect_to // 0) - 1] as $n |
      $g.server == ($addr + ":1433") and $g.state == "established" and
      ($g.tds.prelogin.server_encryption | type == "string") and ($g.tds.login | type == "object") and
      (if $how == "visible" then
         $g.tds.login.routing.host == $addr and $g.tds.login.routing.port == $port and
         ($g.redirect_inferred == false)
       else $g.tds.login.outcome == "encrypted" and $g.redirect_inferred == true end) and
      $n.server == ($addr + ":" + ($port | tostring)) and $n.redirected_from == $g.index and
      $n.state == "established" and ($n.tds.login | type == "object"))' >/dev/null
}

# As assert_driver_routed, but the routed connection is the driver's own unanswered SYNs (more
# than one: it retransmitted) and REDIRECT_PORTS_FILTERED, an error, names that node.
assert_driver_redirect_filtered() {
  jq -e --arg addr "$1" --argjson port "$2" --arg how "$3" '
    (.sessions[0] as $g | .sessions[($g.redirect_to // 0) - 1] as $n |
      $g.server == ($addr + ":1433") and $g.state == "established" and
      ($g.tds.login | type == "object") and
      (if $how == "visible" then
         $g.tds.login.routing.host == $addr and $g.tds.login.routing.port == $port
       else $g.tds.login.outcome == "encrypted" and $g.redirect_inferred == true end) and
      $n.server == ($addr + ":" + ($port | tostring)) and $n.redirected_from == $g.index and
      $n.state == "filtered" and $n.syn_ack == false and $n.syn_attempts >= 2) and
    ([.findings[] | select(.code == "REDIRECT_PORTS_FILTERED")] | length == 1 and
      .[0].severity == "error" and
      (.[0].title | contains($addr + ":" + ($port | tostring))))' >/dev/null
}

# The login reached the server and was refused: error 18456 read from the packets.
assert_driver_login_failed() {
  jq -e '(.sessions[0].tds.login.error_number == 18456) and
    ([.findings[] | select(.code == "LOGIN_FAILED")][0].severity == "error")' >/dev/null
}

# The reset came from the router (TTL 64, 0 hops), not the instance (its SYN-ACK TTL 63): stated
# as fact, first, an error.
assert_driver_middlebox_reset() {
  jq -e '(.findings[0].code == "TCP_RESET_BY_MIDDLEBOX") and (.findings[0].severity == "error") and
    (.findings[0].title | test("Likely") | not) and
    (.sessions[0].rst.ttl == 64 and .sessions[0].rst.expected_ttl == 63)' >/dev/null
}

# The router refuses the SYN itself (REJECT tcp-reset): the reset is the only packet from that
# address, so the packets cannot say who sent it -- TCP_REFUSED, hedged, never called middlebox.
assert_driver_reset_cannot_tell() {
  jq -e '([.findings[] | select(.code == "TCP_RESET_BY_MIDDLEBOX")] | length == 0) and
    ([.findings[] | select(.code == "TCP_REFUSED")][0].evidence | any(test("no other packet from that address"))) and
    (.sessions | length > 0 and all(.state == "refused" and .rst.ttl == 64))' >/dev/null
}

# ---------------------------------------------------------------- answer keys

# The key lines a report gives: verdict, codes (a sorted set) and each session's server, state
# and, when it was reached by a redirect, the session it came from. Client ports are left out:
# they change with every run.
driver_key_of_report() {
  jq -r '"verdict: " + .verdict,
    "codes: " + ([.findings[].code] | unique | if length == 0 then "-" else join(",") end),
    (.sessions[] | "session: " + .server + " " + .state +
      (if .redirected_from then " from " + (.redirected_from | tostring) else "" end))'
}

driver_key_file() { grep -E '^(verdict|codes|session):' "$1"; }

# ---------------------------------------------------------------- drivers

# driver_run DRIVER HOST OPTION PASSWORD OUTPUT: the driver, in the client namespace, bounded.
driver_run() {
  local driver=$1 host="$2.${LAB_DOMAIN}" option=$3 password=$4 output=$5
  case "$driver" in
    tsql)
      local conf="${LAB_TMP}/freetds-${option}.conf"
      # Only our settings, not the machine's: the negotiation under test is the driver's own.
      printf '[global]\n\tencryption = %s\n\tconnect timeout = 4\n' "$option" >"$conf"
      printf 'select 1\ngo\nexit\n' |
        in_client env TDSVER=7.4 FREETDSCONF="$conf" "${LAB_TIMEOUT[@]}" "$DRIVER_TIMEOUT_S" \
          tsql -H "$host" -p 1433 -U sim -P "$password" >"$output" 2>&1
      ;;
    tedious)
      in_client "${LAB_TIMEOUT[@]}" "$DRIVER_TIMEOUT_S" node "${LAB_DIR}/../clients/tedious_login.js" \
        1433 "$option" sim "$password" "$host" >"$output" 2>&1
      ;;
    *)
      log "lab: unknown driver ${driver}"
      return 2
      ;;
  esac
}

# The driver's own word on whether it logged in and ran its query.
driver_logged_in() {
  case "$1" in
    tsql) grep -q '(1 row affected)' "$2" ;;
    tedious) grep -q '"ok":true' "$2" ;;
  esac
}

# What the lab needs for these scenarios beyond run.sh's tools; prints what is missing.
driver_missing_prerequisites() {
  local missing
  missing=$(lab_missing_tools tsql node)
  [[ -f "${LAB_DIR}/../clients/node_modules/tedious/package.json" ]] ||
    missing+="${missing:+ }tedious (cd tests/clients && npm ci)"
  printf '%s' "$missing"
}

# The process holds no credential: none on its command line, none in its environment.
driver_capture_has_no_credentials() {
  local pid=$1 cmdline environ
  cmdline=$(tr '\0' ' ' <"/proc/${pid}/cmdline") || return 1
  environ=$(tr '\0' '\n' <"/proc/${pid}/environ") || return 1
  [[ "$cmdline" == *" capture "* && "$cmdline" != *--user* && "$cmdline" != *--password* &&
    "$cmdline" != *"$LAB_SIM_PASSWORD"* && "$environ" != *"$LAB_SIM_PASSWORD"* ]]
}

# Every scenario starts with no connection between client and instance: a half-open one (the
# server's side of a connection the middlebox reset only towards the client) would close during
# the next capture and show there. Aborted on both sides (after the capture has stopped).
driver_abort_connections() {
  in_instance ss -K -t dst 10.250.1.2 >/dev/null 2>&1 || true
  in_client ss -K -t dst 10.250.2.0/24 >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- one scenario

driver_fail() { # driver_fail NAME WHY DIR: prints everything the scenario left
  local name=$1 why=$2 dir=$3 f
  echo "lab: ${name}: FAIL (${why})"
  for f in "$dir"/*; do
    [[ -f "$f" && "$f" != *.pcap ]] || continue
    echo "  --- ${f##*/}"
    { jq . "$f" 2>/dev/null || cat -- "$f"; } | sed -n '1,150s/^/    /p'
  done
  FAILED=$((FAILED + 1))
}

# The findings and sessions of a report, without what differs between a live capture and its
# file by nature (the input's name, durations, timestamps).
driver_comparable() {
  jq -S '{verdict, findings: [.findings[] | {code, severity, title}],
    sessions: [.sessions[] | del(.start, .duration_ms, .timing)]}'
}

# run_driver_scenario "TABLE LINE"
run_driver_scenario() {
  local name driver host option password setup undo want_login want_verdict want_codes want_exit
  local assertion
  IFS='|' read -r name driver host option password setup undo want_login want_verdict want_codes \
    want_exit assertion <<<"$1"
  name=$(trim "$name")
  selected "$name" || return 0
  driver=$(trim "$driver")
  host=$(trim "$host")
  option=$(trim "$option")
  want_login=$(trim "$want_login")
  want_verdict=$(trim "$want_verdict")
  want_codes=$(normalise_codes "$(trim "$want_codes")")
  want_exit=$(trim "$want_exit")
  assertion=$(trim "$assertion")
  [[ "$(trim "$password")" == ok ]] && password=$LAB_SIM_PASSWORD || password=$DRIVER_PASSWORD_WRONG

  local dir="${LAB_TMP}/${name}"
  mkdir -p "$dir"
  local pcap="${dir}/${name}.pcap" live="${dir}/capture.json" file_report="${dir}/analyze.json"
  local -a problems=()

  run_fault "$setup"
  # The capture: in the background (its PID, since `ip netns exec` execs mi-diag), no
  # credentials, bounded by --duration in case the SIGINT below never reaches it.
  lab_defer_signals
  env -u LAB_SIM_PASSWORD ip netns exec "$LAB_NS_CLIENT" "$MIDIAG" capture --host "${host}.${LAB_DOMAIN}" \
    --duration "$CAPTURE_BOUND_S" --json --write "$pcap" >"$live" 2>"${dir}/capture.stderr" &
  local pid=$!
  LAB_PIDS+=("$pid")
  lab_allow_signals
  if ! lab_poll "capture ready" grep -q 'capturing on' "${dir}/capture.stderr"; then
    problems+=("the capture did not start")
  fi
  if lab_process_gone "$pid"; then
    problems+=("the capture exited before the driver ran")
  elif ! driver_capture_has_no_credentials "$pid"; then
    problems+=("the capture was given a credential")
  fi
  local driver_rc=0
  driver_run "$driver" "$host" "$option" "$password" "${dir}/driver.out" || driver_rc=$?
  # The driver is done: its packets are on the wire. SIGINT ends the capture, which explains.
  kill -INT "$pid" 2>/dev/null || true
  local capture_rc=0
  if lab_poll "capture ${pid} to exit" lab_process_gone "$pid"; then
    wait "$pid" || capture_rc=$?
  else
    problems+=("the capture did not stop at SIGINT")
    lab_stop_process "$pid"
    capture_rc=-1
  fi
  # Reaped: off the teardown list, so a later process given the same PID is never signalled.
  local -a kept_pids=()
  local p
  for p in "${LAB_PIDS[@]}"; do [[ "$p" == "$pid" ]] || kept_pids+=("$p"); done
  LAB_PIDS=("${kept_pids[@]}")
  run_fault "$undo"
  lab_clear_faults
  driver_abort_connections

  grep -q 'interrupted, explaining' "${dir}/capture.stderr" ||
    problems+=("capture did not say it was interrupted")
  local logged_in=no
  driver_logged_in "$driver" "${dir}/driver.out" && logged_in=yes
  [[ "$logged_in" == "$want_login" ]] ||
    problems+=("driver logged in: ${logged_in} (exit ${driver_rc}), expected ${want_login}")

  local verdict codes
  verdict=$(jq -er '.verdict | strings' "$live" 2>/dev/null) || verdict="(no JSON report)"
  codes=$(normalise_codes "$(jq -r '[.findings[].code] | join(",")' "$live" 2>/dev/null || echo '?')")
  [[ "$verdict" == "$want_verdict" && "$codes" == "$want_codes" && "$capture_rc" == "$want_exit" ]] ||
    problems+=("capture: verdict=${verdict} codes={${codes:--}} exit=${capture_rc}; expected verdict=${want_verdict} codes={${want_codes:--}} exit=${want_exit}")
  if [[ -n "$assertion" && "$assertion" != "-" ]]; then
    local -a acmd
    read -r -a acmd <<<"$assertion"
    if [[ "${acmd[0]}" != assert_* ]] || ! declare -F "${acmd[0]}" >/dev/null ||
      ! "${acmd[@]}" <"$live"; then
      problems+=("assertion failed on the live capture: ${assertion}")
    fi
  fi
  grep -qF -- "$LAB_SIM_PASSWORD" "$live" && problems+=("the report holds the password")

  # The written file, analysed afterwards, says the same as the live capture.
  local analyze_rc=0
  "$MIDIAG" analyze --json "$pcap" >"$file_report" 2>"${dir}/analyze.stderr" || analyze_rc=$?
  if ! diff <(driver_comparable <"$live") <(driver_comparable <"$file_report") \
    >"${dir}/live-vs-file.diff" 2>&1; then
    problems+=("analyze of the --write file differs from the live capture (live-vs-file.diff)")
  fi
  [[ "$analyze_rc" == "$want_exit" ]] || problems+=("analyze exit ${analyze_rc}")
  if [[ "${LAB_SANITIZED:-0}" == 1 ]] &&
    grep -Eq "$SANITIZER_REPORT" "${dir}/capture.stderr" "${dir}/analyze.stderr"; then
    problems+=("a sanitizer report in capture.stderr or analyze.stderr")
  fi

  # The answer key of the committed capture holds for this fresh one too.
  local key="${LAB_DIR}/captures/${name}.key"
  if [[ ! -f "$key" ]]; then
    problems+=("no answer key ${key#"${LAB_DIR}/"}")
  elif ! diff <(driver_key_file "$key") <(driver_key_of_report <"$file_report") \
    >"${dir}/key.diff" 2>&1; then
    problems+=("the fresh capture does not match its answer key (key.diff)")
  fi
  driver_key_of_report <"$file_report" >"${dir}/observed.key" 2>/dev/null || true
  if [[ -n "$DRIVER_CAPTURES_OUT" ]]; then
    cp -- "$pcap" "${DRIVER_CAPTURES_OUT}/${name}.pcap"
    cp -- "${dir}/observed.key" "${DRIVER_CAPTURES_OUT}/${name}.observed"
  fi

  local bytes got
  bytes=$(stat -c %s "$pcap" 2>/dev/null || echo 0)
  got="driver ${driver} logged in: ${logged_in}; verdict=${verdict} codes={${codes:--}} exit=${capture_rc}; ${bytes} bytes captured"
  if ((${#problems[@]} == 0)); then
    echo "lab: ${name}: PASS (${got})"
    PASSED=$((PASSED + 1))
  else
    driver_fail "$name" "$(printf '%s; ' "${problems[@]}")" "$dir"
  fi
}

# Runs the selected driver scenarios; outside CI a missing driver skips them (said), in CI it
# fails the run.
run_driver_scenarios() {
  local line any=0 missing
  for line in "${DRIVER_SCENARIOS[@]}"; do
    selected "$(trim "${line%%|*}")" && any=1
  done
  ((any)) || return 0
  missing=$(driver_missing_prerequisites)
  if [[ -n "$missing" ]]; then
    if [[ "${CI:-}" == "true" ]]; then
      echo "lab: driver scenarios: FAIL (missing: ${missing}; CI=true: they must run)"
      FAILED=$((FAILED + 1))
    else
      echo "lab: driver scenarios: skipped (missing: ${missing})"
    fi
    return 0
  fi
  for line in "${DRIVER_SCENARIOS[@]}"; do
    run_driver_scenario "$line"
  done
}
