#!/usr/bin/env bash
# The fleet simulator (scripts/fleetsim) against real roster server
# processes, with a private PostgreSQL server when asked: the figures the
# README's "Sizing a fleet" quotes.
#
# usage: scripts/fleetsim.sh [--postgres] [fleetsim flags...]
#        e.g. scripts/fleetsim.sh --hosts 200 --identities 10 --lifetime 60s --duration 3m --warmup 40s
#        scripts/fleetsim.sh --postgres --nodes 2 --hosts 200 --identities 10 --duration 3m --kill-node-at 60s
# It builds roster and fleetsim into a temp directory. With --postgres it
# initialises a PostgreSQL server there (initdb and pg_ctl from
# /usr/lib/postgresql/*/bin, as the postgres account when run as root),
# on a free loopback port with its Unix socket in the same directory and
# fsync on (durable commits, as in production), creates the database
# fleet and passes its URL as --store and its postmaster as --db-pid (the
# database server's CPU per renewal); the server is stopped and
# everything removed at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/roster-fleetsim.XXXXXX)
pgdata=
cleanup() {
	if [ -n "$pgdata" ]; then as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
postgres=
if [ "${1:-}" = --postgres ]; then postgres=1 && shift; fi

(cd "$repo" && go build -o "$work/bin/" ./cmd/roster ./scripts/fleetsim)
args=(--roster "$work/bin/roster")

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ -n "$postgres" ]; then
	initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
	[ -n "$initdb" ] || { echo "fleetsim.sh: --postgres needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin)" >&2; exit 1; }
	pgbin=$(dirname "$initdb")
	mkdir "$work/pg"
	[ "$(id -u)" = 0 ] && chown postgres: "$work/pg" && chmod 755 "$work"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	as_pg "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
	printf "port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 200\n" \
		"$port" "$work/pg" | as_pg tee -a "$work/pg/data/postgresql.conf" >/dev/null
	printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_pg tee "$work/pg/data/pg_hba.conf" >/dev/null
	pgdata=$work/pg/data
	as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$work/pg/log" -w start >/dev/null
	as_pg "$pgbin/psql" -h "$work/pg" -p "$port" -U postgres -d postgres -qc 'CREATE DATABASE fleet'
	args+=(--store "postgres:///fleet?host=$work/pg&port=$port&user=postgres&sslmode=disable"
		--db-pid "$(head -1 "$pgdata/postmaster.pid")")
fi
"$work/bin/fleetsim" "${args[@]}" "$@"
