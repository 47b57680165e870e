package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// fakeLeaf is a certificate with only what the status functions read.
func fakeLeaf(serial int64, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{SerialNumber: big.NewInt(serial), NotAfter: notAfter}
}

func TestStatusSteps(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	leaf := fakeLeaf(7, now.Add(time.Hour))
	other := fakeLeaf(8, now.Add(2*time.Hour))
	at := now.Add(40 * time.Minute)
	// before is what status.json said about leaf: a failure, a reload
	// failure, a refusal.
	before := Status{
		Identity: "billing", Serial: "7", NotAfter: leaf.NotAfter, NextRenewal: now.Add(time.Minute),
		LastAttempt: now.Add(-time.Minute), LastError: "server answered 503", ReloadError: "reload exec: exit 1", Refused: true,
	}
	refused := &ServerError{StatusCode: 403, Message: "client certificate has been revoked"}
	tests := []struct {
		desc string
		got  Status
		want Status
	}{
		{
			desc: "unusable: nothing of the old certificate stays",
			got:  unusableStatus("billing", errors.New("cert.pem: not enrolled"), now),
			want: Status{Identity: "billing", LastError: "cert.pem: not enrolled", LastAttempt: now, NeedsReenrollment: true},
		},
		{
			desc: "expired: no renewal planned, reload error kept",
			got:  expiredStatus(func() Status { s := before; s.Hint = "old hint"; return s }(), "billing", leaf, "certificate expired", now),
			want: Status{
				Identity: "billing", Serial: "7", NotAfter: leaf.NotAfter, LastAttempt: now, LastError: "certificate expired",
				ReloadError: "reload exec: exit 1", Refused: true, NeedsReenrollment: true,
			},
		},
		{
			desc: "waiting for the same certificate keeps its history",
			got:  waitingStatus(before, "billing", leaf, at),
			want: func() Status { s := before; s.NextRenewal = at; return s }(),
		},
		{
			desc: "waiting for a new certificate drops the old one's history",
			got:  waitingStatus(before, "billing", other, at),
			want: Status{Identity: "billing", Serial: "8", NotAfter: other.NotAfter, NextRenewal: at},
		},
		{
			desc: "failed, unreachable",
			got:  failedStatus(before, "billing", leaf, errors.New("server answered 503"), "", now, 3*time.Second),
			want: Status{
				Identity: "billing", Serial: "7", NotAfter: leaf.NotAfter, NextRenewal: now.Add(3 * time.Second),
				LastAttempt: now, LastError: "server answered 503", ReloadError: "reload exec: exit 1",
			},
		},
		{
			desc: "failed, refused",
			got:  failedStatus(Status{NeedsReenrollment: true}, "billing", leaf, fmt.Errorf("renew: %w", refused), "enroll again", now, time.Minute),
			want: Status{
				Identity: "billing", Serial: "7", NotAfter: leaf.NotAfter, NextRenewal: now.Add(time.Minute),
				LastAttempt: now, LastError: "renew: " + refused.Error(), Refused: true, Hint: "enroll again",
			},
		},
		{
			desc: "renewed: only the reload error carries over",
			got:  renewedStatus(func() Status { s := before; s.Hint = "old hint"; return s }(), "billing", other, now, at),
			want: Status{
				Identity: "billing", Serial: "8", NotAfter: other.NotAfter, NextRenewal: at,
				LastRenewal: now, LastAttempt: now, ReloadError: "reload exec: exit 1",
			},
		},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.desc, tt.got, tt.want)
		}
	}
}

func TestLoadHint(t *testing.T) {
	id := Identity{Name: "billing", Dir: "/var/lib/roster-agent/billing", User: "billing"}
	tests := []struct {
		desc string
		err  error
		want []string
	}{
		{desc: "not enrolled", err: fmt.Errorf("/x/cert.pem: %w", ErrNotEnrolled),
			want: []string{"roster enroll ACCOUNT --host HOST", "--dir /var/lib/roster-agent/billing --user billing"}},
		{desc: "damaged", err: errors.New("key.pem does not belong to cert.pem"),
			want: []string{"fix or remove the files in /var/lib/roster-agent/billing and enroll again"}},
	}
	for _, tt := range tests {
		got := loadHint(tt.err, id)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: hint %q lacks %q", tt.desc, got, w)
			}
		}
	}
}

