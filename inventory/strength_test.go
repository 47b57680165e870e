package inventory_test

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// TestStrengthScale checks the scale's order and its names: machine names
// in JSON and for flags, readable names in tables.
func TestStrengthScale(t *testing.T) {
	tests := []struct {
		s              inventory.Strength
		name, readable string
	}{
		{inventory.StrengthSharedSecret, "shared_secret", "shared static secret"},
		{inventory.StrengthEmptyPassword, "empty_password", "empty password"},
		{inventory.StrengthStaticPassword, "static_password", "static password"},
		{inventory.StrengthStaticSSHKey, "static_ssh_key", "static ssh key"},
		{inventory.StrengthSecretFile, "secret_file", "secret in file or environment"},
		{inventory.StrengthLongLivedCert, "long_lived_cert", "long-lived certificate"},
		{inventory.StrengthShortLivedCert, "short_lived_cert", "short-lived certificate"},
		{inventory.StrengthHardwareBound, "hardware_bound", "hardware-bound key"},
		{inventory.StrengthNone, "none", "no credential"},
	}
	if len(tests) != len(inventory.Strengths) {
		t.Fatalf("%d levels tested, %d on the scale", len(tests), len(inventory.Strengths))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if inventory.Strengths[i] != tc.s || (i > 0 && tests[i-1].s >= tc.s) {
				t.Errorf("level %d: %v out of order", i, tc.s)
			}
			if tc.s.Name() != tc.name || tc.s.String() != tc.readable {
				t.Errorf("names %q, %q; want %q, %q", tc.s.Name(), tc.s.String(), tc.name, tc.readable)
			}
			if p, err := inventory.ParseStrength(tc.name); err != nil || p != tc.s {
				t.Errorf("ParseStrength(%q) = %v, %v", tc.name, p, err)
			}
			b, err := json.Marshal(tc.s)
			if err != nil || string(b) != `"`+tc.name+`"` {
				t.Errorf("JSON %s, %v", b, err)
			}
			var back inventory.Strength
			if err := json.Unmarshal(b, &back); err != nil || back != tc.s {
				t.Errorf("JSON round trip %v, %v", back, err)
			}
		})
	}
	for _, bad := range []string{"static password", "Static_Password", "tpm", "strength 3"} {
		var ie *inventory.InvalidError
		if _, err := inventory.ParseStrength(bad); !errors.As(err, &ie) {
			t.Errorf("ParseStrength(%q): %v, want a refusal", bad, err)
		}
	}
	if _, err := json.Marshal(inventory.Strength(99)); err == nil {
		t.Error("a level off the scale marshals")
	}
}

func fido(location, secret string) scan.Credential {
	c := inventorytest.Cred(scan.CredSSHAuthorizedKey, location, secret)
	c.Algorithm = scan.KeyAlgoSKEd25519
	return c
}

// TestStrengthOfAccount: an account's level is its weakest live
// credential, and StrengthBy names it.
func TestStrengthOfAccount(t *testing.T) {
	plain := inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/a/.ssh/authorized_keys:2", "plain")
	plain.Algorithm = "ssh-ed25519"
	ecdsaSK := fido("/home/a/.ssh/authorized_keys:3", "sk2")
	ecdsaSK.Algorithm = scan.KeyAlgoSKECDSA256
	for _, tc := range []struct {
		desc  string
		creds []scan.Credential
		want  inventory.Strength
		by    string
	}{
		{"nothing", nil, inventory.StrengthNone, ""},
		{"FIDO key only", []scan.Credential{fido("/home/a/.ssh/authorized_keys:1", "sk")}, inventory.StrengthHardwareBound,
			"sk-ssh-ed25519@openssh.com key at /home/a/.ssh/authorized_keys:1 on h"},
		{"ecdsa-sk key", []scan.Credential{ecdsaSK}, inventory.StrengthHardwareBound,
			"sk-ecdsa-sha2-nistp256@openssh.com key at /home/a/.ssh/authorized_keys:3 on h"},
		{"FIDO and plain key", []scan.Credential{fido("/home/a/.ssh/authorized_keys:1", "sk"), plain}, inventory.StrengthStaticSSHKey,
			"ssh_authorized_key at /home/a/.ssh/authorized_keys:2 on h"},
		{"secret file and FIDO key", []scan.Credential{fido("/k:1", "sk"), inventorytest.Cred(scan.CredSecretFile, "/var/lib/a/.pgpass", "p")},
			inventory.StrengthSecretFile, "secret_file at /var/lib/a/.pgpass on h"},
		{"password and key", []scan.Credential{plain, inventorytest.Cred(scan.CredPassword, "/etc/shadow:4", "pw")}, inventory.StrengthStaticPassword,
			"password at /etc/shadow:4 on h"},
		{"empty password", []scan.Credential{{Type: scan.CredEmptyPassword, Location: "/etc/shadow:5"}}, inventory.StrengthEmptyPassword,
			"empty_password at /etc/shadow:5 on h"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := open(t)
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 1, tc.creds...)))
			a, err := inv.GetAccount(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if a.Strength != tc.want || a.StrengthBy != tc.by {
				t.Errorf("strength %v by %q, want %v by %q", a.Strength, a.StrengthBy, tc.want, tc.by)
			}
		})
	}
}

