# Sourced by the install scripts (each defines `say` first): running a
# command as root, and installing Debian packages with apt-get.

# Run "$@" as root: directly when root, else with passwordless sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        say "root is needed to run: $*"
        return 1
    fi
}

# Install the Debian packages "$@"; when that fails, refresh the package
# list once (an old list may name versions the mirror no longer has) and
# try again.
apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 && return 0
    as_root apt-get update -q >&2 &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}
