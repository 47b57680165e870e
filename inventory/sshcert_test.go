package inventory_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// sshCAFingerprint makes an SSH CA key with ssh-keygen and returns its
// fingerprint as ssh-keygen -l prints it. Missing ssh-keygen fails the
// test under CI=true and skips it elsewhere.
func sshCAFingerprint(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-keygen is required: ", err)
		}
		t.Skip("ssh-keygen not installed")
	}
	k := filepath.Join(t.TempDir(), "ca")
	if out, err := exec.Command(bin, "-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", k).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	out, err := exec.Command(bin, "-lf", k+".pub").Output()
	if err != nil {
		t.Fatalf("ssh-keygen -lf: %v", err)
	}
	return strings.Fields(string(out))[1]
}

// certAccount is a service account that logs in with SSH certificates of
// the CAs cas, with creds besides.
func certAccount(name string, cas []string, creds ...scan.Credential) scan.Account {
	a := inventorytest.Account(name, 1100, creds...)
	a.SSHCertLogin = &scan.SSHCertLogin{PrincipalsFile: "/etc/ssh/roster/principals/" + name, Principals: []string{name}, CAFingerprints: cas}
	return a
}

// TestSSHCertificateLogin: an SSH certificate login is a short-lived
// certificate on the strength scale; without static credentials and from
// our user CA (any CA when Options names none) the account is managed;
// an authorized key next to it still sets the level.
func TestSSHCertificateLogin(t *testing.T) {
	ours, other := sshCAFingerprint(t), sshCAFingerprint(t)
	key := inventorytest.Cred(scan.CredSSHAuthorizedKey, "/var/lib/deploy/.ssh/authorized_keys:1", "k")
	key.Algorithm = "ssh-ed25519"
	for _, tc := range []struct {
		desc     string
		ourCAs   []string
		cas      []string
		creds    []scan.Credential
		strength inventory.Strength
		by       string
		status   inventory.Status
	}{
		{"any CA counts without a list", nil, []string{other}, nil, inventory.StrengthShortLivedCert,
			"ssh_certificate_login at /etc/ssh/roster/principals/deploy on h", inventory.StatusManaged},
		{"our CA", []string{"SHA256:notoursAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ours}, []string{other, ours}, nil, inventory.StrengthShortLivedCert,
			"ssh_certificate_login at /etc/ssh/roster/principals/deploy on h", inventory.StatusManaged},
		{"another CA: short-lived, not managed", []string{ours}, []string{other}, nil, inventory.StrengthShortLivedCert,
			"ssh_certificate_login at /etc/ssh/roster/principals/deploy on h", inventory.StatusNone},
		{"authorized key still there", nil, []string{ours}, []scan.Credential{key}, inventory.StrengthStaticSSHKey,
			"ssh_authorized_key at /var/lib/deploy/.ssh/authorized_keys:1 on h", inventory.StatusStatic},
		{"no CA trusted: no certificate login", nil, nil, nil, inventory.StrengthNone, "", inventory.StatusNone},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := inventorytest.Open(t, inventory.Options{Now: func() time.Time { return t0 }, SSHUserCAFingerprints: tc.ourCAs})
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, certAccount("deploy", tc.cas, tc.creds...)))
			a, err := inv.GetAccount(ctx, "deploy")
			if err != nil {
				t.Fatal(err)
			}
			if a.Strength != tc.strength || a.StrengthBy != tc.by || a.Status != tc.status {
				t.Errorf("strength %v by %q, status %s; want %v by %q, %s", a.Strength, a.StrengthBy, a.Status, tc.strength, tc.by, tc.status)
			}
		})
	}
}

