#!/usr/bin/env bash
# The whole roster story on one machine, on loopback, in a temp directory:
# a demo host with a service account that logs in with a static password,
# its inventory, an owner, the rollout plan per tier (a vendor and an
# account no scan reaches included), an enrollment, an agent keeping a
# short-lived certificate fresh and scanning the host, and the account
# becoming "managed" once the static password is gone.
#
# usage: scripts/demo.sh [WORKDIR]     (default: a new temp directory)
# Nothing outside WORKDIR is changed; the server listens on 127.0.0.1:18443.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/roster-demo.XXXXXX)}
mkdir -p "$work"
cd "$work"
say() { printf '\n$ %s\n' "$*"; }
# show prints a command as it would be typed (arguments with spaces quoted).
show() {
	local shown=() a
	for a in "$@"; do
		case "$a" in *' '*) shown+=("\"$a\"") ;; *) shown+=("$a") ;; esac
	done
	say "${shown[*]}"
}
# run shows a command, then runs it; refused does the same for one that is
# meant to fail (its error and hint are part of the story).
run() { show "$@"; "$@"; }
refused() { show "$@"; "$@" || true; }

echo "building roster and roster-agent into $work/bin"
(cd "$repo" && go build -o "$work/bin/" ./cmd/roster ./cmd/roster-agent)
PATH="$work/bin:$PATH"

# A demo host root: billing runs billing.service and still has a password.
host=$work/host
mkdir -p "$host/etc/systemd/system/multi-user.target.wants" "$host/srv/billing"
echo app1 >"$host/etc/hostname"
echo 8f14e45fceea167a5a36dedd4bea2543 >"$host/etc/machine-id"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$host/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/bash\nbilling:x:1001:1001:billing batch:/srv/billing:/bin/sh\nalice:x:1002:1002:Alice:/home/alice:/bin/bash\n' >"$host/etc/passwd"
printf 'root:*:19000:0:99999:7:::\nbilling:$y$j9T$demodemodemodemodemo.$demohashdemohashdemohashdemohashdemohas:19000:0:99999:7:::\nalice:$y$j9T$alicealicealicealice.$alicehashalicehashalicehashalicehashalic:19500:0:90:7:::\n' >"$host/etc/shadow"
chmod 600 "$host/etc/shadow"
printf 'root:x:0:\nbilling:x:1001:\nalice:x:1002:\nsudo:x:27:alice\n' >"$host/etc/group"
printf '[Unit]\nDescription=billing batch\n[Service]\nUser=billing\nEnvironment=DB_PASSWORD=demo-secret-not-real\nExecStart=/usr/local/bin/billing-batch\n[Install]\nWantedBy=multi-user.target\n' >"$host/etc/systemd/system/billing.service"
ln -sf /etc/systemd/system/billing.service "$host/etc/systemd/system/multi-user.target.wants/billing.service"
# deploy: passwordless sudo and an SSH key; etl: the same database password in a .pgpass.
printf 'deploy:x:1003:1003:deploy user:/home/deploy:/bin/bash\netl:x:1004:1004:nightly etl:/home/etl:/bin/sh\n' >>"$host/etc/passwd"
printf 'deploy:!:19000:0:99999:7:::\netl:*:19000:0:99999:7:::\n' >>"$host/etc/shadow"
printf 'deploy:x:1003:\netl:x:1004:\n' >>"$host/etc/group"
mkdir -p "$host/etc/sudoers.d" "$host/home/deploy/.ssh" "$host/home/etl" "$host/etc/cron.d"
printf '#includedir /etc/sudoers.d\n' >"$host/etc/sudoers"
printf 'deploy ALL=(ALL) NOPASSWD: ALL\n' >"$host/etc/sudoers.d/deploy"
ssh-keygen -q -t ed25519 -N '' -C ci@build -f "$work/deploy_key"
cp "$work/deploy_key.pub" "$host/home/deploy/.ssh/authorized_keys"
printf 'db.internal:5432:billing:billing:demo-secret-not-real\n' >"$host/home/etl/.pgpass"
chmod 600 "$host/home/etl/.pgpass"
printf '30 2 * * * etl /usr/local/bin/nightly-etl\n' >"$host/etc/cron.d/etl"

export ROSTER_SERVER=https://127.0.0.1:18443 ROSTER_CA_ROOT=$work/data/root.crt
say "roster server --data $work/data --listen 127.0.0.1:18443 --scan-on-start=false --default-validity 5m &"
roster server --data "$work/data" --listen 127.0.0.1:18443 --scan-on-start=false --default-validity 5m >"$work/server.out" 2>"$work/server.log" &
server=$!
trap 'kill $server ${agent:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.2; done
cat "$work/server.out"
export ROSTER_TOKEN=$(cat "$work/data/admin.token")

