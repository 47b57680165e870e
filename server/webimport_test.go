package server

import (
	"bytes"
	"context"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
)

// postFile submits the import form as a browser does: multipart, the CSV
// as the file field, with the CSRF token of /import.
func (u *webUser) postFile(path, kind, csv string) (int, string) {
	u.t.Helper()
	_, page := u.get("/import")
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", formCSRF(u.t, page))
	mw.WriteField("kind", kind)
	mw.WriteField("csv", "")
	fw, err := mw.CreateFormFile("file", "owners.csv")
	if err != nil {
		u.t.Fatal(err)
	}
	fw.Write([]byte(csv))
	mw.Close()
	req := mustRequest(u.t, http.MethodPost, u.e.url+path, b.String())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	code, body, _ := u.do(req)
	return code, body
}

var applyCSV = regexp.MustCompile(`<input type="hidden" name="csv" value="([^"]*)">`)

func TestWebImport(t *testing.T) {
	e := newWebEnv(t)
	e.ingest("web7", "imp-a", "imp-b")
	viewer := e.webSignIn("imp-viewer", access.RoleViewer)
	op := e.webSignIn("imp-op", access.RoleOperator)
	ctx := context.Background()

	if code, _ := viewer.get("/import"); code != http.StatusForbidden {
		t.Errorf("viewer GET /import: %d", code)
	}
	if _, page := viewer.get("/"); strings.Contains(page, `href="/import"`) {
		t.Errorf("a viewer's nav links /import")
	}
	good := "account,owner,contact\nimp-a,team-a,a@example.com\nimp-b,team-b,\n"
	refusedPosts(t, e, viewer, op, "/import/apply", url.Values{"kind": {"owners"}, "csv": {good}})
	refusedPosts(t, e, viewer, op, "/import", url.Values{"kind": {"owners"}, "csv": {good}})
	if a, _ := e.inv.GetAccount(ctx, "imp-a"); a.Owner != nil {
		t.Fatalf("a refused POST set an owner")
	}

	// The dry run of an uploaded file: a table, nothing written, an
	// Apply form carrying the same CSV.
	before := auditCount(t, e)
	code, page := op.postFile("/import", "owners", good)
	if code != http.StatusOK {
		t.Fatalf("dry run: %d\n%s", code, page)
	}
	for _, want := range []string{"Dry run: 2 row(s) of owners", "<td>team-a</td>", "<td>imp-b@default</td>", `action="/import/apply"`, `<th scope="col">owner</th>`} {
		if !strings.Contains(page, want) {
			t.Errorf("dry run lacks %q", want)
		}
	}
	if a, _ := e.inv.GetAccount(ctx, "imp-a"); a.Owner != nil || auditCount(t, e) != before {
		t.Fatalf("the dry run wrote")
	}
	m := applyCSV.FindStringSubmatch(page)
	if m == nil || html.UnescapeString(m[1]) != good {
		t.Fatalf("the Apply form does not carry the CSV: %q", m)
	}
	code, body := op.post("/import", "/import/apply", url.Values{"kind": {"owners"}, "csv": {html.UnescapeString(m[1])}})
	if code != http.StatusSeeOther {
		t.Fatalf("apply: %d\n%s", code, body)
	}
	if a, _ := e.inv.GetAccount(ctx, "imp-b"); a.Owner == nil || a.Owner.Name != "team-b" {
		t.Errorf("not applied: %+v", a.Owner)
	}
	wantAudit(t, e, audit.ActionOwnerSet, "imp-op")

	// Per-line errors: a 422 table, no Apply form.
	bad := "account,owner\nimp-a,team-c\nno-such-account,team-d\nimp-b,\n"
	code, page = op.post("/import", "/import", url.Values{"kind": {"owners"}, "csv": {bad}})
	if code != http.StatusUnprocessableEntity || strings.Contains(page, `action="/import/apply"`) || !strings.Contains(page, "2 with an error") ||
		!strings.Contains(page, `<tr class="bad"><th scope="row" class="num">3</th>`) {
		t.Errorf("errors: %d\n%s", code, page)
	}
	// Applying a file with errors writes nothing either.
	if code, _ = op.post("/import", "/import/apply", url.Values{"kind": {"owners"}, "csv": {bad}}); code != http.StatusUnprocessableEntity {
		t.Errorf("apply with errors: %d", code)
	}
	if a, _ := e.inv.GetAccount(ctx, "imp-a"); a.Owner.Name != "team-a" {
		t.Errorf("a failed apply wrote: %+v", a.Owner)
	}
	// A bad header: refused with the text kept.
	code, page = op.post("/import", "/import", url.Values{"kind": {"owners"}, "csv": {"who,what\nx,y\n"}})
	if code != http.StatusBadRequest || !strings.Contains(page, `id="refused"`) || !strings.Contains(page, "header lacks column") ||
		!strings.Contains(page, "who,what\nx,y") {
		t.Errorf("bad header: %d\n%s", code, page)
	}
	for _, c := range []struct{ kind, csv string }{{"owners", ""}, {"nothing", good}} {
		if code, _ = op.post("/import", "/import", url.Values{"kind": {c.kind}, "csv": {c.csv}}); code != http.StatusBadRequest {
			t.Errorf("kind %q csv %q: %d", c.kind, c.csv, code)
		}
	}

	// Vendors and registered accounts through the same page.
	code, page = op.postFile("/import", "vendors", "name,owner,contact,route\nacme,team-v,ops@acme.example,vpn\n")
	if code != http.StatusOK || !strings.Contains(page, "<td>add</td>") {
		t.Errorf("vendor dry run: %d\n%s", code, page)
	}
	m = applyCSV.FindStringSubmatch(page)
	if code, _ = op.post("/import", "/import/apply", url.Values{"kind": {"vendors"}, "csv": {html.UnescapeString(m[1])}}); code != http.StatusSeeOther {
		t.Errorf("vendor apply: %d", code)
	}
	if _, err := e.inv.Vendor(ctx, "acme"); err != nil {
		t.Errorf("vendor not imported: %v", err)
	}
	code, page = op.post("/import", "/import", url.Values{"kind": {"accounts"},
		"csv": {"name,system,kind,credential,owner\nsnowflake-etl,snowflake,service,static_password,team-data\n"}})
	if code != http.StatusOK || !strings.Contains(page, "<td>snowflake-etl</td>") {
		t.Errorf("account dry run: %d\n%s", code, firstLines(page, 10))
	}
}
