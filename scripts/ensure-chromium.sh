#!/usr/bin/env bash
# Make sure Debian's Chromium and its WebDriver (chromium, chromium-driver) are installed for the
# web view's browser tests (tests/web/test_browser.py drives them headless through Selenium).
# Idempotent; run it as root (or with sudo available). Nothing is started.
set -euo pipefail

say() { echo "ensure-chromium: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "chromium is missing and apt-get is not available: install chromium and chromium-driver"
say "installing chromium and chromium-driver with apt-get"
bash "$(dirname "$0")/apt-install-quietly.sh" --no-install-recommends chromium chromium-driver fonts-dejavu-core

[ -x /usr/bin/chromium ] || die "apt-get finished but /usr/bin/chromium is still missing"
[ -x /usr/bin/chromedriver ] || die "apt-get finished but /usr/bin/chromedriver is still missing"
say "installed $(/usr/bin/chromium --version 2>/dev/null || true)"
