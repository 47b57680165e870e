package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/discovery/sftpfs"
	"github.com/rosterhq/roster/scan"
)

// procFixture is the fixture root with discovery's proc fixture as its
// /proc: processes of root and deploy, listening sockets held by them.
func procFixture(t *testing.T) string {
	t.Helper()
	root := copyTree(t, fixtureRoot)
	if err := os.Mkdir(filepath.Join(root, "proc"), 0o555); err != nil {
		t.Fatal(err)
	}
	proc := filepath.Join("..", "..", "discovery", "testdata", "proc")
	if out, err := execCommand(context.Background(), "cp", "-a", proc+"/.", filepath.Join(root, "proc")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return root
}

// TestSSHScanProc: a target whose /proc is readable over SFTP has its
// processes and listening sockets read through it with the local parsers:
// the remote report is the local scan of the same root with that /proc.
func TestSSHScanProc(t *testing.T) {
	s := newSFTPSSHD(t, procFixture(t), false)
	local, remote := s.scanBoth(t, "--proc", filepath.Join(s.chroot, "proc"))
	if !local.Host.Live || !remote.Host.Live {
		t.Errorf("live: local %v, remote %v, want both", local.Host.Live, remote.Host.Live)
	}
	// What the proc fixture says runs as root and as deploy.
	for _, want := range []struct{ account, usage string }{
		{"root", "process 1 systemd"}, {"root", "process 1100 dhclient"}, {"root", "listens tcp6 :::22"},
		{"deploy", "process 950 curl"}, {"alice", "listens tcp 127.0.0.1:8080"},
	} {
		if !strings.Contains(accountLive(remote, want.account), want.usage) {
			t.Errorf("remote report: %s has no %q: %s", want.account, want.usage, accountLive(remote, want.account))
		}
	}
	// A warning of the local scan names the proc directory by its host
	// path, the remote one by the target's.
	for i, w := range local.Warnings {
		if rest, ok := strings.CutPrefix(w.File, s.chroot); ok {
			local.Warnings[i].File = rest
		}
	}
	assertSameReport(t, local, remote)
}

// accountLive is what the report says runs as account: its processes and
// listening sockets, one a line.
func accountLive(rep *scan.Report, account string) string {
	var b strings.Builder
	for _, a := range rep.Accounts {
		if a.Name != account {
			continue
		}
		for _, u := range a.UsedBy {
			if u.Type == scan.UsageProcess {
				fmt.Fprintf(&b, "process %d %s\n", u.PID, u.Name)
			}
		}
		for _, l := range a.Exposure.Listening {
			fmt.Fprintf(&b, "listens %s %s:%d\n", l.Proto, l.Address, l.Port)
		}
	}
	return b.String()
}

// TestSSHScanProcUnreadable: a target whose /proc is there but cannot be
// listed by the scanner's account (a non-root SFTP account, /proc mode
// 0700) is scanned without live state, with a warning naming /proc.
func TestSSHScanProcUnreadable(t *testing.T) {
	root := procFixture(t)
	if err := os.Chmod(filepath.Join(root, "proc"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := newSFTPSSHDAs(t, root, false, "nobody")
	out, stderr, code := rosterScan(t, nil, s.sshScanArgs(s.knownHosts, "--format", "json")...)
	if code != 0 {
		t.Fatalf("remote scan: exit %d: %s", code, stderr)
	}
	rep := decodeReport(t, []byte(out))
	if rep.Host.Live || len(rep.Accounts) == 0 {
		t.Errorf("live %v with %d accounts, want not live, the accounts read", rep.Host.Live, len(rep.Accounts))
	}
	var proc []string
	for _, w := range rep.Warnings {
		if w.File == "/proc" {
			proc = append(proc, w.Message)
		}
	}
	if want := "no live processes or sockets: cannot list /proc: permission denied"; len(proc) != 1 || proc[0] != want {
		t.Errorf("warnings about /proc: %q, want [%q]", proc, want)
	}
	if live := accountLive(rep, "root"); live != "" {
		t.Errorf("root runs things over an unreadable /proc:\n%s", live)
	}
}

// TestSSHScanEntryCap: against a real sshd, a directory one entry over
// the cap (lowered to 50) is refused with a warning naming it and the cap,
// and the rest of the host is scanned; at the cap it is read.
func TestSSHScanEntryCap(t *testing.T) {
	root := copyTree(t, fixtureRoot)
	cron := filepath.Join(root, "etc", "cron.d")
	ents, err := os.ReadDir(cron)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ents); i < 51; i++ {
		os.WriteFile(filepath.Join(cron, fmt.Sprintf("job%02d", i)), []byte("# nothing\n"), 0o644)
	}
	s := newSFTPSSHD(t, root, false)
	auth, closeAuth, err := sshAuth(s.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAuth()
	hk, err := hostKeyCallback(s.knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	target, err := parseSSHTarget(s.target())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cap     int
		warning string
	}{
		{50, "directory exceeds the scanner's entry cap (50 entries)"},
		{51, ""},
	} {
		sc := &sshScanner{auth: auth, hostKey: hk, key: []byte("0123456789abcdef0123456789abcdef"), timeout: time.Minute,
			fsOpts: sftpfs.Options{MaxDirEntries: tc.cap}}
		rep, err := sc.scanHost(context.Background(), target)
		if err != nil {
			t.Fatalf("cap %d: %v", tc.cap, err)
		}
		var got []string
		for _, w := range rep.Warnings {
			if w.File == "/etc/cron.d" || strings.Contains(w.Message, "entry cap") {
				got = append(got, w.Message)
			}
		}
		switch {
		case tc.warning == "" && len(got) != 0:
			t.Errorf("cap %d: 51 entries refused: %q", tc.cap, got)
		case tc.warning != "" && (len(got) != 1 || !strings.Contains(got[0], tc.warning) || !strings.Contains(got[0], "/etc/cron.d")):
			t.Errorf("cap %d: warnings %q, want one naming /etc/cron.d and %q", tc.cap, got, tc.warning)
		}
		if len(rep.Accounts) == 0 {
			t.Errorf("cap %d: no accounts", tc.cap)
		}
	}
}
