#!/usr/bin/env bash
# Make sure systemd-analyze is installed: tests/deploy/ checks the units in deploy/ with
# `systemd-analyze verify` and `systemd-analyze security --offline`. Nothing is started (the
# build machines have no init system; the units are checked offline). Idempotent; run as root
# (or with sudo available).
set -euo pipefail

say() { echo "ensure-systemd: $*" >&2; }
die() { say "$*"; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -- "$@"; fi; }

command -v systemd-analyze >/dev/null 2>&1 && exit 0
command -v apt-get >/dev/null 2>&1 || die "systemd-analyze is missing and apt-get is not available: install systemd"
say "installing systemd (for systemd-analyze) with apt-get"
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then saved=$(mktemp); as_root cp -p "$policy" "$saved"; fi
restore_policy() {
    if [ -n "$saved" ]; then as_root mv "$saved" "$policy"; else as_root rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
as_root chmod 755 "$policy"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd
restore_policy
trap - EXIT
command -v systemd-analyze >/dev/null 2>&1 || die "apt-get finished but systemd-analyze is still missing"
say "installed $(systemd-analyze --version | head -n 1)"