func TestExpiredMessage(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	if got, want := expiredMessage(fakeLeaf(1, at)), "certificate expired at 2026-01-02T02:04:05Z: needs re-enrollment"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type hintedErr struct {
	error
	hint string
}

func (e hintedErr) Hint() string { return e.hint }

func TestFailureAttrs(t *testing.T) {
	notAfter := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		desc     string
		err      error
		wantHint string // empty: no hint attribute
	}{
		{desc: "no hint", err: errors.New("connection refused")},
		{desc: "hint", err: errors.New("revoked"), wantHint: "enroll the account again"},
	}
	for _, tt := range tests {
		attrs := map[string]string{}
		for _, a := range failureAttrs(tt.err, 2, 3*time.Second, notAfter, tt.wantHint) {
			a := a.(slog.Attr)
			attrs[a.Key] = a.Value.String()
		}
		want := map[string]string{
			keyError: tt.err.Error(), keyAttempt: "2", keyRetryIn: "3s", keyNotAfter: notAfter.String(),
		}
		if tt.wantHint != "" {
			want[keyHint] = tt.wantHint
		}
		if fmt.Sprint(attrs) != fmt.Sprint(want) {
			t.Errorf("%s: attrs %v, want %v", tt.desc, attrs, want)
		}
	}
}