// TestStrengthOfCertificates: a 24-hour certificate is short-lived, a
// longer one long-lived, and a FIDO key next to a certificate leaves the
// certificate as the weakest credential.
func TestStrengthOfCertificates(t *testing.T) {
	for _, tc := range []struct {
		desc     string
		validity time.Duration
		creds    []scan.Credential
		want     inventory.Strength
	}{
		{"24 hours", 24 * time.Hour, nil, inventory.StrengthShortLivedCert},
		{"7 days", 7 * 24 * time.Hour, nil, inventory.StrengthLongLivedCert},
		{"24 hours and a FIDO key", 24 * time.Hour, []scan.Credential{fido("/k:1", "sk")}, inventory.StrengthShortLivedCert},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := open(t)
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5, tc.creds...)))
			if err := inv.RecordIssued(ctx, "h", "app", "01", t0.Add(-time.Minute), t0.Add(tc.validity), false); err != nil {
				t.Fatal(err)
			}
			a, err := inv.GetAccount(ctx, "app")
			if err != nil {
				t.Fatal(err)
			}
			if a.Strength != tc.want || a.StrengthBy == "" {
				t.Errorf("strength %v by %q, want %v", a.Strength, a.StrengthBy, tc.want)
			}
		})
	}
}

func person(name string, uid int, privileged bool, creds ...scan.Credential) scan.Account {
	a := inventorytest.Account(name, uid, creds...)
	a.Kind, a.Shell, a.Home = scan.KindHuman, "/bin/bash", "/home/"+name
	if privileged {
		a.Privileged, a.PrivilegeReasons = true, []string{"sudo ALL via group sudo"}
	}
	return a
}

// TestReportStrengthDistribution: per tier, how many accounts sit at each
// level, and tier 1's privileged people on their own line by login
// strength; unprivileged people stay out.
func TestReportStrengthDistribution(t *testing.T) {
	inv, _ := open(t)
	root := inventorytest.Account("root", 0, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "rootpw"))
	root.Privileged, root.PrivilegeReasons = true, []string{"UID 0"}
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0,
		root,
		inventorytest.Account("app", 990),
		inventorytest.Account("batch", 991, inventorytest.Cred(scan.CredSecretEnv, "unit batch", "s")),
		person("alice", 1000, true, fido("/home/alice/.ssh/authorized_keys:1", "alice-sk")),
		person("bob", 1001, true, inventorytest.Cred(scan.CredPassword, "/etc/shadow:3", "bobpw")),
		person("carol", 1002, true, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/carol/.ssh/authorized_keys:1", "carol-key")),
		person("dave", 1003, false, inventorytest.Cred(scan.CredPassword, "/etc/shadow:5", "davepw")),
	))
	if err := inv.RecordIssued(ctx, "h", "app", "01", t0.Add(-time.Minute), t0.Add(24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	rep, err := inv.Report(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tier   inventory.Tier
		want   map[string]int
		people map[string]int // nil: no people's line
	}{
		{inventory.TierPrivileged, map[string]int{"static_password": 1},
			map[string]int{"hardware_bound": 1, "static_password": 1, "static_ssh_key": 1}},
		{inventory.TierExternal, map[string]int{}, nil},
		{inventory.TierCritical, map[string]int{}, nil},
		{inventory.TierRest, map[string]int{"short_lived_cert": 1, "secret_file": 1}, nil},
	} {
		t.Run(tc.tier.String(), func(t *testing.T) {
			ts := rep.Tiers[tc.tier-1]
			if !maps.Equal(ts.ByStrength, tc.want) {
				t.Errorf("by strength %v, want %v", ts.ByStrength, tc.want)
			}
			switch {
			case tc.people == nil && ts.People != nil:
				t.Errorf("people %+v in tier %d", ts.People, tc.tier)
			case tc.people != nil && (ts.People == nil || !maps.Equal(ts.People.ByStrength, tc.people) || ts.People.Accounts != 3):
				t.Errorf("people %+v, want 3 accounts %v", ts.People, tc.people)
			}
			if ts.Target != 0 || ts.BelowTarget != nil {
				t.Errorf("target %v below %v before any phase sets one", ts.Target, ts.BelowTarget)
			}
		})
	}
	if rep.Humans != 4 {
		t.Errorf("people's accounts %d, want 4 (dave stays out of the tiers)", rep.Humans)
	}
	b, err := json.Marshal(rep.Tiers[0])
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if _, ok := back["target"]; ok {
		t.Errorf("target in JSON without a target: %s", b)
	}
}
