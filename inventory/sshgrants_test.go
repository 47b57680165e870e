package inventory_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// sshInv: hosts ci1 (deploy, runner) and app1, app2 (deploy, app) in the
// default environment, db1 (deploy) in prod. deploy@default and
// runner@default are owned, app@default is not.
func sshInv(t *testing.T) *inventory.Inventory {
	t.Helper()
	inv, _ := inventorytest.Open(t, inventory.Options{})
	ctx := context.Background()
	at := time.Now().UTC()
	ingest := func(host string, accounts ...string) {
		var as []scan.Account
		for i, a := range accounts {
			as = append(as, inventorytest.Account(a, 1000+i, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/"+a+"/.ssh/authorized_keys:1", "k-"+host+a)))
		}
		if _, err := inv.Ingest(ctx, inventorytest.NewReport(host, "mid-"+host, at, as...)); err != nil {
			t.Fatal(err)
		}
	}
	ingest("ci1", "deploy", "runner")
	ingest("app1", "deploy", "app")
	ingest("app2", "deploy", "app")
	ingest("db1", "deploy")
	if err := inv.TagHost(ctx, "db1", []string{"env=prod"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"deploy@default", "runner@default", "deploy@prod"} {
		if err := inv.SetOwner(ctx, a, inventory.Owner{Name: "team"}); err != nil {
			t.Fatal(err)
		}
	}
	return inv
}

func TestSSHGrants(t *testing.T) {
	inv := sshInv(t)
	ctx := audit.WithActor(context.Background(), "token:ops")
	allow := func(sp inventory.SSHGrantSpec) error { _, err := inv.AllowSSH(ctx, sp); return err }
	tests := []struct {
		desc   string
		spec   inventory.SSHGrantSpec
		reason string // "" accepted
		hint   string
	}{
		{"host grant", inventory.SSHGrantSpec{Identity: "runner", As: "deploy", Host: "app1"}, "", ""},
		{"again: no change", inventory.SSHGrantSpec{Identity: "runner@default", As: "deploy", Host: "app1"}, "", ""},
		{"env grant", inventory.SSHGrantSpec{Identity: "runner", As: "deploy", Env: "prod"}, "", ""},
		{"target account unknown to the inventory", inventory.SSHGrantSpec{Identity: "runner", As: "backup", Host: "app2"}, "", ""},
		{"target without owner", inventory.SSHGrantSpec{Identity: "runner", As: "app", Host: "app1"}, "account app@default (the login account app on host app1) has no owner", "roster owner set app@default OWNER"},
		{"target env without owner", inventory.SSHGrantSpec{Identity: "runner", As: "app", Env: "default"}, "has no owner", "roster owner set app@default OWNER"},
		{"identity without owner", inventory.SSHGrantSpec{Identity: "app", As: "deploy", Host: "app1"}, "account app@default has no owner", "roster owner set app@default OWNER"},
		{"unknown identity", inventory.SSHGrantSpec{Identity: "ghost", As: "deploy", Host: "app1"}, "ghost", ""},
		{"unknown host", inventory.SSHGrantSpec{Identity: "runner", As: "deploy", Host: "nohost"}, "host nohost is not in the inventory", "roster scan --submit"},
		{"both targets", inventory.SSHGrantSpec{Identity: "runner", As: "deploy", Host: "app1", Env: "prod"}, "exactly one of host and env", ""},
		{"no target", inventory.SSHGrantSpec{Identity: "runner", As: "deploy"}, "exactly one of host and env", ""},
		{"path in account", inventory.SSHGrantSpec{Identity: "runner", As: "../root", Host: "app1"}, "not a local account name", ""},
	}
	for _, tc := range tests {
		err := allow(tc.spec)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: %v", tc.desc, err)
		case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason)):
			t.Errorf("%s: err %v, want %q", tc.desc, err, tc.reason)
		case tc.hint != "":
			var h interface{ Hint() string }
			if !errors.As(err, &h) || !strings.Contains(h.Hint(), tc.hint) {
				t.Errorf("%s: hint of %v, want %q", tc.desc, err, tc.hint)
			}
		}
	}

	// Principals per host: its own grants and its environment's.
	principals := func(host string) map[string][]string {
		t.Helper()
		_, p, err := inv.SSHPrincipals(ctx, host)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := allow(inventory.SSHGrantSpec{Identity: "deploy@default", As: "deploy", Host: "app1"}); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]map[string][]string{
		"app1":    {"deploy": {"deploy@default", "runner@default"}},
		"app2":    {"backup": {"runner@default"}},
		"db1":     {"deploy": {"runner@default"}},
		"mid-db1": {"deploy": {"runner@default"}}, // by machine-id
		"ci1":     {},
	} {
		if got := principals(host); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: principals %v, want %v", host, got, want)
		}
	}
	gs, err := inv.SSHGrants(ctx, "")
	if err != nil || len(gs) != 4 {
		t.Fatalf("grants %v %v", gs, err)
	}
	if gs[0].Host == "" || gs[len(gs)-1].Env != "prod" || gs[0].CreatedBy != "token:ops" {
		t.Errorf("order or fields: %+v", gs)
	}

	// Deny removes one grant; denying it again is not found. No owner is
	// needed to take a right away.
	if err := inv.UnsetOwner(ctx, "runner@default"); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.DenySSH(ctx, inventory.SSHGrantSpec{Identity: "runner", As: "deploy", Host: "app1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.DenySSH(ctx, inventory.SSHGrantSpec{Identity: "runner", As: "deploy", Host: "app1"}); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("deny twice: %v", err)
	}
	if got := principals("app1"); !slices.Equal(got["deploy"], []string{"deploy@default"}) {
		t.Errorf("after deny: %v", got)
	}
	var actions []string
	evs, err := audit.List(ctx, inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if strings.HasPrefix(ev.Action, "ssh.") {
			actions = append(actions, ev.Action)
		}
	}
	if want := []string{"ssh.allow", "ssh.allow", "ssh.allow", "ssh.allow", "ssh.allow", "ssh.deny"}; !slices.Equal(actions, want) {
		t.Errorf("audit %v, want %v", actions, want)
	}
}

