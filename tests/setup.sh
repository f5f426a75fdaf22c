#!/usr/bin/env bash
# Installs everything mi-diag needs to build, test and run its lab on Debian 12 (as root).
set -euo pipefail
packages=(
  build-essential cmake pkg-config clang clang-format
  libpcap-dev libtins-dev libc-ares-dev libboost-program-options-dev libspdlog-dev
  libgtest-dev nlohmann-json3-dev libssl-dev libarchive-dev libyaml-cpp-dev libcpp-httplib-dev
  iproute2 iptables dnsmasq-base jq nmap
  tshark freetds-bin
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
echo "setup: all ${#packages[@]} packages present"
