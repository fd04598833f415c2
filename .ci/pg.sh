#!/usr/bin/env bash
# Throwaway PostgreSQL for tests (https://www.postgresql.org/docs/current/app-pg-ctl.html).
#
# As a script:   URL=$(.ci/pg.sh start)   ...   .ci/pg.sh stop "$URL"
# Sourced:       . .ci/pg.sh; pg_start (exports FHIRTRIAL_TEST_DATABASE_URL and PG_TMPDIR); ...; pg_stop
# The tests read FHIRTRIAL_TEST_DATABASE_URL only (never the server's FHIRTRIAL_DATABASE_URL) and may empty it.
# The server runs as the `postgres` user when started by root, in a temp dir, on a free port,
# listening on 127.0.0.1 only with trust authentication. Its database is `fhirtrial`.

_pg_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_pg_as() {  # run a command as the postgres user when we are root
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

pg_start() {
    local dir port url
    dir=$(mktemp -d /tmp/fhirtrial-pg.XXXXXX) || return 1
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(_pg_free_port) || return 1
    _pg_as "initdb -D '$dir/data' -A trust -U postgres >'$dir/initdb.log' 2>&1" || { cat "$dir/initdb.log" >&2; return 1; }
    _pg_as "pg_ctl -D '$dir/data' -w -t 60 -l '$dir/log' -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start >/dev/null" \
        || { cat "$dir/log" >&2; return 1; }
    createdb -h 127.0.0.1 -p "$port" -U postgres fhirtrial || return 1
    echo "$dir" > "/tmp/fhirtrial-pg-$port.dir"
    url="postgresql+psycopg://postgres@127.0.0.1:$port/fhirtrial"
    export PG_TMPDIR="$dir" FHIRTRIAL_TEST_DATABASE_URL="$url"
    echo "$url"
}

pg_stop() {  # pg_stop [URL-or-port]; defaults to the server pg_start exported
    local arg="${1:-${FHIRTRIAL_TEST_DATABASE_URL:-}}" dir="${PG_TMPDIR:-}" port
    if [ -n "$arg" ]; then
        port=$(printf '%s' "$arg" | sed -E 's#.*:([0-9]+)(/.*)?$#\1#')
        [ -f "/tmp/fhirtrial-pg-$port.dir" ] && dir=$(cat "/tmp/fhirtrial-pg-$port.dir") && rm -f "/tmp/fhirtrial-pg-$port.dir"
    fi
    [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "pg_stop: no throwaway server found" >&2; return 1; }
    _pg_as "pg_ctl -D '$dir/data' -m fast -w stop >/dev/null"
    rm -rf "$dir"
    unset PG_TMPDIR
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        start) pg_start ;;
        stop) pg_stop "${2:-}" ;;
        *) echo "usage: $0 start | stop URL" >&2; exit 2 ;;
    esac
fi
