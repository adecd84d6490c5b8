#!/usr/bin/env bash
# Make sure the local PostgreSQL server the store's tests use is ready:
# answering at 127.0.0.1:5432, trusting connections from 127.0.0.1, with a
# database `test`.
#
#   scripts/start-postgres.sh            start the machine's cluster if it is
#                                        installed but stopped, then check
#   scripts/start-postgres.sh --install  what CI runs (as root): install
#                                        PostgreSQL with apt-get when missing,
#                                        start it, trust 127.0.0.1, create
#                                        `test`; any failure is fatal
#
# Exit status: 0 ready; 1 PostgreSQL is not installed (only without
# --install); 2 it is installed but not ready (does not start, refuses the
# connection, or has no `test` database); 3 it cannot be installed.
set -uo pipefail

install=false
case "${1:-}" in
    --install) install=true ;;
    "") ;;
    *)
        echo "usage: $0 [--install]" >&2
        exit 64
        ;;
esac

HOST=127.0.0.1
PORT=5432

say() { echo "start-postgres: $*" >&2; }
ready() { pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; }
# A query as the `postgres` role over TCP, never prompting for a password:
# it succeeds only when 127.0.0.1 is trusted, as the tests need.
query() { psql -X -w -q -t -A -h "$HOST" -p "$PORT" -U postgres -d "$1" -c "$2" 2>&1; }
clusters() { ls /etc/postgresql 2>/dev/null | sort -V; }
# The folder of this script, without dirname (tests run it on a bare PATH).
here=${0%/*}
[ "$here" = "$0" ] && here=.
# shellcheck source=lib/root.sh
. "$here/lib/root.sh"

# 1. Installed? (CI installs it; a developer is told how.)
if ! command -v pg_isready >/dev/null 2>&1 || [ -z "$(clusters)" ]; then
    if ! $install; then
        say "PostgreSQL is not installed here (install it with: apt-get install -y postgresql, then run $0 --install as root)"
        exit 1
    fi
    say "installing PostgreSQL with apt-get"
    if ! as_root apt-get update -q >&2 ||
        ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; then
        say "apt-get could not install PostgreSQL; install the package \`postgresql\` and run again"
        exit 3
    fi
    if [ -z "$(clusters)" ]; then
        version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
        if [ -z "$version" ]; then
            say "the postgresql package installed no server under /usr/lib/postgresql"
            exit 3
        fi
        say "creating the cluster $version/main"
        as_root pg_createcluster "$version" main >&2 || exit 3
    fi
fi

# 2. Running?
if ! ready; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        say "no server answers at $HOST:$PORT and pg_ctlcluster (Debian's postgresql-common) is missing: start PostgreSQL on port $PORT yourself"
        exit 2
    fi
    for version in $(clusters); do
        say "starting PostgreSQL $version"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    done
    for _ in $(seq 1 30); do
        ready && break
        sleep 1
    done
    if ! ready; then
        say "PostgreSQL is installed but does not answer at $HOST:$PORT (see /var/log/postgresql/)"
        exit 2
    fi
fi

# 3. Trusting 127.0.0.1? (Only --install changes the server's configuration.)
if ! out=$(query postgres "SELECT 1"); then
    if ! $install; then
        say "PostgreSQL answers at $HOST:$PORT but refuses user postgres without a password ($out); run $0 --install as root to trust 127.0.0.1"
        exit 2
    fi
    for version in $(clusters); do
        hba="/etc/postgresql/$version/main/pg_hba.conf"
        [ -f "$hba" ] || continue
        say "trusting $HOST in $hba"
        # The first matching line wins: the trust line goes first.
        as_root sed -i "1i host all all $HOST/32 trust" "$hba" || exit 2
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload >&2 || exit 2
    done
    if ! out=$(query postgres "SELECT 1"); then
        say "PostgreSQL still refuses user postgres from $HOST after trusting it: $out"
        exit 2
    fi
fi

# 4. The database `test`.
if [ "$(query postgres "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
    if ! $install; then
        say "PostgreSQL has no database \`test\`; create it (createdb -h $HOST -U postgres test) or run $0 --install"
        exit 2
    fi
    say "creating the database test"
    if ! out=$(query postgres "CREATE DATABASE test"); then
        say "cannot create the database test: $out"
        exit 2
    fi
fi
if ! out=$(query test "SELECT 1"); then
    say "cannot connect to the database test: $out"
    exit 2
fi
exit 0
