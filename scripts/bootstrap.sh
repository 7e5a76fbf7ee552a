#!/usr/bin/env bash
# Bootstrap a fresh Debian 12 machine (as root) for dhcp6-lab: Debian packages, .venv,
# the project installed editable with its test extras, its hot modules compiled.
# Idempotent and fast when re-run: apt is skipped when every package is installed, pip
# when pyproject.toml is unchanged, the compiler when no hot module changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
  python3 python3-venv python3-dev gcc make
  iproute2 iputils-ping tcpdump tshark ethtool nftables procps
  kea-dhcp6-server kea-admin dnsmasq-base isc-dhcp-client isc-dhcp-server isc-dhcp-relay
  dhcpcd-base wide-dhcpv6-client
  ruby
  graphviz  # lab graph -o FILE.svg|.png
  chromium chromium-driver  # tests/test_report_browser.py renders `lab report` pages headless
  tmux  # tests/test_observe_watch.py drives `lab watch` in an 80x24 terminal
  mininet bridge-utils  # bench/build.py measures against Mininet (its LinuxBridge needs brctl)
)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing Debian packages (${missing[*]}); run 'make' as root or install them with apt-get" >&2
    exit 1
  fi
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  # Installing DHCP servers must not start them on the host: deny service starts while
  # apt runs (policy-rc.d exit 101), restoring whatever policy the machine had.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
  fi
  trap '[ -n "$guard" ] && rm -f "$guard"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=/usr/bin/python3
stamp=.venv/.bootstrap-stamp
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing dhcp6-lab (editable, with test extras) into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test,accel]'
  echo "$want" > "$stamp"
fi
# Compiled copies of the simulator's and engines' hot modules (dhcp6/accel/): a no-op when
# they are current; without them (no compiler) the pure-Python modules run, slower.
.venv/bin/python -m dhcp6.accel build --quiet || true
