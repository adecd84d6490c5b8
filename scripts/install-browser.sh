#!/usr/bin/env bash
# Install what the web UI's browser tests and scripts/screenshots.sh drive:
# Debian's Chromium and its ChromeDriver (/usr/bin/chromium,
# /usr/bin/chromedriver), with apt-get when either is missing. Needs root
# (or sudo) only when something must be installed.
#
# Exit status: 0 both are there; 3 they could not be installed.
set -uo pipefail

say() { echo "install-browser: $*" >&2; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        say "not root and no sudo: cannot run $*"
        return 1
    fi
}

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
say "installing chromium and chromium-driver with apt-get"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2; then
    # An old package list may name versions the mirror no longer has.
    if ! as_root apt-get update -q >&2 ||
        ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2; then
        say "apt-get could not install them; install the packages \`chromium\` and \`chromium-driver\` and run again"
        exit 3
    fi
fi
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    say "ready: $(/usr/bin/chromedriver --version 2>/dev/null | head -1)"
    exit 0
fi
say "chromium or chromedriver is still missing after apt-get"
exit 3
