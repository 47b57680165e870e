package agent

import (
	"os/exec"
	"testing"

	"github.com/rosterhq/roster/agent/agenttest"
)

// runCmd runs a real program and returns its combined output.
func runCmd(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

// need returns the path of an external program the test drives.
func need(t *testing.T, name string) string { return agenttest.Tool(t, name) }
