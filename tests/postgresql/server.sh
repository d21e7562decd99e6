#!/usr/bin/env bash
# A private PostgreSQL server for the postgresql: backend's tests and
# benchmarks, never the system's service: initdb in a new temporary
# directory, listening on a free loopback port and on a Unix socket in that
# directory, trust authentication (but for the role checkpoint_password,
# which must give its password). The server refuses to run as root, so when
# this runs as root the server runs as nobody, in a directory nobody owns.
#
#   server.sh start STATE_DIR [--fsync]  a new server; without --fsync it runs
#                                        with fsync=off (tests: the machine
#                                        does not lose power under them)
#   server.sh stop STATE_DIR             stops it and removes its directory
#   server.sh restart STATE_DIR [MODE]   pg_ctl restart -m MODE (default immediate)
#   server.sh halt STATE_DIR             pg_ctl stop -m immediate, keeping its data
#   server.sh resume STATE_DIR           starts a halted server again
#
# STATE_DIR gets `uri` (postgresql://checkpoint@127.0.0.1:PORT/checkpoint: the
# database the tests share, as a role that may create tables only in its own
# schema, as docs/postgresql.md advises), `port`, `socket_dir` and `data` (the
# temporary directory).
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart|halt|resume STATE_DIR [...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1
state=$2
shift 2

bindir() {
  local dir
  dir=$(pg_config --bindir 2>/dev/null || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  # Debian puts each major version's server in a directory of its own.
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  done
  echo "server.sh: no PostgreSQL server found (scripts/install-deps.sh installs it)" >&2
  exit 1
}
bin=$(bindir)

# Runs a server program as the user who owns the server.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u nobody -- "$@")
  else
    "$@"
  fi
}

data() { cat "$state/data"; }

stop_server() {
  [ -f "$state/data" ] || return 0
  local dir
  dir=$(data)
  if [ -f "$dir/pgdata/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/pgdata" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_owner "$bin/pg_ctl" -D "$dir/pgdata" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  rm -f "$state/data" "$state/uri" "$state/port" "$state/socket_dir"
}

start_server() {
  local fsync=off
  [ "${1:-}" = "--fsync" ] && fsync=on
  stop_server  # one left by a run that was cut short
  mkdir -p "$state"
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/checkpoint-pg.XXXXXX")
  chmod 0700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown nobody: "$dir"
  echo "$dir" > "$state/data"
  as_owner "$bin/initdb" -D "$dir/pgdata" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  cat >> "$dir/pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = $fsync
max_connections = 200
log_min_messages = warning
EOF
  cat > "$dir/pgdata/pg_hba.conf" <<EOF
local all all trust
host all checkpoint_password 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
EOF
  # A free port: one chosen at random, again if another program has it.
  local port started=no
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    if as_owner "$bin/pg_ctl" -D "$dir/pgdata" -l "$dir/server.log" -o "-p $port" -w -t 60 \
        start >/dev/null 2>&1; then
      started=yes
      break
    fi
    grep -q "could not bind\|could not create listen socket\|Address already in use" \
      "$dir/server.log" || break
  done
  if [ "$started" != yes ]; then
    echo "server.sh: the server did not start:" >&2
    cat "$dir/server.log" >&2
    exit 1
  fi
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres <<EOF
CREATE DATABASE checkpoint;
CREATE ROLE checkpoint LOGIN;
CREATE ROLE checkpoint_password LOGIN PASSWORD 'checkpoint-test-secret';
\connect checkpoint
CREATE SCHEMA checkpoint AUTHORIZATION checkpoint;
CREATE SCHEMA checkpoint_password AUTHORIZATION checkpoint_password;
EOF
  echo "$port" > "$state/port"
  echo "$dir" > "$state/socket_dir"
  echo "postgresql://checkpoint@127.0.0.1:$port/checkpoint" > "$state/uri"
  echo "server.sh: $("$bin/postgres" --version) on 127.0.0.1:$port"
}

case "$command" in
  start) start_server "$@" ;;
  stop) stop_server ;;
  restart)
    as_owner "$bin/pg_ctl" -D "$(data)/pgdata" -m "${1:-immediate}" -w -t 60 restart >/dev/null ;;
  halt) as_owner "$bin/pg_ctl" -D "$(data)/pgdata" -m immediate -w -t 60 stop >/dev/null ;;
  resume)
    as_owner "$bin/pg_ctl" -D "$(data)/pgdata" -l "$(data)/server.log" -o "-p $(cat "$state/port")" \
      -w -t 60 start >/dev/null ;;
  *) usage ;;
esac
