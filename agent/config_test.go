package agent

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		return Config{Identities: []Identity{{Name: "a", Dir: "/var/lib/roster-agent/a"}}}
	}
	tests := []struct {
		desc    string
		mod     func(*Config)
		wantErr string
	}{
		{desc: "minimal", mod: func(*Config) {}},
		{desc: "server and fingerprint", mod: func(c *Config) {
			c.Server, c.RootFingerprint = "https://roster.example:8443", strings.Repeat("ab", 32)
		}},
		{desc: "no identities", mod: func(c *Config) { c.Identities = nil }, wantErr: "identities: at least one"},
		{desc: "http server", mod: func(c *Config) { c.Server = "http://roster" }, wantErr: "server: "},
		{desc: "short fingerprint", mod: func(c *Config) { c.RootFingerprint = "abcd" }, wantErr: "root_fingerprint: "},
		{desc: "no name", mod: func(c *Config) { c.Identities[0].Name = "" }, wantErr: "identities[0]: name is required"},
		{desc: "no dir", mod: func(c *Config) { c.Identities[0].Dir = "" }, wantErr: "identities[0] (a): dir is required"},
		{desc: "same name", mod: func(c *Config) {
			c.Identities = append(c.Identities, Identity{Name: "a", Dir: "/x"})
		}, wantErr: "identities[1] (a): name is used twice"},
		{desc: "same dir", mod: func(c *Config) {
			c.Identities = append(c.Identities, Identity{Name: "b", Dir: c.Identities[0].Dir})
		}, wantErr: "identities[1] (b): dir"},
		{desc: "bad reload", mod: func(c *Config) { c.Identities[0].Reload = []ReloadAction{{}} }, wantErr: "identities[0] (a): reload[0]: set exactly one"},
		{desc: "two scans", mod: func(c *Config) {
			c.Identities[0].Scan = &ScanOptions{}
			c.Identities = append(c.Identities, Identity{Name: "b", Dir: "/b", Scan: &ScanOptions{}})
		}, wantErr: "only the host identity"},
		{desc: "ssh", mod: func(c *Config) { c.Identities[0].SSH = &SSHOptions{} }},
		{desc: "ssh ecdsa", mod: func(c *Config) { c.Identities[0].SSH = &SSHOptions{KeyType: KeyECDSA} }},
		{desc: "ssh rsa", mod: func(c *Config) { c.Identities[0].SSH = &SSHOptions{KeyType: KeyRSA} },
			wantErr: `identities[0] (a): ssh.key_type "rsa": want ed25519 or ecdsa`},
		{desc: "sshd", mod: func(c *Config) {
			c.Identities[0].Sshd = &SshdOptions{Dir: "/etc/ssh/roster", HostKeys: "/etc/ssh", Refresh: time.Minute,
				Reload: []ReloadAction{{SystemctlReload: "ssh.service"}}}
		}},
		{desc: "two sshd", mod: func(c *Config) {
			c.Identities[0].Sshd = &SshdOptions{}
			c.Identities = append(c.Identities, Identity{Name: "b", Dir: "/b", Sshd: &SshdOptions{}})
		}, wantErr: "identities[1] (b): sshd: only the host identity"},
		{desc: "sshd relative dir", mod: func(c *Config) { c.Identities[0].Sshd = &SshdOptions{Dir: "roster"} },
			wantErr: `identities[0] (a): sshd.dir "roster": want an absolute path`},
		{desc: "sshd relative host keys", mod: func(c *Config) { c.Identities[0].Sshd = &SshdOptions{HostKeys: "etc"} },
			wantErr: `sshd.host_keys "etc": want an absolute path`},
		{desc: "sshd dir is the identity dir", mod: func(c *Config) { c.Identities[0].Sshd = &SshdOptions{Dir: "/var/lib/roster-agent/a/"} },
			wantErr: "sshd.dir must not be the identity directory"},
		{desc: "sshd negative refresh", mod: func(c *Config) { c.Identities[0].Sshd = &SshdOptions{Refresh: -1} },
			wantErr: "sshd.refresh must not be negative"},
		{desc: "sshd bad reload", mod: func(c *Config) { c.Identities[0].Sshd = &SshdOptions{Reload: []ReloadAction{{}}} },
			wantErr: "identities[0] (a): sshd.reload[0]: set exactly one"},
		{desc: "negative interval", mod: func(c *Config) { c.Identities[0].Scan = &ScanOptions{Interval: -time.Second} }, wantErr: "interval must not be negative"},
	}
	for _, tt := range tests {
		c := ok()
		tt.mod(&c)
		err := c.Validate()
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
	}
}
