# shellcheck shell=bash
# Watch scenarios of the lab, sourced by tests/lab/run.sh (which provides selected, trim,
# fault_*, log, PASSED/FAILED, MIDIAG and the lab itself).
#
# Each scenario runs one `mi-diag watch` in the client namespace against the simulated instances
# (short interval, small fail_after/recover_after, state_dir in the scenario's temp dir), serving
# /metrics on the client namespace's own 127.0.0.1 and writing --textfile and --events, and asserts
# what it reports while the lab changes under it. Every assertion prints its own PASS/FAIL line.
#
#   watch-fault     the gateway port dropped on the router, then allowed again: a `down` event whose
#                   findings carry TCP_FILTERED, then `up`; probe_success 0 during the fault and 1
#                   after (scraped and parsed); `promtool check metrics` on scrapes and the textfile
#   watch-failover  a failover-group listener (fog1) is a CNAME to mi1 (10.250.2.10), then moves to
#                   mi2 (10.250.2.11, the other simulated instance): a `changed` event naming the
#                   CNAME target from mi1 to mi2 while healthy, no `down`
#   watch-reload    SIGHUP after adding a target: its series appear and
#                   midiag_config_last_reload_successful is 1; a bad config then: the gauge is 0,
#                   the old targets keep running; SIGTERM: exit 0 within a bound
#
# The listener's DNS: the primary dnsmasq forwards fog1 to one of two small dnsmasq in the router
# namespace (127.0.0.1#5354: CNAME to mi1, #5355: CNAME to mi2; the read-only listener
# fog1.secondary to the other one), named in its --servers-file and
# re-read at SIGHUP -- the move has no gap where the name does not resolve.

readonly WATCH_SCENARIOS=(watch-fault watch-failover watch-reload)
readonly WATCH_PORT=19797            # /metrics, on the client namespace's own loopback
readonly WATCH_INTERVAL=500ms        # per target; rounds of a healthy check take ~50 ms here
readonly WATCH_TIMEOUT=400ms         # per phase: a filtered port costs one round ~1 s
readonly WATCH_POLL_TRIES=300        # one expected change: 300 polls 50 ms apart, and 20 s at
readonly WATCH_POLL_STEP=0.05        # most whatever a poll costs (bounds, not timing assertions)
readonly WATCH_POLL_SECONDS=20
readonly WATCH_STOP_TRIES=200        # 10 s for SIGTERM to end the process (rounds in flight)
readonly WATCH_FOG_HOST="fog1.${LAB_DOMAIN}"
readonly WATCH_FOG_RO_HOST="fog1.secondary.${LAB_DOMAIN}"
readonly WATCH_FOG_PORTS=(5354 5355) # the listener's DNS when it points at mi1, at mi2

WATCH_NAME=""     # the scenario running
WATCH_DIR=""      # its directory: config, events, textfile, scrapes, stderr
WATCH_PID=""      # its watch process
WATCH_EXIT=""     # the watch process's exit status once stopped
WATCH_BAD=0       # an assertion of this scenario failed: show what it left
WATCH_PROMTOOL="" # promtool's path, or empty
WATCH_DNS_PIDS=() # the listener's dnsmasq processes

# ---------------------------------------------------------------- assertions

# watch_require WHAT CMD...: one PASS/FAIL line; CMD's own output is kept out of it. False when
# it failed (callers: `watch_require ... || return 0` when the rest depends on it).
watch_require() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    echo "lab: ${WATCH_NAME}: ${what}: PASS"
    PASSED=$((PASSED + 1))
    return 0
  fi
  echo "lab: ${WATCH_NAME}: ${what}: FAIL"
  FAILED=$((FAILED + 1))
  WATCH_BAD=1
  return 1
}

# watch_assert WHAT CMD...: as watch_require, and the scenario goes on either way (set -e).
watch_assert() { watch_require "$@" || true; }

# Microseconds since the epoch (bash's own clock: no process per poll).
watch_now_us() { local t=${EPOCHREALTIME/[.,]/}; printf '%s' "$t"; }

