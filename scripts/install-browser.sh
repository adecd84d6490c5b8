#!/usr/bin/env bash
# Install what the web UI's browser tests and scripts/screenshots.sh drive:
# Debian's Chromium and its ChromeDriver (/usr/bin/chromium,
# /usr/bin/chromedriver), with apt-get when either is missing. Needs root
# (or sudo) only when something must be installed.
#
# Exit status: 0 both are there; 3 they could not be installed.
set -uo pipefail

say() { echo "install-browser: $*" >&2; }
# The folder of this script, without dirname (tests run it on a bare PATH).
here=${0%/*}
[ "$here" = "$0" ] && here=.
# shellcheck source=lib/root.sh
. "$here/lib/root.sh"

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
say "installing chromium and chromium-driver with apt-get"
if ! apt_install chromium chromium-driver; then
    say "apt-get could not install them; install the packages \`chromium\` and \`chromium-driver\` and run again"
    exit 3
fi
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    say "ready: $(/usr/bin/chromedriver --version 2>/dev/null | head -1)"
    exit 0
fi
say "chromium or chromedriver is still missing after apt-get"
exit 3
