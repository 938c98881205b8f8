#!/usr/bin/env bash
# Make sure systemd-analyze is installed: tests/deploy/ checks the units in deploy/ with
# `systemd-analyze verify` and `systemd-analyze security --offline`. Nothing is started (the
# build machines have no init system; the units are checked offline). Idempotent; run as root
# (or with sudo available).
set -euo pipefail

say() { echo "ensure-systemd: $*" >&2; }
die() { say "$*"; exit 1; }

command -v systemd-analyze >/dev/null 2>&1 && exit 0
command -v apt-get >/dev/null 2>&1 || die "systemd-analyze is missing and apt-get is not available: install systemd"
say "installing systemd (for systemd-analyze) with apt-get"
bash "$(dirname "$0")/apt-install-quietly.sh" --no-install-recommends systemd
command -v systemd-analyze >/dev/null 2>&1 || die "apt-get finished but systemd-analyze is still missing"
say "installed $(systemd-analyze --version | head -n 1)"