# watch_until CMD...: retry CMD until it succeeds: WATCH_POLL_TRIES times and WATCH_POLL_SECONDS
# at most, whichever comes first (a slow CMD, e.g. a scrape on a loaded machine, ends it early).
watch_until() {
  local i deadline=$(($(watch_now_us) + WATCH_POLL_SECONDS * 1000000))
  for ((i = 0; i < WATCH_POLL_TRIES; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    (($(watch_now_us) < deadline)) || return 1
    sleep "$WATCH_POLL_STEP"
  done
  return 1
}

# ---------------------------------------------------------------- config

# watch_target NAME HOST [MODE]: one target with the simulators' login and CA.
watch_target() {
  printf '  - name: %s\n    host: %s\n    mode: %s\n' "$1" "$2" "${3:-client}"
  printf '    ca_file: %s\n    user: sim\n    password_env: LAB_SIM_PASSWORD\n' "${LAB_TMP}/ca.pem"
  printf '    fail_after: 2\n    recover_after: 1\n'
}

# watch_config TARGET_YAML...: the whole config (each TARGET_YAML a target's lines, without the
# final newline, as $(watch_target ...) gives them), written to a temp name and renamed (a SIGHUP
# never reads half a file).
watch_config() {
  {
    printf 'interval: %s\ntimeout: %s\nstate_dir: %s\ntargets:\n' "$WATCH_INTERVAL" \
      "$WATCH_TIMEOUT" "${WATCH_DIR}/state"
    printf '%s\n' "$@"
  } >"${WATCH_DIR}/watch.yaml.tmp"
  mv -f -- "${WATCH_DIR}/watch.yaml.tmp" "${WATCH_DIR}/watch.yaml"
}

# ---------------------------------------------------------------- the watch process

watch_start() {
  lab_defer_signals
  ip netns exec "$LAB_NS_CLIENT" "$MIDIAG" watch --config "${WATCH_DIR}/watch.yaml" \
    --metrics-listen "127.0.0.1:${WATCH_PORT}" --textfile "${WATCH_DIR}/metrics.prom" \
    --events "${WATCH_DIR}/events.jsonl" >"${WATCH_DIR}/stdout" 2>"${WATCH_DIR}/stderr" &
  WATCH_PID=$!
  LAB_PIDS+=("$WATCH_PID")
  lab_allow_signals
}

# Forgets PID from the teardown list (reaped: a later process with that PID is never signalled).
watch_forget_pid() {
  local -a kept=()
  local p
  for p in "${LAB_PIDS[@]}"; do [[ "$p" == "$1" ]] || kept+=("$p"); done
  LAB_PIDS=("${kept[@]}")
}

# SIGTERM, then a bounded wait for the exit; true when it exited 0 within the bound.
watch_stop() {
  local i
  WATCH_EXIT=-1
  [[ -n "$WATCH_PID" ]] || return 1
  kill -TERM "$WATCH_PID" 2>/dev/null || true
  for ((i = 0; i < WATCH_STOP_TRIES; i++)); do
    lab_process_gone "$WATCH_PID" && break
    sleep "$WATCH_POLL_STEP"
  done
  if lab_process_gone "$WATCH_PID"; then
    WATCH_EXIT=0
    wait "$WATCH_PID" || WATCH_EXIT=$?
  else
    lab_stop_process "$WATCH_PID" # SIGKILL after its own bound
    WATCH_EXIT="still running after ${WATCH_STOP_TRIES} polls"
  fi
  watch_forget_pid "$WATCH_PID"
  WATCH_PID=""
  [[ "$WATCH_EXIT" == 0 ]]
}

# ---------------------------------------------------------------- metrics

# Runs inside the client namespace (via declare -f): GET /metrics from 127.0.0.1:$1, the raw
# response on stdout (the server closes the connection).
watch_http_get_here() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  cat <&3
}

# watch_scrape OUT: the body into OUT (and OUT.headers); true for a 200 with the Prometheus text
# format's Content-Type.
watch_scrape() {
  local out=$1 raw="$1.raw"
  in_client "${LAB_TIMEOUT[@]}" 3 bash -c \
    "$(declare -f watch_http_get_here); watch_http_get_here \"\$@\"" _ "$WATCH_PORT" >"$raw" ||
    return 1
  sed -n '1,/^\r$/p' "$raw" >"${out}.headers"
  sed '1,/^\r$/d' "$raw" >"$out"
  head -n 1 "${out}.headers" | grep -q '^HTTP/1\.[01] 200 ' &&
    grep -qi '^Content-Type: text/plain; version=0\.0\.4' "${out}.headers"
}

# watch_value FILE SERIES: the value of one series, written exactly as the encoder writes it
# (name{label="v",...}); false when absent.
watch_value() {
  awk -v s="$2" '$1 == s { print $2; found = 1; exit } END { exit !found }' "$1"
}

# watch_series_is SERIES VALUE: a fresh scrape has SERIES equal to VALUE.
watch_series_is() {
  local scrape="${WATCH_DIR}/scrape" v
  watch_scrape "$scrape" || return 1
  v=$(watch_value "$scrape" "$1") || return 1
  [[ "$v" == "$2" ]]
}

# watch_series_at_least SERIES N: a fresh scrape has SERIES, a whole number, at least N.
watch_series_at_least() {
  local scrape="${WATCH_DIR}/scrape" v
  watch_scrape "$scrape" || return 1
  v=$(watch_value "$scrape" "$1") || return 1
  [[ "$v" =~ ^[0-9]+$ ]] && ((v >= $2))
}

# watch_promtool_accepts FILE: `promtool check metrics` exits 0 on it (lint included).
watch_promtool_accepts() {
  [[ -n "$WATCH_PROMTOOL" && -s "$1" ]] || return 1
  "$WATCH_PROMTOOL" check metrics <"$1" >"$1.promtool" 2>&1
}

# watch_assert_promtool WHAT FILE: as watch_assert; without promtool a skip outside CI, a
# failure under CI=true.
watch_assert_promtool() {
  if [[ -z "$WATCH_PROMTOOL" ]]; then
    if [[ "${CI:-}" == "true" ]]; then
      echo "lab: ${WATCH_NAME}: $1: FAIL (promtool missing; tests/setup.sh installs it; CI=true)"
      FAILED=$((FAILED + 1))
      WATCH_BAD=1
    else
      echo "lab: ${WATCH_NAME}: $1: skipped (promtool missing; tests/setup.sh installs it)"
    fi
    return 0
  fi
  local keep="${2}.checked.$((PASSED + FAILED))"
  cp -- "$2" "$keep" 2>/dev/null || true
  watch_assert "$1" watch_promtool_accepts "$keep"
}

watch_find_promtool() {
  WATCH_PROMTOOL=$(command -v promtool 2>/dev/null || true)
  local fallback=/opt/mi-diag-tools/prometheus/usr/bin/promtool
  [[ -z "$WATCH_PROMTOOL" && -x "$fallback" ]] && WATCH_PROMTOOL=$fallback
  return 0
}

# ---------------------------------------------------------------- events

# watch_event_count KIND: how many events of that kind the events file holds (each line JSON).
watch_event_count() {
  jq -s --arg e "$1" '[.[] | select(.event == $e)] | length' "${WATCH_DIR}/events.jsonl"
}
watch_has_event() {
  local n
  n=$(watch_event_count "$1") && [[ "$n" =~ ^[0-9]+$ ]] && ((n > 0))
}

# watch_event_matches KIND JQ_FILTER [JQ ARGS...]: the first event of KIND satisfies the filter.
watch_event_matches() {
  local kind=$1 filter=$2
  shift 2
  jq -e -s --arg e "$kind" "$@" "[.[] | select(.event == \$e)] | length > 0 and (.[0] | ${filter})" \
    "${WATCH_DIR}/events.jsonl"
}

# ---------------------------------------------------------------- the listener's DNS

# watch_listener_dns PORT INSTANCE ADDRESS PARTNER PARTNER_ADDRESS: a dnsmasq on the router's
# 127.0.0.1#PORT answering the read-write listener as a CNAME to INSTANCE and the read-only one
# (<fog>.secondary.<zone>) as a CNAME to PARTNER, with their A records.
watch_listener_dns() {
  lab_defer_signals
  ip netns exec "$LAB_NS_ROUTER" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
    --no-hosts --listen-address=127.0.0.1 --port="$1" --bind-interfaces \
    --pid-file="${LAB_TMP}/dns-fog-$1.pid" --log-facility="${LAB_TMP}/dns-fog-$1.log" \
    --log-queries --local="/${LAB_DOMAIN}/" --host-record="$2.${LAB_DOMAIN},$3" \
    --host-record="$4.${LAB_DOMAIN},$5" --cname="${WATCH_FOG_HOST},$2.${LAB_DOMAIN}" \
    --cname="${WATCH_FOG_RO_HOST},$4.${LAB_DOMAIN}" &
  WATCH_DNS_PIDS+=("$!")
  LAB_PIDS+=("$!")
  lab_allow_signals
}

# watch_point_listener_at PORT: the primary resolver forwards the listener's name to that dnsmasq
# ('-': to none, NXDOMAIN again), re-read at SIGHUP (which also empties its cache).
watch_point_listener_at() {
  local servers="${LAB_TMP}/dns-primary.servers"
  if [[ "$1" == - ]]; then
    : >"${servers}.tmp"
  else
    printf 'server=/%s/127.0.0.1#%s\n' "$WATCH_FOG_HOST" "$1" "$WATCH_FOG_RO_HOST" "$1" \
      >"${servers}.tmp"
  fi
  chmod 0644 "${servers}.tmp"
  mv -f -- "${servers}.tmp" "$servers"
  kill -HUP "${LAB_DNS_PIDS[dns-primary]}"
}

watch_stop_listener_dns() {
  local pid
  for pid in "${WATCH_DNS_PIDS[@]}"; do
    lab_stop_process "$pid"
    watch_forget_pid "$pid"
  done
  WATCH_DNS_PIDS=()
}

# ---------------------------------------------------------------- scenarios

watch_scenario_fault() {
  watch_config "$(watch_target mi1 "mi1.${LAB_DOMAIN}")"
  watch_start
  watch_require "healthy first: probe_success 1" \
    watch_until watch_series_is 'probe_success{target="mi1"}' 1 || return 0
  watch_assert "no down event while healthy" test "$(watch_event_count down)" -eq 0
  watch_assert_promtool "promtool check metrics: healthy scrape" "${WATCH_DIR}/scrape"
  watch_assert_promtool "promtool check metrics: healthy textfile" "${WATCH_DIR}/metrics.prom"

  fault_forward -p tcp --dport 1433 -j DROP
  watch_assert "gateway port dropped: a down event" watch_until watch_has_event down
  watch_assert "the down event: verdict fail, findings carry TCP_FILTERED, nothing changed" \
    watch_event_matches down \
    '.target == "mi1" and .verdict == "fail" and (.findings | index("TCP_FILTERED") != null) and .changed == []'
  watch_assert "during the fault: probe_success 0" \
    watch_until watch_series_is 'probe_success{target="mi1"}' 0
  watch_assert "during the fault: midiag_finding{code=TCP_FILTERED} 1" \
    watch_series_is 'midiag_finding{target="mi1",code="TCP_FILTERED"}' 1
  watch_assert_promtool "promtool check metrics: scrape during the fault" "${WATCH_DIR}/scrape"

  lab_clear_faults
  watch_assert "fault cleared: an up event" watch_until watch_has_event up
  watch_assert "the up event: verdict ok" watch_event_matches up '.target == "mi1" and .verdict == "ok"'
  watch_assert "one down and one up in all" \
    test "$(watch_event_count down),$(watch_event_count up)" == "1,1"
  watch_assert "after the fault: probe_success 1" \
    watch_until watch_series_is 'probe_success{target="mi1"}' 1
  watch_assert "after the fault: midiag_state_changes_total 2" \
    watch_series_is 'midiag_state_changes_total{target="mi1"}' 2
  watch_assert_promtool "promtool check metrics: textfile after the fault" \
    "${WATCH_DIR}/metrics.prom"
  watch_assert "SIGTERM: exit 0" watch_stop
}

watch_scenario_failover() {
  watch_listener_dns "${WATCH_FOG_PORTS[0]}" mi1 10.250.2.10 mi2 10.250.2.11
  watch_listener_dns "${WATCH_FOG_PORTS[1]}" mi2 10.250.2.11 mi1 10.250.2.10
  watch_point_listener_at "${WATCH_FOG_PORTS[0]}"
  watch_require "DNS: the listener resolves to mi1's address" \
    watch_until lab_dns_answers 10.250.1.1 "$WATCH_FOG_HOST" $'rcode=0\n10.250.2.10' || return 0

  watch_config "$(watch_target fog-rw "$WATCH_FOG_HOST" failover-group)"
  watch_start
  watch_require "healthy on mi1: probe_success 1" \
    watch_until watch_series_is 'probe_success{target="fog-rw"}' 1 || return 0
  # A second good round: the first one only establishes what "healthy" looks like.
  watch_assert "two healthy rounds" watch_until watch_series_at_least 'midiag_probes_total{target="fog-rw"}' 2

  watch_point_listener_at "${WATCH_FOG_PORTS[1]}"
  watch_assert "DNS: the listener moved to mi2's address" \
    watch_until lab_dns_answers 10.250.1.1 "$WATCH_FOG_HOST" $'rcode=0\n10.250.2.11'
  watch_assert "the CNAME moved: a changed event" watch_until watch_has_event changed
  # shellcheck disable=SC2016  # $from and $to are jq's variables
  watch_assert "the changed event: healthy, cname_target mi1 -> mi2" \
    watch_event_matches changed \
    '.target == "fog-rw" and .verdict != "fail" and (.changed | any(.what == "cname_target" and .from == $from and .to == $to))' \
    --arg from "mi1.${LAB_DOMAIN}" --arg to "mi2.${LAB_DOMAIN}"
  watch_assert "the changed event: the DNS answer moved too" \
    watch_event_matches changed \
    '.changed | any(.what == "dns_answer" and .from == "10.250.2.10" and .to == "10.250.2.11")'
  watch_assert "no down event" test "$(watch_event_count down)" -eq 0
  watch_assert "after the move: probe_success 1" \
    watch_series_is 'probe_success{target="fog-rw"}' 1
  watch_assert "SIGTERM: exit 0" watch_stop
}

# watch_probes TARGET: midiag_probes_total of TARGET in the last scrape.
watch_probes() { watch_value "${WATCH_DIR}/scrape" "midiag_probes_total{target=\"$1\"}"; }

# watch_both_advanced MI1 MI2: a fresh scrape counts more rounds of both targets.
watch_both_advanced() {
  watch_scrape "${WATCH_DIR}/scrape" || return 1
  local a b
  a=$(watch_probes mi1) && b=$(watch_probes mi2) || return 1
  [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] && ((a > $1 && b > $2))
}

# The targets a scrape has series for, sorted: "mi1,mi2".
watch_targets_of() {
  grep -o '^probe_success{target="[^"]*"}' "$1" | sed 's/.*target="\([^"]*\)".*/\1/' |
    LC_ALL=C sort -u | paste -sd, -
}

watch_scenario_reload() {
  local mi1 mi2
  mi1=$(watch_target mi1 "mi1.${LAB_DOMAIN}")
  mi2=$(watch_target mi2 "mi2.${LAB_DOMAIN}")
  watch_config "$mi1"
  watch_start
  watch_require "one target: probe_success 1" \
    watch_until watch_series_is 'probe_success{target="mi1"}' 1 || return 0
  watch_assert "config loaded: midiag_config_last_reload_successful 1" \
    watch_series_is midiag_config_last_reload_successful 1

  watch_config "$mi1" "$mi2"
  kill -HUP "$WATCH_PID" 2>/dev/null || true
  watch_assert "SIGHUP with a second target: its probe_success 1" \
    watch_until watch_series_is 'probe_success{target="mi2"}' 1
  watch_assert "reloaded: midiag_config_last_reload_successful 1" \
    watch_series_is midiag_config_last_reload_successful 1

  # A typo'd key: the whole file is refused, the two targets stay.
  watch_config "$mi1" "$mi2" "  - name: third
    host: mi1.${LAB_DOMAIN}
    intreval: 1s"
  kill -HUP "$WATCH_PID" 2>/dev/null || true
  watch_assert "SIGHUP with a bad config: midiag_config_last_reload_successful 0" \
    watch_until watch_series_is midiag_config_last_reload_successful 0
  local before_mi1 before_mi2
  before_mi1=$(watch_probes mi1 || echo 0)
  before_mi2=$(watch_probes mi2 || echo 0)
  watch_assert "bad config: both old targets keep running" \
    watch_until watch_both_advanced "$before_mi1" "$before_mi2"
  watch_assert "bad config: series for exactly the old targets" \
    test "$(watch_targets_of "${WATCH_DIR}/scrape")" == "mi1,mi2"
  watch_assert "bad config: the log says why" \
    grep -q 'config not reloaded.*intreval' "${WATCH_DIR}/stderr"
  watch_assert "SIGTERM: exit 0 within the bound" watch_stop
}

# ---------------------------------------------------------------- driver

watch_no_match() { ! grep -Eq -- "$1" "$2"; }

# Shows what a failed scenario left: the watch's stderr, events, last scrape, promtool's words.
watch_dump() {
  local f
  for f in stderr events.jsonl scrape scrape.headers metrics.prom watch.yaml; do
    [[ -f "${WATCH_DIR}/${f}" ]] || continue
    echo "  --- ${f}"
    sed -n '1,80s/^/    /p' "${WATCH_DIR}/${f}"
  done
  for f in "${WATCH_DIR}"/*.promtool; do
    [[ -s "$f" ]] || continue
    echo "  --- ${f##*/}"
    sed -n '1,20s/^/    /p' "$f"
  done
}

