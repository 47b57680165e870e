package discovery

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/hostile"
	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
)

// terminalSafe fails when out holds a character a terminal would act on
// or hide (anything scan.UnsafeAt flags, outside the line breaks).
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if i := textout.UnsafeAt(line); i >= 0 {
			t.Errorf("%s: unsafe character at byte %d of line %q", what, i, line)
		}
	}
}

// TestScanHostileHost scans a host whose files hold the injection corpus
// in every place the report quotes them (file and unit names, paths,
// group names, comments, commands) and names that the inventory cannot
// use: the report must still validate, and nothing in it or in the table
// may act on a terminal.
func TestScanHostileHost(t *testing.T) {
	inj := hostile.InjectionStrings()
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\n" +
			"ro\u200bot:x:0:0:hidden second root:/root:/bin/bash\n" + // refused name, warned with its UID
			"svc:x:990:990:app:/srv/\x1b[2Jsvc:/bin/sh\u202e\n" +
			"dyn:x:991:991::/nonexistent:/usr/sbin/nologin\n",
		"etc/shadow":                             "ro\u200bot:$6$x$hiddenrootsecret:19000::::::\n",
		"etc/group":                              "root:x:0:\nsvc:x:990:\nadm\u202egrp:x:4:svc\n",
		"etc/hostname":                           "web\u202e1\n",
		"etc/systemd/system/evil\x1b[2J.service": "[Service]\nUser=svc\nExecStart=/bin/app " + strings.Join(inj[:12], " ") + "\n",
		"etc/systemd/system/multi-user.target.wants/evil\x1b[2J.service":   "-> /etc/systemd/system/evil\x1b[2J.service",
		"etc/systemd/system/bad\u200buser.service":                         "[Service]\nDynamicUser=yes\nExecStart=/bin/x\n",
		"etc/systemd/system/multi-user.target.wants/bad\u200buser.service": "-> /etc/systemd/system/bad\u200buser.service",
		"etc/cron.d/hostile": "* * * * * svc /bin/echo \x1b]0;owned\x07 \u2066x\u2069\n",
	}
	rep := scanRoot(t, Options{Root: buildRoot(t, files).Dir()})

	if rep.Host.Hostname != "" {
		t.Errorf("hostname %q accepted", rep.Host.Hostname)
	}
	for _, a := range rep.Accounts {
		if a.UID == 0 && a.Name != "root" {
			t.Errorf("account %q reported", a.Name)
		}
	}
	warned := false
	for _, w := range rep.Warnings {
		if w.File == "/etc/passwd" && w.Line == 2 && strings.Contains(w.Message, "UID 0 not reported") && strings.Contains(w.Message, `ro\u200bot`) {
			warned = true
		}
		if w.File == "/etc/shadow" {
			t.Errorf("shadow warned about the refused account: %+v", w)
		}
	}
	if !warned {
		t.Errorf("no warning names the refused UID 0 account: %+v", rep.Warnings)
	}
	svc := findAccount(t, rep, "svc")
	if len(svc.UsedBy) != 2 || !strings.Contains(svc.Home, `\x1b[2J`) {
		t.Errorf("svc: home %q, used by %+v", svc.Home, svc.UsedBy)
	}

	// The report is valid but for the hostname the host did not give,
	// and holds nothing a terminal acts on.
	rep.Host.Hostname = "web1"
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scan.Decode(bytes.NewReader(js), 0); err != nil {
		t.Fatalf("the scanner's report of a hostile host is refused: %v", err)
	}
	for format, out := range outputs(t, rep) {
		terminalSafe(t, format, out)
	}
	assertReportClean(t, rep, []string{"hiddenrootsecret"})
}

// TestWriteTableInjections renders a report that did not come from the
// scanner and holds the injection corpus everywhere the table prints.
func TestWriteTableInjections(t *testing.T) {
	for _, in := range hostile.Injections() {
		s := in.Value
		rep := &scan.Report{
			Host: scan.Host{Hostname: s, Root: s, OS: scan.OS{PrettyName: s}},
			Accounts: []scan.Account{{
				Name: s, Kind: s, Privileged: true, PrivilegeReasons: []string{s}, SensitiveRead: true, SensitiveReadReasons: []string{s},
				Password:    scan.Password{Status: s, Algorithm: s},
				Credentials: []scan.Credential{{Type: s, Name: s, Location: s, Findings: []string{s}}},
				UsedBy:      []scan.Usage{{Type: s, Name: s}},
				Exposure:    scan.Exposure{Listening: []scan.Socket{{Proto: s, Address: s}}},
			}},
			Shared: []scan.SharedCredential{{Type: s, Fingerprint: s, Accounts: []string{s}, Locations: []string{s}}},
		}
		var buf bytes.Buffer
		if err := (TableOptions{All: true}).Write(&buf, rep); err != nil {
			t.Fatal(err)
		}
		terminalSafe(t, in.Name, buf.String())
		if n := strings.Count(buf.String(), "\n"); n != 18 {
			t.Errorf("%s: %d lines, want 18: a value started a line:\n%s", in.Name, n, buf.String())
		}
	}
}

// TestFixtureReportsValidate checks that the scanner's reports of the
// fixture hosts pass the schema's validation after a JSON round trip.
func TestFixtureReportsValidate(t *testing.T) {
	for _, host := range []string{"debian-web", "rhel-db", "suse-app"} {
		rep := scanRoot(t, Options{Root: "testdata/hosts/" + host})
		js, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := scan.Decode(bytes.NewReader(js), 0); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}
