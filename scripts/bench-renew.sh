#!/usr/bin/env bash
# Renewals per second against a real roster server process, measured by
# scripts/renewbench from another process on the same machine: the figures
# the README quotes, and the same load generator that measures step-ca (see
# README, "Measured").
#
# usage: scripts/bench-renew.sh [--with-null] [--with-step-ca] [--hosts H --per N] [renewbench flags...]
#        e.g. scripts/bench-renew.sh --clients 64 --modes fresh --n 5000 --repeat 3
#        scripts/bench-renew.sh --hosts 64 --per 10 --clients 64 --modes fresh,batch --batch 10 --n 6400
#        (batch renewal: 64 hosts, each with its host identity and 10 accounts)
#        scripts/bench-renew.sh --with-step-ca --hosts 64 --per 10 --clients 64 --modes batch --n 6400 --repeat 3
#        (roster's batch renewal beside step-ca renewing the same number of identities one by one)
# It builds roster, roster-agent and renewbench, starts `roster server` on
# 127.0.0.1:18444 with a fresh data directory, submits a scan of a made-up
# host with 64 service accounts, gives them an owner, enrolls each with
# roster-agent (64 at once), and runs renewbench with roster as its first
# target; a --target given here is measured in turn with it (see
# scripts/renewbench). --with-null adds `renewbench serve-null` with the
# server's certificate as a target: the same TLS, no renewal work.
# --with-step-ca adds step-ca v0.30.2 as a target, built once with this Go
# (CGO_ENABLED=0) in a throwaway module under ~/.cache/roster-bench, set up
# by `renewbench stepca-init` (bbolt, one JWK provisioner, 1 h certificates)
# and given as many identities as roster's accounts by
# `renewbench stepca-enroll`. Everything else lives in a temp directory that
# is removed at the end.
#
# Modes (renewbench --modes, default fresh,replay): in fresh mode every
# renewal is a new TLS connection presenting the certificate the previous
# renewal returned, as agents do, so roster issues a new certificate each
# time. In replay mode (formerly keepalive) each client keeps one
# connection authenticated with its first certificate; roster renews a
# certificate once and answers later renewals of it with the same successor,
# so replay mode measures that replay answer, not new certificates, while
# step-ca issues a new one each time: roster's and step-ca's replay figures
# are not comparable (see the "new %" column). The null target answers with
# the presented chain (new % is 0 in both modes). The roster and null
# targets share the identities in $work/ids: renewbench keeps each one's
# current chain and writes it back there at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/roster-bench.XXXXXX)
n=64
hosts=1
port=18444
null=
stepca=
while [ $# -gt 0 ]; do
	case $1 in
	--with-null) null=1 ;;
	--with-step-ca) stepca=1 ;;
	--hosts) hosts=$2 && shift ;;
	--per) n=$2 && shift ;;
	*) break ;;
	esac
	shift
done

(cd "$repo" && go build -o "$work/bin/" ./cmd/roster ./cmd/roster-agent ./scripts/renewbench)
PATH="$work/bin:$PATH"

# acct H I names account I of host benchH (svcNN on bench1, as before).
acct() { if [ "$1" = 1 ]; then echo "svc$2"; else echo "b$1svc$2"; fi; }
echo 'account,owner,contact' >"$work/owners.csv"
for h in $(seq "$hosts"); do
	host=$work/host$h
	mkdir -p "$host/etc/systemd/system/multi-user.target.wants"
	echo "bench$h" >"$host/etc/hostname"
	printf '%032x\n' "$h" >"$host/etc/machine-id"
	: >"$host/etc/passwd" && : >"$host/etc/shadow" && : >"$host/etc/group"
	for i in $(seq -w 0 $((n - 1))); do
		a=$(acct "$h" "$i")
		echo "$a:x:$((2000 + 10#$i)):$((2000 + 10#$i))::/srv/$a:/bin/sh" >>"$host/etc/passwd"
		echo "$a:\$y\$j9T\$benchbenchbenchbench.\$benchhashbenchhashbenchhashbenchhashbench:19000:0:99999:7:::" >>"$host/etc/shadow"
		echo "$a:x:$((2000 + 10#$i)):" >>"$host/etc/group"
		printf '[Service]\nUser=%s\nExecStart=/usr/local/bin/%s\n[Install]\nWantedBy=multi-user.target\n' "$a" "$a" >"$host/etc/systemd/system/$a.service"
		ln -s "/etc/systemd/system/$a.service" "$host/etc/systemd/system/multi-user.target.wants/$a.service"
		echo "$a,bench-team," >>"$work/owners.csv"
	done
