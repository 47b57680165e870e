package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testFP = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"

func sshdReport() *Report {
	r := validReport()
	r.Host.SSHD = &SSHD{
		TrustedUserCAKeysFile:    "/etc/ssh/roster/user_ca.pub",
		TrustedUserCAKeys:        []SSHKey{{Type: "ssh-ed25519", Fingerprint: testFP, Location: "/etc/ssh/roster/user_ca.pub:1"}},
		AuthorizedPrincipalsFile: "/etc/ssh/roster/principals/%u",
		RevokedKeys:              &RevokedKeys{Path: "/etc/ssh/roster/revoked.krl", Exists: true, Size: 44, Format: RevokedKRL},
		HostCertificates:         []string{"/etc/ssh/ssh_host_ed25519_key-cert.pub"},
		MatchBlocks:              []MatchBlock{{Location: "/etc/ssh/sshd_config:30", Criteria: "User backup", Sets: []string{"authorizedprincipalsfile"}}},
	}
	r.Accounts[0].SSHCertLogin = &SSHCertLogin{PrincipalsFile: "/etc/ssh/roster/principals/billing", Principals: []string{"billing"}, CAFingerprints: []string{testFP}}
	return r
}

func TestDecodeSSHD(t *testing.T) {
	in := encode(t, sshdReport())
	r, err := Decode(bytes.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, sshdReport()) {
		t.Errorf("round trip changed the report:\n%+v\n%+v", r.Host.SSHD, sshdReport().Host.SSHD)
	}
	// A v1 report without the new fields still decodes, and one with
	// them encodes nothing for an absent section.
	old, err := Decode(bytes.NewReader(encode(t, validReport())), 0)
	if err != nil || old.Host.SSHD != nil || old.Accounts[0].SSHCertLogin != nil {
		t.Fatalf("v1 report: %v %+v", err, old)
	}
	if b, _ := json.Marshal(validReport()); bytes.Contains(b, []byte("sshd")) || bytes.Contains(b, []byte("ssh_certificate_login")) {
		t.Errorf("absent sections encoded: %s", b)
	}

	for _, tc := range []struct {
		desc, field, reason string
		edit                func(r *Report)
	}{
		{"keyed fingerprint for a CA key", "host.sshd.trusted_user_ca_keys[0].fingerprint", "not an SSH fingerprint",
			func(r *Report) {
				r.Host.SSHD.TrustedUserCAKeys[0].Fingerprint = "hmac-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			}},
		{"raw key instead of a fingerprint", "host.sshd.trusted_user_ca_keys[0].fingerprint", "not an SSH fingerprint",
			func(r *Report) { r.Host.SSHD.TrustedUserCAKeys[0].Fingerprint = "AAAAC3NzaC1lZDI1NTE5AAAAI" }},
		{"long key type", "host.sshd.trusted_user_ca_keys[0].type", "longer than 256 bytes",
			func(r *Report) { r.Host.SSHD.TrustedUserCAKeys[0].Type = strings.Repeat("t", 257) }},
		{"escape in the principals pattern", "host.sshd.authorized_principals_file", "U+001B",
			func(r *Report) { r.Host.SSHD.AuthorizedPrincipalsFile = "/etc/\x1b[2J%u" }},
		{"unknown revoked format", "host.sshd.revoked_keys.format", `unknown format "x"`,
			func(r *Report) { r.Host.SSHD.RevokedKeys.Format = "x" }},
		{"negative revoked size", "host.sshd.revoked_keys.size", "negative",
			func(r *Report) { r.Host.SSHD.RevokedKeys.Size = -1 }},
		{"newline in a host certificate path", "host.sshd.host_certificates[0]", "U+000A",
			func(r *Report) { r.Host.SSHD.HostCertificates[0] = "/a\nb" }},
		{"bidi in match criteria", "host.sshd.match_blocks[0].criteria", "U+202E",
			func(r *Report) { r.Host.SSHD.MatchBlocks[0].Criteria = "User \u202eroot" }},
		{"long principal", "accounts[0].ssh_certificate_login.principals[0]", "longer than 256 bytes",
			func(r *Report) { r.Accounts[0].SSHCertLogin.Principals[0] = strings.Repeat("p", 257) }},
		{"bad login CA fingerprint", "accounts[0].ssh_certificate_login.ca_fingerprints[0]", "not an SSH fingerprint",
			func(r *Report) { r.Accounts[0].SSHCertLogin.CAFingerprints[0] = "x" }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := sshdReport()
			tc.edit(r)
			_, err := Decode(bytes.NewReader(encode(t, r)), 0)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Reason, tc.reason) {
				t.Errorf("Decode = %v, want %s: %s", err, tc.field, tc.reason)
			}
		})
	}
}
