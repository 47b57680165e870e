#!/usr/bin/env bash
# Installs roster and roster-agent: the binaries in /usr/local/bin, the
# systemd units, /etc/roster-agent with an example configuration, and the
# state directories with their modes.
#
# usage: scripts/install.sh [--prefix DESTDIR] [--bin-from DIR] [--dry-run]
#                           [--no-server] [--no-agent]
#
#   --prefix DESTDIR  install below DESTDIR instead of / (for packaging and
#                     tests); users are not created and systemd is not told
#   --bin-from DIR    take prebuilt roster and roster-agent from DIR instead
#                     of building them with go (stripped, -trimpath)
#   --dry-run         print what would be done, change nothing
#   --no-server       skip roster and roster.service
#   --no-agent        skip roster-agent and roster-agent.service
#
# After a real install: systemctl enable --now roster (on the server) or
# roster-agent (on each host, once /etc/roster-agent/agent.yaml lists its
# identities).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
destdir=""
bin_from=""
dry=0
server=1
agent=1
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) destdir=${2:?--prefix needs a directory}; shift 2 ;;
	--prefix=*) destdir=${1#*=}; shift ;;
	--bin-from) bin_from=${2:?--bin-from needs a directory}; shift 2 ;;
	--bin-from=*) bin_from=${1#*=}; shift ;;
	--dry-run) dry=1; shift ;;
	--no-server) server=0; shift ;;
	--no-agent) agent=0; shift ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ -n "$destdir" ]; then
	case "$destdir" in /*) ;; *) destdir="$PWD/$destdir" ;; esac
	destdir=${destdir%/}
fi

# run prints a command, and runs it unless this is a dry run.
run() {
	echo "+ $*"
	[ "$dry" = 1 ] || "$@"
}

bins=()
[ "$server" = 1 ] && bins+=(roster)
[ "$agent" = 1 ] && bins+=(roster-agent)
[ ${#bins[@]} -gt 0 ] || { echo "install.sh: nothing to install" >&2; exit 2; }

if [ -z "$bin_from" ]; then
	if [ "$dry" = 1 ]; then
		build='$BUILD'
	else
		build=$(mktemp -d)
		trap 'rm -rf "$build"' EXIT
	fi
	version=$(git -C "$repo" describe --tags --always --dirty 2>/dev/null || echo dev)
	for b in "${bins[@]}"; do
		# roster-agent is built without cgo: a static binary that maps no
		# libc saves about 2 MB of its resident memory (os/user then reads
		# /etc/passwd and /etc/group itself, without NSS); and without
		# net/http's HTTP/2 (it speaks HTTP/1.1 to the server), 380 KB
		# less binary; and without inlining in roster's own packages, 100 KB
		# less (cmd/roster-agent/binary_test.go builds it the same way).
		cgo= tags= gcflags=
		[ "$b" = roster-agent ] && cgo=CGO_ENABLED=0 && tags=nethttpomithttp2 && gcflags='github.com/rosterhq/roster/...=-l'
		run env -C "$repo" $cgo go build -trimpath -buildvcs=auto -tags "$tags" -gcflags "$gcflags" -ldflags "-s -w -X main.version=$version" -o "$build/$b" "./cmd/$b"
	done
	bin_from=$build
fi
for b in "${bins[@]}"; do
	[ "$dry" = 1 ] || [ -x "$bin_from/$b" ] || { echo "install.sh: $bin_from/$b is missing or not executable" >&2; exit 1; }
done

d=$destdir
run install -d -m 0755 "$d/usr/local/bin" "$d/etc/systemd/system"
for b in "${bins[@]}"; do
	run install -m 0755 "$bin_from/$b" "$d/usr/local/bin/$b"
	run install -m 0644 "$repo/scripts/systemd/$b.service" "$d/etc/systemd/system/$b.service"
done

if [ "$server" = 1 ]; then
	# The data directory holds the CA keys: 0700, owned by the roster user.
	run install -d -m 0700 "$d/var/lib/roster"
	if [ -z "$destdir" ]; then
		if ! id roster >/dev/null 2>&1; then
			run useradd --system --home-dir /var/lib/roster --shell /usr/sbin/nologin --user-group roster
		fi
		run chown roster:roster /var/lib/roster
	fi
fi

if [ "$agent" = 1 ]; then
	# Service accounts traverse /var/lib/roster-agent to reach their own
	# identity directory (root:SERVICE 0750) but cannot list it.
	run install -d -m 0711 "$d/var/lib/roster-agent"
	run install -d -m 0755 "$d/etc/roster-agent"
	# An example only: an existing agent.yaml is never touched.
	run install -m 0644 "$repo/scripts/agent.yaml.example" "$d/etc/roster-agent/agent.yaml.example"
fi

if [ -z "$destdir" ] && [ "$dry" = 0 ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	run systemctl daemon-reload
fi
echo "installed ${bins[*]} into ${destdir:-/}"
