#!/usr/bin/env bash
# Make sure OpenSSH's server binary (/usr/sbin/sshd) is installed for the SFTP transport tests,
# which start a private sshd of their own on 127.0.0.1 (tests/sshd.py). Idempotent; run it as
# root (or with sudo available). No service is started, none is left running on port 22.
set -euo pipefail

SSHD=/usr/sbin/sshd

say() { echo "ensure-sshd: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -x "$SSHD" ] && command -v sftp >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "$SSHD is missing and apt-get is not available: install OpenSSH's server (and client)"
say "installing openssh-server and openssh-client with apt-get"
# The package's postinst would start (and enable) the system sshd: no service starts meanwhile.
bash "$(dirname "$0")/apt-install-quietly.sh" --no-install-recommends openssh-server openssh-client

[ -x "$SSHD" ] || die "apt-get finished but $SSHD is still missing"
say "installed $("$SSHD" -V 2>&1 | head -n 1 || true)"
