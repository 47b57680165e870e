package cliout

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
)

// Version is the line `PROGRAM version` prints, the same for roster and
// roster-agent:
//
//	roster-agent v1.4.0 (commit 0123456789ab, go1.26.8, linux/amd64)
//	roster-agent dev (commit 0123456789ab with local changes, go1.26.8, linux/amd64)
//	roster dev (commit unknown, go1.26.8, linux/amd64)
//
// version is the one set at build time (-ldflags -X main.version=...);
// when it is "dev" or empty, the module version of a `go install
// ...@vX.Y.Z` build stands in. The commit comes from the VCS stamp of
// runtime/debug.ReadBuildInfo (vcs.revision, shortened to 12 digits, and
// vcs.modified); it is "unknown" when the binary was built without one
// (-buildvcs=false, or outside a checkout).
func Version(program, version string) string {
	bi, _ := debug.ReadBuildInfo()
	return versionLine(program, version, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// pseudoVersion matches the versions the go command derives from a commit
// (v0.0.0-20261201093831-2b6dff4136e4+dirty): they say no more than the
// commit printed beside them, so such a build is "dev".
var pseudoVersion = regexp.MustCompile(`-(0\.)?[0-9]{14}-[0-9a-f]{12}(\+dirty)?$`)

func versionLine(program, version string, bi *debug.BuildInfo, goVersion, platform string) string {
	commit, modified := "unknown", false
	if bi != nil {
		if (version == "" || version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" && !pseudoVersion.MatchString(bi.Main.Version) {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	if modified && commit != "unknown" {
		commit += " with local changes"
	}
	return fmt.Sprintf("%s %s (commit %s, %s, %s)", program, version, commit, goVersion, platform)
}
