#!/usr/bin/env bash
# Install what `workway plugin build` needs to build Python and JavaScript
# integrations (it installs componentize-py and componentize-js itself, on
# first use): python3 with venv and pip, and Node.js with npm, with apt-get
# when either is missing. Needs root (or sudo) only when something must be
# installed.
#
# Exit status: 0 both are there; 3 they could not be installed.
set -uo pipefail

say() { echo "install-toolchains: $*" >&2; }
# The folder of this script, without dirname (tests run it on a bare PATH).
here=${0%/*}
[ "$here" = "$0" ] && here=.
# shellcheck source=lib/root.sh
. "$here/lib/root.sh"
ready() {
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 &&
        npm --version >/dev/null 2>&1 && node --version >/dev/null 2>&1
}

if ready; then
    exit 0
fi
packages=(python3 python3-venv nodejs npm)
say "installing ${packages[*]} with apt-get"
if ! apt_install "${packages[@]}"; then
    say "apt-get could not install them; install python3 with venv, Node.js and npm, and run again"
    exit 3
fi
if ready; then
    say "ready: $(python3 --version 2>&1), node $(node --version), npm $(npm --version)"
    exit 0
fi
say "python3 with venv, or npm and node, are still missing after apt-get"
exit 3
