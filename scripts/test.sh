#!/usr/bin/env bash
# Runs roster's whole test suite the way CI does: installs the tools the tests
# drive for real (OpenSSL, OpenSSH's ssh-keygen, PostgreSQL server binaries,
# systemd-analyze for the unit files),
# then vet, race-enabled tests of every package, and a build of both binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v psql >/dev/null || need+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}"
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	fi
fi

go vet ./...
scripts/check-agent-deps.sh
go build -o bin/ ./cmd/roster ./cmd/roster-agent
go test -race -count=1 -timeout 15m ./...
