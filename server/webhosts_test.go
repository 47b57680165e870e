package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
)

func TestWebHosts(t *testing.T) {
	e := newWebEnv(t)
	e.ingest("web7", "host-a", "host-b")
	viewer := e.webSignIn("host-viewer", access.RoleViewer)
	op := e.webSignIn("host-op", access.RoleOperator)

	page := viewerSeesNoForms(t, viewer, "/hosts", "/hosts")
	for _, want := range []string{`<a href="/hosts/web7">web7</a>`, `<a href="/hosts?format=csv">`, `<td class="num">2</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("hosts page lacks %q", want)
		}
	}
	page = viewerSeesNoForms(t, viewer, "/hosts/web7", "/hosts")
	if !strings.Contains(page, `href="/accounts/host-a@default"`) {
		t.Errorf("host page lacks its accounts:\n%s", page)
	}
	if code, _ := viewer.get("/hosts/no-such-host"); code != http.StatusNotFound {
		t.Errorf("unknown host: %d", code)
	}
	body := csvOf(t, viewer, "/hosts", "hostname,machine_id,os,env,tags,accounts,last_scan")
	if !strings.Contains(body, "\nweb7,") {
		t.Errorf("csv:\n%s", body)
	}

	refusedPosts(t, e, viewer, op, "/hosts/web7/tags", url.Values{"add": {"forged"}})
	if _, page := op.get("/hosts/web7"); !strings.Contains(page, `action="/hosts/web7/tags"`) {
		t.Errorf("operator's host page has no tag form")
	}
	code, body := op.post("/hosts/web7", "/hosts/web7/tags", url.Values{"add": {"pci, team-x"}})
	if code != http.StatusSeeOther {
		t.Fatalf("tag: %d\n%s", code, body)
	}
	h, err := e.inv.GetHost(context.Background(), "web7")
	if err != nil || !slices.Contains(h.Tags, "pci") || !slices.Contains(h.Tags, "team-x") || slices.Contains(h.Tags, "forged") {
		t.Errorf("tags: %v %v", err, h.Tags)
	}
	wantAudit(t, e, audit.ActionHostTag, "host-op")
	if code, _ = op.post("/hosts/web7", "/hosts/web7/tags", url.Values{"remove": {"pci"}}); code != http.StatusSeeOther {
		t.Errorf("untag: %d", code)
	}
	if h, _ = e.inv.GetHost(context.Background(), "web7"); slices.Contains(h.Tags, "pci") {
		t.Errorf("tag not removed: %v", h.Tags)
	}
	if code, body = op.post("/hosts/web7", "/hosts/web7/tags", url.Values{"add": {"a@b"}}); code != http.StatusBadRequest {
		t.Errorf("bad tag: %d\n%s", code, firstLines(body, 5))
	}
}
