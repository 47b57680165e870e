package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAgentDeps runs scripts/check-agent-deps.sh: the agent links no
// server code, and the check does catch a package that does (ca/catest
// embeds the CA).
func TestAgentDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("lists dependencies of several packages")
	}
	out, err := exec.Command("../../scripts/check-agent-deps.sh").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "check-agent-deps: ok") {
		t.Fatalf("roster-agent: %v\n%s", err, out)
	}
	out, err = exec.Command("../../scripts/check-agent-deps.sh", "./ca/catest").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "github.com/smallstep/certificates") || !strings.Contains(string(out), "github.com/rosterhq/roster/ca (imported by github.com/rosterhq/roster/ca/catest)") {
		t.Fatalf("check passed a package that embeds the CA: %v\n%s", err, out)
	}
}
