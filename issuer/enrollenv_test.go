package issuer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/issuer/issuertest"
)

// TestCreateEnrollTokenNameAtEnv: an operator names the account as every
// other command takes it, NAME@ENV; the token is for NAME on the host, and
// the environment must be the one the instance is in.
func TestCreateEnrollTokenNameAtEnv(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	e.Ingest("s1", "billing-batch")
	if err := e.Inv.TagHost(ctx, "s1", []string{"env=staging"}, nil); err != nil {
		t.Fatal(err)
	}
	e.Owner("billing-batch@staging", "payments-team")
	if err := e.Inv.Split(ctx, "billing-batch@staging", "", ""); err != nil { // not the same identity as billing-batch@default
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, host, account string
		identity            string // the token's identity, or "" for a refusal
		reason, hint        string
	}{
		{desc: "name alone", host: "s1", account: "billing-batch", identity: "spiffe://roster.local/host/s1/sa/billing-batch"},
		{desc: "name at its environment", host: "s1", account: "billing-batch@staging", identity: "spiffe://roster.local/host/s1/sa/billing-batch"},
		{desc: "name at default", host: "web1", account: "billing-batch@default", identity: "spiffe://roster.local/host/web1/sa/billing-batch"},
		{desc: "another environment", host: "web1", account: "billing-batch@staging",
			reason: "account billing-batch on host web1 belongs to billing-batch@default, not billing-batch@staging",
			hint:   "roster enroll billing-batch@default --host web1"},
		{desc: "no environment after @", host: "s1", account: "billing-batch@", reason: "names no environment"},
		{desc: "unknown account", host: "s1", account: "ghost@staging", reason: "account ghost does not exist on host s1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tk, err := e.Iss.CreateEnrollToken(ctx, tc.host, tc.account, 0)
			if tc.identity != "" {
				if err != nil || tk.Identity != tc.identity {
					t.Fatalf("token %+v, %v; want identity %s", tk, err, tc.identity)
				}
				return
			}
			var h interface{ Hint() string }
			if err == nil || !strings.Contains(err.Error(), tc.reason) || !refusal(err) || !errors.As(err, &h) || !strings.Contains(h.Hint(), tc.hint) {
				t.Fatalf("err %v, want a refusal saying %q with hint %q", err, tc.reason, tc.hint)
			}
		})
	}
	if !strings.Contains(e.Audits(), "enroll.token.create refused s1/billing-batch serial= account \"billing-batch@\" names no environment") {
		t.Errorf("refusal not audited:\n%s", e.Audits())
	}
}

// TestSharedAccountHint: the refusal for an account shared across
// environments names the confirmation, not a split of its instances
// (each environment has its own account already).
func TestSharedAccountHint(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	e.Ingest("s1", "billing-batch")
	if err := e.Inv.TagHost(ctx, "s1", []string{"env=staging"}, nil); err != nil {
		t.Fatal(err)
	}
	e.Owner("billing-batch@staging", "payments-team")
	_, err := e.Iss.CreateEnrollToken(ctx, "s1", "billing-batch@staging", 0)
	var de *issuer.DeniedError
	if !errors.As(err, &de) || de.Error() != "account billing-batch is shared across environments" {
		t.Fatalf("err %v, want the shared refusal", err)
	}
	if h := de.Hint(); !strings.Contains(h, "roster account split billing-batch@staging --separate") || strings.Contains(h, "--host") {
		t.Errorf("hint %q, want the confirmation of billing-batch@staging and no instance move", h)
	}
}

// TestRetiredAccountHint names the command that undoes a retirement.
func TestRetiredAccountHint(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	if err := e.Inv.RetireAccount(ctx, "billing-batch", true, "decommissioned"); err != nil {
		t.Fatal(err)
	}
	_, err := e.Iss.CreateEnrollToken(ctx, "web1", "billing-batch", 0)
	var de *issuer.DeniedError
	if !errors.As(err, &de) || !strings.Contains(de.Hint(), "roster account unretire billing-batch@default") {
		t.Fatalf("err %v (hint %q), want the unretire command", err, hintOf(err))
	}
	if err := e.Inv.UnretireAccount(ctx, "billing-batch", "in use"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Iss.CreateEnrollToken(ctx, "web1", "billing-batch", 0); err != nil {
		t.Errorf("after unretire: %v", err)
	}
}

// refusal reports whether err is one the server answers with a 4xx: a
// denial or a bad request.
func refusal(err error) bool {
	var d *issuer.DeniedError
	var r *issuer.RequestError
	return errors.As(err, &d) || errors.As(err, &r)
}

// TestRevokeNameAtEnv: roster revoke NAME@ENV --host H names the account as
// every other command does; the wrong environment is refused with the
// revoke that works.
func TestRevokeNameAtEnv(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	e.Enroll("web1", "billing-batch")
	if _, err := e.Iss.Revoke(ctx, issuer.RevokeRequest{Host: "web1", Account: "billing-batch@staging", Reason: "test"}); err == nil ||
		!strings.Contains(err.Error(), "belongs to billing-batch@default") || !strings.Contains(hintOf(err), "roster revoke billing-batch@default --host web1") {
		t.Errorf("wrong environment: %v (hint %q)", err, hintOf(err))
	}
	res, err := e.Iss.Revoke(ctx, issuer.RevokeRequest{Host: "web1", Account: "billing-batch@default", Reason: "test"})
	if err != nil || len(res.Serials) != 1 {
		t.Fatalf("revoke billing-batch@default --host web1: %+v, %v", res, err)
	}
}
