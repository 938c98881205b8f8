#!/usr/bin/env bash
# Make sure OpenSSH's server binary (/usr/sbin/sshd) is installed for the SFTP transport tests,
# which start a private sshd of their own on 127.0.0.1 (tests/sshd.py). Idempotent; run it as
# root (or with sudo available). No service is started, none is left running on port 22.
set -euo pipefail

SSHD=/usr/sbin/sshd

say() { echo "ensure-sshd: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -- "$@"; fi
}

if [ -x "$SSHD" ] && command -v sftp >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "$SSHD is missing and apt-get is not available: install OpenSSH's server (and client)"
say "installing openssh-server and openssh-client with apt-get"
# The package's postinst would start (and enable) the system sshd: forbid every service start
# for the length of the install with a policy-rc.d that answers 101, then put back what was there.
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
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confold openssh-server openssh-client
restore_policy
trap - EXIT

[ -x "$SSHD" ] || die "apt-get finished but $SSHD is still missing"
say "installed $("$SSHD" -V 2>&1 | head -n 1 || true)"
