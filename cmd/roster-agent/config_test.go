package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent"
)

func TestParseConfigExample(t *testing.T) {
	b, err := os.ReadFile("testdata/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseConfig("agent.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	want := agent.Config{
		Server:          "https://roster.example:8443",
		RootFingerprint: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Identities: []agent.Identity{
			{
				Name: "billing-batch", Dir: "/var/lib/roster-agent/billing-batch", User: "billing-batch",
				Reload: []agent.ReloadAction{
					{Exec: []string{"/usr/local/bin/billing-reload", "--graceful"}, Timeout: 10 * time.Second},
					{Signal: &agent.SignalAction{PIDFile: "/run/billing.pid", Signal: "HUP"}},
					{SystemctlReload: "billing.service"},
				},
				SSH: &agent.SSHOptions{},
			},
			{Name: "deploy", Dir: "/var/lib/roster-agent/deploy", SSH: &agent.SSHOptions{KeyType: "ecdsa"}},
			{Name: "host", Dir: "/var/lib/roster-agent/host", Scan: &agent.ScanOptions{Interval: time.Hour, Root: "/"},
				Sshd: &agent.SshdOptions{Dir: "/etc/ssh/roster", HostKeys: "/etc/ssh", Refresh: 30 * time.Second,
					Reload: []agent.ReloadAction{{SystemctlReload: "ssh.service"}}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", got, want)
	}
}

// TestInstalledExampleParses keeps the example that install.sh ships valid.
func TestInstalledExampleParses(t *testing.T) {
	b, err := os.ReadFile("../../scripts/agent.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig("agent.yaml.example", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Identities) != 2 || cfg.Identities[0].Scan == nil || cfg.Identities[0].Sshd == nil ||
		len(cfg.Identities[1].Reload) != 3 || cfg.Identities[1].SSH == nil {
		t.Errorf("example parsed as %+v", cfg)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		desc, yaml, wantErr string
	}{
		{desc: "minimal, no server (identity.json remembers it)", yaml: "identities:\n  - {name: a, dir: /a}\n"},
		{desc: "empty file", yaml: "", wantErr: "c.yaml: the file is empty"},
		{desc: "unknown top-level key", yaml: "servr: https://x\nidentities: []\n", wantErr: "c.yaml: line 1: unknown key servr"},
		{desc: "unknown identity key", yaml: "identities:\n  - name: a\n    dir: /a\n    colour: blue\n", wantErr: "c.yaml: line 4: unknown key colour"},
		{desc: "unknown reload key", yaml: "identities:\n  - name: a\n    dir: /a\n    reload:\n      - shell: reload.sh\n", wantErr: "line 5: unknown key shell"},
		{desc: "missing dir", yaml: "identities:\n  - name: a\n  - name: b\n    dir: /b\n", wantErr: "c.yaml:2: identities[0] (a): dir is required"},
		{desc: "missing dir of the second", yaml: "identities:\n  - name: a\n    dir: /a\n  - name: b\n", wantErr: "c.yaml:4: identities[1] (b): dir is required"},
		{desc: "missing name", yaml: "identities:\n  - dir: /a\n", wantErr: "c.yaml:2: identities[0]: name is required"},
		{desc: "no identities", yaml: "server: https://x\n", wantErr: "c.yaml: identities: at least one"},
		{desc: "bad server", yaml: "server: roster:8443\nidentities:\n  - {name: a, dir: /a}\n", wantErr: "c.yaml: server:"},
		{desc: "bad duration", yaml: "identities:\n  - name: a\n    dir: /a\n    scan: {interval: often}\n", wantErr: `line 4: "often" is not a duration`},
		{desc: "duration as a list", yaml: "identities:\n  - name: a\n    dir: /a\n    scan: {interval: [1]}\n", wantErr: "line 4: want a duration"},
		{desc: "bad signal", yaml: "identities:\n  - name: a\n    dir: /a\n    reload:\n      - signal: {pid: 3, signal: BOOM}\n", wantErr: `c.yaml:2: identities[0] (a): reload[0]: signal "BOOM"`},
		{desc: "exec as a string", yaml: "identities:\n  - name: a\n    dir: /a\n    reload:\n      - exec: /bin/reload\n", wantErr: "line 5: cannot unmarshal"},
		{desc: "unknown ssh key", yaml: "identities:\n  - name: a\n    dir: /a\n    ssh: {keytype: rsa}\n", wantErr: "line 4: unknown key keytype"},
		{desc: "bad ssh key type", yaml: "identities:\n  - name: a\n    dir: /a\n    ssh: {key_type: rsa}\n", wantErr: `c.yaml:2: identities[0] (a): ssh.key_type "rsa"`},
		{desc: "sshd relative dir", yaml: "identities:\n  - name: a\n    dir: /a\n    sshd: {dir: etc}\n", wantErr: `c.yaml:2: identities[0] (a): sshd.dir "etc"`},
		{desc: "sshd bad refresh", yaml: "identities:\n  - name: a\n    dir: /a\n    sshd: {refresh: soon}\n", wantErr: `line 4: "soon" is not a duration`},
		{desc: "sshd bad reload", yaml: "identities:\n  - name: a\n    dir: /a\n    sshd:\n      reload: [{}]\n", wantErr: "identities[0] (a): sshd.reload[0]: set exactly one"},
		{desc: "syntax error", yaml: "identities: [\n", wantErr: "c.yaml: "},
		{desc: "two documents", yaml: "identities:\n  - {name: a, dir: /a}\n---\nserver: x\n", wantErr: "more than one YAML document"},
		{desc: "tabs", yaml: "identities:\n\t- name: a\n", wantErr: "c.yaml: "},
	}
	for _, tt := range tests {
		_, err := parseConfig("c.yaml", []byte(tt.yaml))
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "main.") {
			t.Errorf("%s: error names a Go type: %v", tt.desc, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	b, err := os.ReadFile("testdata/agent.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("identities:\n  - {name: a, dir: /a, reload: [{signal: {pid: 1}}]}\n"))
	f.Add([]byte("identities: &a [*a]\n"))
	f.Add([]byte("identities:\n  - name: a\n    dir: /a\n    scan: {interval: 1h}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// Whatever parses is a valid configuration.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}
