#!/usr/bin/env bash
# Runs roster's whole test suite the way CI does: installs the tools the tests
# drive for real (OpenSSL, OpenSSH's ssh, ssh-keygen and sshd, PostgreSQL server binaries,
# systemd-analyze for the unit files, zsh and fish for the completion scripts),
# then gofmt, vet, staticcheck, the agent dependency check, a build of both
# binaries, race-enabled tests of every package and a short run of every
# fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)   # a private sshd checks roster's SSH certificates
command -v psql >/dev/null || need+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v zsh >/dev/null || need+=(zsh)   # completion scripts are syntax-checked
command -v fish >/dev/null || need+=(fish)
command -v samba-tool >/dev/null || need+=(samba)   # a private Samba AD DC for roster scan --ldap
[ -d /usr/share/samba/setup ] || need+=(samba-ad-provision)
command -v ldbadd >/dev/null || need+=(ldb-tools)
[ -x /usr/bin/chromium ] || need+=(chromium)   # the web page's browser tests (chromedp)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}"
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
# staticcheck from the module proxy, pinned; installed once per machine.
staticcheck=$(go env GOPATH)/bin/staticcheck
if ! "$staticcheck" -version 2>/dev/null | grep -q '(0.8.2)'; then
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
"$staticcheck" ./...
scripts/check-agent-deps.sh
go build -o bin/ ./cmd/roster ./cmd/roster-agent
go test -race -count=1 -timeout 15m ./...
scripts/fuzz.sh 3
