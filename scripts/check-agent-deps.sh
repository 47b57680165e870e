#!/usr/bin/env bash
# Fails when roster-agent links server code: smallstep's certificates module,
# or any of roster's server-side packages (ca, issuer, inventory, store,
# audit, access, server). The agent runs on every host; it must stay small
# and hold nothing of the CA or the inventory. There are no exceptions: the
# host side (discovery, scan, spiffeid, api) lives at the top level.
#
# usage: scripts/check-agent-deps.sh [PACKAGE]   (default ./cmd/roster-agent)
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:-./cmd/roster-agent}

deps=$(go list -deps "$pkg")
bad=$(printf '%s\n' "$deps" | grep -E \
	-e '^github\.com/smallstep/certificates(/|$)' \
	-e '^github\.com/rosterhq/roster/(ca|issuer|inventory|store|audit|access|server)(/|$)' || true)
if [ -n "$bad" ]; then
	echo "check-agent-deps: $pkg must not import server code, but links:" >&2
	# Name who imports each forbidden package, so the fix is obvious.
	go list -deps -f '{{.ImportPath}} {{join .Imports " "}}' "$pkg" |
		while read -r importer imports; do
			for b in $bad; do
				case " $imports " in *" $b "*) echo "  $b (imported by $importer)" >&2 ;; esac
			done
		done
	exit 1
fi
echo "check-agent-deps: ok ($(printf '%s\n' "$deps" | wc -l) packages, no server code)"