done

export ROSTER_SERVER=https://127.0.0.1:$port ROSTER_CA_ROOT=$work/data/root.crt
roster server --data "$work/data" --listen "127.0.0.1:$port" --scan-on-start=false >"$work/server.out" 2>"$work/server.log" &
server=$!
trap 'kill $server ${nullpid:-} ${steppid:-} 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.2; done
ROSTER_TOKEN=$(cat "$work/data/admin.token")
export ROSTER_TOKEN

for h in $(seq "$hosts"); do roster scan --root "$work/host$h" --submit >/dev/null; done
roster owner import "$work/owners.csv" --apply >/dev/null
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
# enroll ACCOUNT HOST DIR ("" as ACCOUNT: the host identity)
enroll() {
	local ticket
	ticket=$(roster enroll ${1:+"$1"} --host "$2" --format json)
	roster-agent enroll --server "$ROSTER_SERVER" --root-fingerprint "$(echo "$ticket" | field root_fingerprint)" \
		--token "$(echo "$ticket" | field token)" --dir "$work/ids/$3" >/dev/null
}
for h in $(seq "$hosts"); do
	pids=()
	for i in $(seq -w 0 $((n - 1))); do
		a=$(acct "$h" "$i")
		enroll "$a" "bench$h" "$a" &
		pids+=($!)
	done
	# The host identity, for batch renewal (renewbench's fresh and replay
	# modes renew only the accounts).
	enroll "" "bench$h" "zhost$h" &
	pids+=($!)
	for p in "${pids[@]}"; do wait "$p"; done
done

targets=(--target "roster,$ROSTER_SERVER,$work/ids,$server")
if [ -n "$null" ]; then
	renewbench serve-null --listen 127.0.0.1:$((port + 1)) --cert "$work/data/server.crt" --key "$work/data/secrets/server.key" >"$work/null.out" 2>&1 &
	nullpid=$!
	for _ in $(seq 50); do grep -q listening "$work/null.out" 2>/dev/null && break; sleep 0.1; done
	targets+=(--target "null,https://127.0.0.1:$((port + 1)),$work/ids,$nullpid")
fi
if [ -n "$stepca" ]; then
	stepbin=${XDG_CACHE_HOME:-$HOME/.cache}/roster-bench/step-ca-v0.30.2
	if [ ! -x "$stepbin" ]; then
		mod=$(mktemp -d /tmp/roster-stepca.XXXXXX)
		(cd "$mod" && go mod init stepcabench >/dev/null 2>&1 &&
			GOFLAGS=-mod=mod go get github.com/smallstep/certificates/cmd/step-ca@v0.30.2 >/dev/null 2>&1 &&
			mkdir -p "$(dirname "$stepbin")" &&
			CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$stepbin" github.com/smallstep/certificates/cmd/step-ca)
		rm -rf "$mod"
	fi
	renewbench stepca-init --dir "$work/stepca" --listen "127.0.0.1:$((port + 2))" >/dev/null
	"$stepbin" "$work/stepca/ca.json" >"$work/stepca.out" 2>&1 &
	steppid=$!
	for _ in $(seq 100); do grep -q 'Serving HTTPS' "$work/stepca.out" 2>/dev/null && break; sleep 0.2; done
	renewbench stepca-enroll --dir "$work/stepca" --url "https://127.0.0.1:$((port + 2))" --ids "$work/stepids" --n $((hosts * n)) >/dev/null
	targets+=(--target "step-ca,https://127.0.0.1:$((port + 2)),$work/stepids,$steppid")
fi
renewbench "${targets[@]}" "$@"
