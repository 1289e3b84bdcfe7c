#!/usr/bin/env bash
# Debian's PostgreSQL server for the scripts that need a real server of their own (the fault
# suite, the benchmark against a system PostgreSQL). Sourced, not run.
#
#   postgres_server_install        installs the server package when missing; sets PGBIN
#   postgres_server_init DIR       initdb in DIR (owned by the postgres user when run as root)
#   postgres_server_start DIR PORT [extra -c options]   starts it on 127.0.0.1:PORT, socket in DIR
#   postgres_server_stop DIR [mode]                      stops it (mode: fast, immediate)

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

postgres_server_install() {
  if ! ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends postgresql >/dev/null
  fi
  PGBIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
}

postgres_server_init() {
  mkdir -p "$1"
  if [ "$(id -u)" = 0 ]; then chown postgres "$1"; chmod 755 "$(dirname "$1")"; fi
  as_postgres "$PGBIN/initdb" -D "$1" -A trust -U postgres >"$1.initdb.log" 2>&1 ||
    { cat "$1.initdb.log"; return 1; }
}

postgres_server_start() {
  local dir=$1 port=$2
  shift 2
  as_postgres "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on $*" start >/dev/null
}

postgres_server_stop() {
  as_postgres "$PGBIN/pg_ctl" -D "$1" -m "${2:-fast}" stop >/dev/null 2>&1 || true
}
