#!/usr/bin/env bash
# Make sure the local PostgreSQL server the store's tests use is running
# (127.0.0.1:5432, trust auth, database `test`). Starts the machine's
# cluster when it is installed but stopped. Exits 0 when the server
# answers, 1 when PostgreSQL is not installed here, 2 when it is installed
# but does not come up.
set -uo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
    echo "PostgreSQL client tools are not installed; the PostgreSQL tests will be skipped" >&2
    exit 1
fi
if ready; then
    exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
        echo "==> starting PostgreSQL $version" >&2
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    done
    for _ in $(seq 1 30); do
        ready && exit 0
        sleep 1
    done
    echo "PostgreSQL is installed but does not answer at 127.0.0.1:5432" >&2
    exit 2
fi
echo "no PostgreSQL server answers at 127.0.0.1:5432; the PostgreSQL tests will be skipped" >&2
exit 1