func TestCheckRenewed(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	other := agenttest.New(t, time.Hour)
	now := time.Now()
	old := newCred(t, ca, "", time.Hour)
	issue := func(ca *agenttest.Server, identity string) []*x509.Certificate {
		chain, err := ca.Issue(old.Key.Public(), identity, now.Add(-time.Minute), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return chain
	}
	stranger, _ := GenerateKey(KeyECDSA)
	tests := []struct {
		desc    string
		chain   []*x509.Certificate
		root    *x509.Certificate
		pub     any
		at      time.Time
		wantErr string // empty: accepted
	}{
		{desc: "same identity", chain: issue(ca, testIdentity), root: ca.Root, pub: old.Key.Public(), at: now},
		{desc: "another identity", chain: issue(ca, "spiffe://"+agenttest.TrustDomain+"/host/db1/sa/reports"), root: ca.Root, pub: old.Key.Public(), at: now,
			wantErr: `server returned a certificate for "spiffe://` + agenttest.TrustDomain + `/host/db1/sa/reports", not "` + testIdentity + `"`},
		{desc: "another key", chain: issue(ca, testIdentity), root: ca.Root, pub: stranger.Public(), at: now, wantErr: "another key"},
		{desc: "another root", chain: issue(other, testIdentity), root: ca.Root, pub: old.Key.Public(), at: now, wantErr: "pinned root"},
		{desc: "not valid then", chain: issue(ca, testIdentity), root: ca.Root, pub: old.Key.Public(), at: now.Add(2 * time.Hour), wantErr: "pinned root"},
		{desc: "empty chain", root: ca.Root, pub: old.Key.Public(), at: now, wantErr: "empty chain"},
	}
	for _, tt := range tests {
		err := checkRenewed(tt.chain, old.Leaf(), tt.root, tt.pub, tt.at)
		if (err != nil) != (tt.wantErr != "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
	}
	// The URIs are compared as a list, not just the SPIFFE one.
	extra := *issue(ca, testIdentity)[0]
	extra.URIs = append(append([]*url.URL{}, extra.URIs...), &url.URL{Scheme: "https", Host: "example.com"})
	if err := checkRenewed([]*x509.Certificate{&extra}, old.Leaf(), ca.Root, old.Key.Public(), now); err == nil {
		t.Error("accepted a certificate with an extra URI")
	}
}

func TestFailureHint(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	leaf := newCred(t, ca, "", time.Hour).Leaf() // billing on db1
	id := Identity{Name: "billing", Dir: "/var/lib/roster-agent/billing", User: "billing"}
	named := reenrollHint(leaf, id)
	tests := []struct {
		desc string
		err  error
		want string
	}{
		{desc: "no hint", err: errors.New("connection refused"), want: ""},
		{desc: "server's own hint", err: hintedErr{errors.New("revoked"), "enroll the account again"}, want: "enroll the account again"},
		{desc: "wrapped server hint", err: fmt.Errorf("renew: %w", hintedErr{errors.New("no owner"), "roster owner set billing OWNER"}), want: "roster owner set billing OWNER"},
		{desc: "empty hint", err: hintedErr{errors.New("revoked"), ""}, want: ""},
		// The issuer's hint for an expired or revoked client certificate.
		{desc: "placeholder hint names the identity", err: hintedErr{errors.New("server answered 401: client certificate has expired"), "enroll again: roster enroll ACCOUNT --host HOST"}, want: named},
	}
	for _, tt := range tests {
		if got := failureHint(tt.err, leaf, id); got != tt.want {
			t.Errorf("%s: hint %q, want %q", tt.desc, got, tt.want)
		}
	}
	if !strings.Contains(named, "roster enroll billing --host db1") || !strings.Contains(named, "--dir /var/lib/roster-agent/billing --user billing") {
		t.Errorf("the re-enrollment hint does not name the identity: %q", named)
	}
}

func TestReenrollHint(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	key, _ := GenerateKey(KeyECDSA)
	leafFor := func(uri string) *x509.Certificate {
		chain, err := ca.Issue(key.Public(), uri, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return chain[0]
	}
	td := agenttest.TrustDomain
	tests := []struct {
		desc string
		leaf *x509.Certificate
		id   Identity
		want string
	}{
		{desc: "account", leaf: leafFor("spiffe://" + td + "/host/db1/sa/reports"), id: Identity{Dir: "/id/reports", User: "reports"},
			want: "on the server run `roster enroll reports --host db1`, then here `roster-agent enroll --server URL --root-fingerprint FP --token TOKEN --dir /id/reports --user reports` with the token and fingerprint it prints"},
		{desc: "host", leaf: leafFor("spiffe://" + td + "/host/db1"), id: Identity{Dir: "/id/host"},
			want: "on the server run `roster enroll --host db1`, then here `roster-agent enroll --server URL --root-fingerprint FP --token TOKEN --dir /id/host` with the token and fingerprint it prints"},
		{desc: "not a roster identity", leaf: leafFor("spiffe://" + td + "/workload/x"), id: Identity{Dir: "/id/x"},
			want: "on the server run `roster enroll ACCOUNT --host HOST` for spiffe://" + td + "/workload/x, then here `roster-agent enroll --server URL --root-fingerprint FP --token TOKEN --dir /id/x` with the token and fingerprint it prints"},
		{desc: "no certificate", id: Identity{Dir: "/id/new"},
			want: "on the server run `roster enroll ACCOUNT --host HOST`, then here `roster-agent enroll --server URL --root-fingerprint FP --token TOKEN --dir /id/new` with the token and fingerprint it prints"},
	}
	for _, tt := range tests {
		if got := reenrollHint(tt.leaf, tt.id); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.desc, got, tt.want)
		}
	}
}

// TestReadStatusRefusedHint: status shows the hint of a refused renewal.
func TestReadStatusRefusedHint(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	s, dir := openTestDir(t)
	cred := newCred(t, ca, "", time.Hour)
	if err := s.Save(context.Background(), cred); err != nil {
		t.Fatal(err)
	}
	id := Identity{Name: "billing", Dir: dir}
	hint := reenrollHint(cred.Leaf(), id)
	refused := &ServerError{StatusCode: 401, Message: "client certificate has expired"}
	now := time.Now()
	if err := s.SaveStatus(failedStatus(Status{}, "billing", cred.Leaf(), refused, hint, now, time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := ReadStatus(Config{Identities: []Identity{id}}, now)[0]
	if got.State != StateRefused || got.Hint != hint {
		t.Errorf("ReadStatus = %+v, want refused with hint %q", got, hint)
	}
}