run_watch_scenario() {
  WATCH_NAME=$1
  WATCH_DIR="${LAB_TMP}/${WATCH_NAME}"
  WATCH_BAD=0
  WATCH_PID=""
  # Afresh, under LAB_REPEAT too: a state_dir kept from the last round would start the target
  # from that round's last-known-good snapshot (a failover "back" at the first round).
  rm -rf -- "$WATCH_DIR"
  mkdir -p "$WATCH_DIR"
  : >"${WATCH_DIR}/events.jsonl"
  local started=$SECONDS
  case "$WATCH_NAME" in
    watch-fault) watch_scenario_fault ;;
    watch-failover) watch_scenario_failover ;;
    watch-reload) watch_scenario_reload ;;
  esac
  # Whatever happened: the process stopped, the lab healthy and its DNS as before.
  if [[ -n "$WATCH_PID" ]]; then
    watch_assert "SIGTERM: exit 0" watch_stop
  fi
  # An ASan+UBSan build (LAB_SANITIZED=1): the watch process's rounds, HTTP and signal threads
  # left no sanitizer report.
  if [[ "${LAB_SANITIZED:-0}" == 1 ]]; then
    watch_assert "no sanitizer report from the watch process" \
      watch_no_match "$SANITIZER_REPORT" "${WATCH_DIR}/stderr"
  fi
  if ((${#WATCH_DNS_PIDS[@]})); then
    watch_point_listener_at -
    watch_stop_listener_dns
  fi
  lab_clear_faults
  echo "lab: ${WATCH_NAME}: done in $((SECONDS - started)) s"
  ((WATCH_BAD)) && watch_dump
  return 0
}

run_watch_scenarios() {
  local name
  watch_find_promtool
  for name in "${WATCH_SCENARIOS[@]}"; do
    selected "$name" && run_watch_scenario "$name"
  done
  return 0
}
