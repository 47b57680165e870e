package cliout

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	stamp := func(rev, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/rosterhq/roster", Version: "(devel)"}}
		if rev != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.revision", Value: rev})
		}
		if modified != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.modified", Value: modified})
		}
		return bi
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		desc    string
		version string
		bi      *debug.BuildInfo
		want    string
	}{
		{desc: "release from a clean checkout", version: "v1.4.0", bi: stamp(rev, "false"),
			want: "roster-agent v1.4.0 (commit 0123456789ab, go1.26.8, linux/amd64)"},
		{desc: "local changes", version: "dev", bi: stamp(rev, "true"),
			want: "roster-agent dev (commit 0123456789ab with local changes, go1.26.8, linux/amd64)"},
		{desc: "no VCS stamp", version: "dev", bi: stamp("", ""),
			want: "roster-agent dev (commit unknown, go1.26.8, linux/amd64)"},
		{desc: "no build info", version: "", bi: nil,
			want: "roster-agent dev (commit unknown, go1.26.8, linux/amd64)"},
		{desc: "go install @version", version: "dev", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.5.0"}},
			want: "roster-agent v1.5.0 (commit unknown, go1.26.8, linux/amd64)"},
		{desc: "short revision", version: "dev", bi: stamp("abc123", "false"),
			want: "roster-agent dev (commit abc123, go1.26.8, linux/amd64)"},
		{desc: "pseudo-version from the VCS stamp", version: "dev",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201093831-2b6dff4136e4+dirty"}},
			want: "roster-agent dev (commit unknown, go1.26.8, linux/amd64)"},
	}
	for _, tt := range tests {
		if got := versionLine("roster-agent", tt.version, tt.bi, "go1.26.8", "linux/amd64"); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.desc, got, tt.want)
		}
	}
	// The real one, whatever this test binary was built with.
	if got := Version("roster", "dev"); !strings.HasPrefix(got, "roster dev (commit ") {
		t.Errorf("Version = %q", got)
	}
}
