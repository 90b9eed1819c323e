#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's package, in a temporary folder.
#   scripts/postgres-test-server.sh start [port]   prints the server's URL on stdout
#   scripts/postgres-test-server.sh stop           stops it and removes its folder
# The server listens on 127.0.0.1 only, trusts local connections, and keeps everything in
# $AMAGO_PG_DIR (default /tmp/amago-test-postgres). PostgreSQL refuses to run as root, so under
# root it runs as the `postgres` user that the package creates.
set -euo pipefail

dir="${AMAGO_PG_DIR:-/tmp/amago-test-postgres}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    port="${2:-55432}"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "PostgreSQL is not installed: apt-get install postgresql" >&2
        exit 1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: the data is thrown away, and the tests commit thousands of small transactions.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: scripts/postgres-test-server.sh start [port] | stop" >&2
    exit 2
    ;;
esac
