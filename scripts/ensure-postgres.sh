#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (user postgres, trust auth, database
# `test`) for the ledger tests. Idempotent; run it as root (or with sudo available).
#   1. already answering            -> nothing to do
#   2. our private cluster exists   -> start it  (/var/lib/gateway-test-pg)
#   3. a Debian cluster exists      -> start it  (pg_ctlcluster)
#   4. otherwise                    -> apt-get install postgresql (services kept from starting),
#                                      initdb a private trust-auth cluster, start it, create `test`
set -euo pipefail

HOST=127.0.0.1
PORT=5432
PRIVATE=/var/lib/gateway-test-pg
DATA="$PRIVATE/data"
LOG="$PRIVATE/server.log"

say() { echo "ensure-postgres: $*" >&2; }
die() { say "$*"; exit 1; }

ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT" -t 3; }

as_postgres() {  # run a command as the postgres OS user
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    elif [ "$(id -un)" = postgres ]; then
        "$@"
    else
        sudo -u postgres -- "$@"
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -- "$@"; fi
}

wait_ready() {
    for _ in $(seq 1 30); do
        ready && return 0
        sleep 1
    done
    die "PostgreSQL did not come up on $HOST:$PORT (see the server log)"
}

pg_bin() {  # the newest installed server's bin directory
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
    echo "$dir"
}

psql_tcp() { psql -X -q -h "$HOST" -p "$PORT" -U postgres -d postgres "$@"; }

ensure_trust_and_test_db() {
    # The tests connect as postgres over TCP without a password.
    if ! PGCONNECT_TIMEOUT=3 psql_tcp -w -tAc 'SELECT 1' >/dev/null 2>&1; then
        local hba
        hba=$(as_postgres psql -X -tAc 'SHOW hba_file' | tr -d '[:space:]')
        [ -n "$hba" ] || die "cannot find pg_hba.conf to allow trust auth on $HOST"
        say "allowing trust auth for postgres on $HOST in $hba"
        as_root sed -i "1i host all postgres $HOST/32 trust  # added by ensure-postgres.sh" "$hba"
        as_postgres psql -X -q -tAc 'SELECT pg_reload_conf()' >/dev/null
        sleep 1
    fi
    if [ "$(psql_tcp -w -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
        say "creating database test"
        psql_tcp -w -c 'CREATE DATABASE test'
    fi
}

start_private() {
    local bin
    bin=$(pg_bin)
    say "starting the private cluster in $DATA"
    as_postgres "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
        -o "-p $PORT -c listen_addresses=$HOST -k $PRIVATE" start >/dev/null
}

install_and_init() {
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is missing and apt-get is not available: install PostgreSQL and start it on $HOST:$PORT"
    say "installing postgresql with apt-get"
    # No service may start during the install; no default Debian cluster is created.
    as_root mkdir -p /etc/postgresql-common
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        echo 'create_main_cluster = false' | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    bash "$(dirname "$0")/apt-install-quietly.sh" postgresql

    local bin
    bin=$(pg_bin)
    say "creating a private trust-auth cluster in $DATA"
    as_root mkdir -p "$PRIVATE"
    as_root chown postgres:postgres "$PRIVATE"
    as_root chmod 700 "$PRIVATE"
    as_postgres "$bin/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 >/dev/null
    start_private
}

if ready; then
    exit 0
fi

if [ -f "$DATA/PG_VERSION" ]; then
    start_private
elif [ -d /etc/postgresql ] && [ -n "$(ls -A /etc/postgresql 2>/dev/null)" ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1 || true)
    say "starting the Debian cluster $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
        || say "pg_ctlcluster did not start it (already running?); waiting for it"
else
    install_and_init
fi
wait_ready
ensure_trust_and_test_db
say "PostgreSQL is ready on $HOST:$PORT"