func TestSSHPolicy(t *testing.T) {
	inv := sshInv(t)
	ctx := context.Background()
	p, err := inv.SSHPolicyOf(ctx, "deploy@default")
	if err != nil || len(p.Permit) != 0 || len(p.Extensions()) != 0 {
		t.Fatalf("default policy %+v %v", p, err)
	}
	if _, err := inv.SetSSHPolicy(ctx, "runner", []string{"x11-forwarding", "pty", "pty"}, false); err != nil {
		t.Fatal(err)
	}
	p, err = inv.SSHPolicyOf(ctx, "runner@default")
	if err != nil || !slices.Equal(p.Permit, []string{"pty", "x11-forwarding"}) {
		t.Fatalf("policy %+v %v", p, err)
	}
	if got := slices.Sorted(maps.Keys(p.Extensions())); !slices.Equal(got, []string{"permit-X11-forwarding", "permit-pty"}) {
		t.Errorf("extensions %v", got)
	}
	a, err := inv.GetAccount(ctx, "runner")
	if err != nil || !slices.Equal(a.SSHPermit, []string{"pty", "x11-forwarding"}) {
		t.Errorf("account show: %v %v", a.SSHPermit, err)
	}
	for _, tc := range []struct {
		permit []string
		source bool
		reason string
	}{
		{[]string{"root"}, false, `"root" is not one of agent-forwarding, port-forwarding, pty, user-rc, x11-forwarding, none`},
		{nil, true, "source-address option cannot be honoured"},
	} {
		if _, err := inv.SetSSHPolicy(ctx, "runner", tc.permit, tc.source); err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%v %v: %v, want %q", tc.permit, tc.source, err, tc.reason)
		}
	}
	if _, err := inv.SetSSHPolicy(ctx, "runner", []string{"none"}, false); err != nil {
		t.Fatal(err)
	}
	if p, _ := inv.SSHPolicyOf(ctx, "runner@default"); len(p.Permit) != 0 {
		t.Errorf("after none: %+v", p)
	}
}
