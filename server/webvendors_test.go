package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

func TestWebVendors(t *testing.T) {
	e := newWebEnv(t)
	ctx := audit.WithActor(context.Background(), "test")
	e.ingest("web7", "acme-sync", "acme-gone")
	addVendor(t, e, "acme")
	for _, a := range []string{"acme-sync", "acme-gone"} {
		if err := e.inv.TagAccount(ctx, a, []string{inventory.TagThirdPart + "acme"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	addException(t, e, "acme-sync")
	e.owner("acme-gone", "team-gone")
	lapsed, err := e.inv.AddException(ctx, inventory.Exception{Account: "acme-gone", Reason: "contract", Owner: "team-v", Expires: e.inv.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour) // its exception lapsed
	viewer := e.webSignIn("ven-viewer", access.RoleViewer)
	op := e.webSignIn("ven-op", access.RoleOperator)

	page := viewerSeesNoForms(t, viewer, "/vendors", "/vendors")
	for _, want := range []string{`<a href="/vendors/acme">acme</a>`, "ops@vendor.example", `<td class="num">2</td>`, "<code>" + lapsed.ID + "</code>",
		`href="/vendors?format=csv"`} {
		if !strings.Contains(page, want) {
			t.Errorf("vendors page lacks %q", want)
		}
	}
	page = viewerSeesNoForms(t, viewer, "/vendors/acme", "/vendors")
	if !strings.Contains(page, `href="/accounts/acme-sync@default"`) || !strings.Contains(page, "Open exceptions (") {
		t.Errorf("vendor page lacks its accounts:\n%s", page)
	}
	csvOf(t, viewer, "/vendors", "name,owner,contact,route,factor,strength,domain,on_lapse,note,created,updated")

	refusedPosts(t, e, viewer, op, "/vendors", vendorFields("forged", "mallory"))
	refusedPosts(t, e, viewer, op, "/vendors/acme", vendorFields("", "mallory"))
	refusedPosts(t, e, viewer, op, "/vendors/acme/remove", url.Values{})
	if v, err := e.inv.Vendor(ctx, "acme"); err != nil || v.Owner != "team-v" {
		t.Fatalf("a refused POST changed the vendor: %v %+v", err, v)
	}

	// Add: the page's form, then a refusal that keeps the values.
	if _, page := op.get("/vendors"); !strings.Contains(page, `action="/vendors"`) || !strings.Contains(page, `<label for="v-contact">`) {
		t.Errorf("operator's vendors page has no add form")
	}
	if code, body := op.post("/vendors", "/vendors", vendorFields("globex", "team-g")); code != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", code, firstLines(body, 20))
	}
	if v, err := e.inv.Vendor(ctx, "globex"); err != nil || v.Owner != "team-g" || v.Factor != "totp" {
		t.Errorf("globex: %v %+v", err, v)
	}
	wantAudit(t, e, audit.ActionVendorAdd, "ven-op")
	bad := vendorFields("initech", "team-i")
	bad.Set("contact", "not an address")
	code, body := op.post("/vendors", "/vendors", bad)
	if code != http.StatusBadRequest {
		t.Fatalf("bad contact: %d", code)
	}
	for _, want := range []string{`id="refused"`, "is not an email address", `value="initech"`, `value="team-i"`, `<option value="vpn" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("refused add lacks %q", want)
		}
	}

	// Change and remove.
	ch := vendorFields("", "team-new")
	ch.Set("on_lapse", "revoke")
	if code, body = op.post("/vendors/acme", "/vendors/acme", ch); code != http.StatusSeeOther {
		t.Fatalf("change: %d\n%s", code, firstLines(body, 20))
	}
	if v, _ := e.inv.Vendor(ctx, "acme"); v.Owner != "team-new" || v.OnLapse != "revoke" {
		t.Errorf("not changed: %+v", v.Vendor)
	}
	wantAudit(t, e, audit.ActionVendorSet, "ven-op")
	ch.Set("route", "teleport")
	if code, body = op.post("/vendors/acme", "/vendors/acme", ch); code != http.StatusBadRequest || !strings.Contains(body, `id="refused"`) {
		t.Errorf("bad route: %d\n%s", code, firstLines(body, 10))
	}
	if code, _ = op.post("/vendors/globex", "/vendors/globex/remove", url.Values{}); code != http.StatusSeeOther {
		t.Errorf("remove: %d", code)
	}
	if _, err := e.inv.Vendor(ctx, "globex"); err == nil {
		t.Errorf("globex not removed")
	}
	wantAudit(t, e, audit.ActionVendorRemove, "ven-op")
}
