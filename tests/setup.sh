#!/usr/bin/env bash
# Installs everything mi-diag needs to build, test and run its lab on Debian 12 (as root).
set -euo pipefail
packages=(
  build-essential cmake pkg-config clang clang-format
  libpcap-dev libtins-dev libc-ares-dev libboost-program-options-dev libspdlog-dev
  libgtest-dev nlohmann-json3-dev libssl-dev libarchive-dev libyaml-cpp-dev libcpp-httplib-dev libxml2-dev
  iproute2 iptables dnsmasq-base jq nmap
  tshark freetds-bin
  ca-certificates systemd locales
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Node driver (tedious) logs in through the simulator in a test; Node 20 ships with the
# machine image, Debian's nodejs is the fallback.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# promtool (watch's metrics and alerting rules tests) without a Prometheus server: Debian's
# package unpacked, not installed. Tests look on PATH, then in /opt/mi-diag-tools/prometheus.
tools=/opt/mi-diag-tools
if ! command -v promtool >/dev/null && [[ ! -x "$tools/prometheus/usr/bin/promtool" ]]; then
  cache="$tools/cache"
  mkdir -p "$cache"
  apt-get update -qq
  (cd "$cache" && apt-get download -qq prometheus 2>/dev/null)
  deb=$(ls -t "$cache"/prometheus_*.deb | head -n 1)
  dpkg -x "$deb" "$tools/prometheus"
  "$tools/prometheus/usr/bin/promtool" --version >/dev/null
  echo "setup: promtool unpacked into $tools/prometheus"
fi
# A comma-decimal locale: the metrics encoder is tested under it (numbers stay C-locale).
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
  localedef -i de_DE -f UTF-8 de_DE.UTF-8
fi
echo "setup: all ${#packages[@]} packages present"