// TestSSHCertificateLoginBecomesManaged: the account moves from static to
// managed on the scan that finds its authorized key gone, with an event;
// a second host where the key stays keeps it static; an X.509
// certificate decides for its instance.
func TestSSHCertificateLoginBecomesManaged(t *testing.T) {
	ours := sshCAFingerprint(t)
	c := &clock{t: t0}
	inv, _ := inventorytest.Open(t, inventory.Options{Now: c.Now, SSHUserCAFingerprints: []string{ours}})
	key := inventorytest.Cred(scan.CredSSHAuthorizedKey, "/var/lib/deploy/.ssh/authorized_keys:1", "k")
	status := func(want inventory.Status, wantStrength inventory.Strength) {
		t.Helper()
		a, err := inv.GetAccount(ctx, "deploy")
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != want || a.Strength != wantStrength {
			t.Errorf("status %s, strength %v (%s); want %s, %v", a.Status, a.Strength, a.StrengthBy, want, wantStrength)
		}
	}
	mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, certAccount("deploy", []string{ours}, key)))
	status(inventory.StatusStatic, inventory.StrengthStaticSSHKey)

	t1 := t0.Add(time.Hour)
	c.t = t1
	mustIngest(t, inv, inventorytest.NewReport("h1", "", t1, certAccount("deploy", []string{ours})))
	status(inventory.StatusManaged, inventory.StrengthShortLivedCert)
	evs, err := inv.AccountHistory(ctx, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		found = found || e.Kind == inventory.EventStatusChanged && strings.Contains(e.Detail, "SSH certificates of our user CA")
	}
	if !found {
		t.Errorf("no managed event in %+v", evs)
	}
	// Rescanning the same host changes nothing.
	c.t = t1.Add(time.Hour)
	mustIngest(t, inv, inventorytest.NewReport("h1", "", c.t, certAccount("deploy", []string{ours})))
	status(inventory.StatusManaged, inventory.StrengthShortLivedCert)

	// An instance on a second host with the key still there: the account
	// is only as managed as its least managed instance.
	mustIngest(t, inv, inventorytest.NewReport("h2", "", c.t, certAccount("deploy", []string{ours}, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/k:1", "k2"))))
	status(inventory.StatusStatic, inventory.StrengthStaticSSHKey)
	c.t = c.t.Add(time.Hour)
	mustIngest(t, inv, inventorytest.NewReport("h2", "", c.t, certAccount("deploy", []string{ours})))
	status(inventory.StatusManaged, inventory.StrengthShortLivedCert)

	// An X.509 certificate on h2 decides for that instance: enrolled until a
	// scan after its issue finds nothing static.
	if err := inv.RecordIssued(ctx, "h2", "deploy", "01", c.t.Add(-time.Minute), c.t.Add(12*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	status(inventory.StatusEnrolled, inventory.StrengthShortLivedCert)
	c.t = c.t.Add(time.Hour)
	mustIngest(t, inv, inventorytest.NewReport("h2", "", c.t, certAccount("deploy", []string{ours})))
	status(inventory.StatusManaged, inventory.StrengthShortLivedCert)
}

// TestSSHUserCAFingerprintsChange: facts follow the options on the next
// scan even when the report is the same.
func TestSSHUserCAFingerprintsChange(t *testing.T) {
	ours, other := sshCAFingerprint(t), sshCAFingerprint(t)
	path := filepath.Join(t.TempDir(), "inventory.db")
	open := func(cas []string) *inventory.Inventory {
		inv, err := inventory.Open(ctx, path, inventory.Options{Now: func() time.Time { return t0.Add(2 * time.Hour) }, SSHUserCAFingerprints: cas})
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	inv := open(nil)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, certAccount("deploy", []string{other})))
	if a, err := inv.GetAccount(ctx, "deploy"); err != nil || a.Status != inventory.StatusManaged {
		t.Fatalf("%+v %v", a, err)
	}
	inventorytest.CheckClose(t, inv)
	inv = open([]string{ours})
	defer inventorytest.CheckClose(t, inv)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0.Add(time.Hour), certAccount("deploy", []string{other})))
	if a, err := inv.GetAccount(ctx, "deploy"); err != nil || a.Status != inventory.StatusNone || a.Strength != inventory.StrengthShortLivedCert {
		t.Errorf("after naming our CA: %+v %v", a, err)
	}
}