run roster scan --root "$host"
run roster scan --root "$host" --submit
run roster hosts tag app1 env=prod
run roster report
say "roster enroll billing --host app1"
roster enroll billing --host app1 || true
run roster owner set billing team-billing --contact billing-oncall@example.com
run roster exception add billing --reason "password kept until the agent rollout" --owner team-billing --expires "$(date -u -d '+30 days' +%F)"

# The plan: a phase per tier, in order, each with its end recorded before the next begins.
day() { date -u -d "$1" +%F; }
refused roster plan set 2 --target short_lived_cert --owner team-net --start "$(day today)" --end "$(day '+120 days')"
run roster plan set 1 --target hardware_bound --owner team-security --start "$(day today)" --end "$(day '+60 days')" --note "sudo logins move to FIDO keys"
run roster plan set 2 --target short_lived_cert --owner team-net --start "$(day '+30 days')" --end "$(day '+120 days')"
run roster plan set 3 --target short_lived_cert --owner team-apps --start "$(day '+30 days')" --end "$(day '+180 days')"
run roster plan set 4 --target short_lived_cert --owner team-apps --start "$(day today)" --max-exception 60d
run roster owner set deploy team-ops
refused roster exception add deploy --reason "CI deploy key until the runner uses certificates" --owner team-ops --expires "$(day '+45 days')"
run roster exception add deploy --reason "CI deploy key until the runner uses certificates" --owner team-ops --expires "$(day '+25 days')"
# A third party, and an account no scan reaches: the vendor's SFTP gateway login.
run roster vendor add acme --owner team-vendors --contact ops@acme.example --route sftp --factor password --on-lapse revoke
run roster account add acme-drop --system "sftp gateway" --kind appliance --credential static_password --owner team-vendors --env prod --remedy gateway --purpose "acme drops invoices"
run roster account tag acme-drop third-party=acme
run roster plan

ticket=$(roster enroll billing --host app1 --format json)
hostticket=$(roster enroll --host app1 --format json)
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
fp=$(echo "$ticket" | field root_fingerprint)
say "roster enroll billing --host app1    # prints the token and the agent command"
roster enroll billing --host app1 | sed 's/ret_[A-Za-z0-9_-]*/ret_…/g'
say "roster-agent enroll --server $ROSTER_SERVER --root-fingerprint $fp --token ret_… --dir $work/agent/billing"
roster-agent enroll --server "$ROSTER_SERVER" --root-fingerprint "$fp" --token "$(echo "$ticket" | field token)" --dir "$work/agent/billing"
say "roster enroll --host app1    # the host's own identity: it submits the host's scans"
roster enroll --host app1 | sed 's/ret_[A-Za-z0-9_-]*/ret_…/g'
say "roster-agent enroll --server $ROSTER_SERVER --root-fingerprint $fp --token ret_… --dir $work/agent/host"
roster-agent enroll --server "$ROSTER_SERVER" --root-fingerprint "$fp" --token "$(echo "$hostticket" | field token)" --dir "$work/agent/host"

say "cat $work/agent.yaml    # one entry per identity the agent keeps (scripts/agent.yaml.example has every option)"
cat >"$work/agent.yaml" <<YAML
identities:
  - name: billing
    dir: $work/agent/billing
    reload:
      - exec: ["/bin/sh", "-c", "echo reloaded billing >> $work/reloads"]
  - name: host
    dir: $work/agent/host
    scan:
      interval: 5s
      root: $host
YAML
cat "$work/agent.yaml"
say "roster-agent run --config $work/agent.yaml &"
roster-agent run --config "$work/agent.yaml" 2>"$work/agent.log" &
agent=$!
sleep 2
run openssl x509 -in "$work/agent/billing/cert.pem" -noout -subject -ext subjectAltName -dates
run roster-agent status --config "$work/agent.yaml"

say "# the service moves to its certificate; the static password is removed from the host"
sed -i 's/^billing:[^:]*:/billing:!:/' "$host/etc/shadow"
sed -i '/DB_PASSWORD/d' "$host/etc/systemd/system/billing.service"
sleep 8
run roster accounts show billing
run roster report
run roster plan history
run roster plan chart --output "$work/plan.svg"
run roster audit verify
echo
echo "demo files are in $work (server log: server.log, agent log: agent.log)"
