package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

func TestWebAudit(t *testing.T) {
	e := newWebEnv(t)
	e.ingest("web7", "aud-a")
	ctx := audit.WithActor(context.Background(), "test")
	for i := range 60 {
		if err := e.inv.TagAccount(ctx, "aud-a", []string{fmt.Sprintf("t%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	viewer := e.webSignIn("aud-viewer", access.RoleViewer)
	total := auditCount(t, e)
	newest := lastAudit(t, e)

	page := viewerSeesNoForms(t, viewer, "/audit", "/audit/")
	for _, want := range []string{`id="chain">The chain is verified: ` + fmt.Sprint(total), fmt.Sprintf("page 1 of %d", (total+49)/50),
		`rel="next"`, fmt.Sprintf(`<th scope="row" class="num">%d</th>`, newest.Seq), "token:aud-viewer", `href="/audit?format=csv"`} {
		if !strings.Contains(page, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	if strings.Contains(page, `<th scope="row" class="num">1</th>`) || strings.Contains(page, `rel="prev"`) {
		t.Errorf("page 1 holds the oldest record or a link to newer ones")
	}
	if strings.Index(page, fmt.Sprintf(`>%d</th>`, newest.Seq)) > strings.Index(page, fmt.Sprintf(`>%d</th>`, newest.Seq-1)) {
		t.Errorf("not newest first")
	}
	last := (total + 49) / 50
	_, page = viewer.get(fmt.Sprintf("/audit?page=%d", last))
	if !strings.Contains(page, `<th scope="row" class="num">1</th>`) || !strings.Contains(page, `rel="prev"`) || strings.Contains(page, `rel="next"`) {
		t.Errorf("last page:\n%s", page)
	}
	for _, bad := range []string{"/audit?page=0", "/audit?page=x"} {
		if code, _ := viewer.get(bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if code, _ := viewer.get(fmt.Sprintf("/audit?page=%d", last+1)); code != http.StatusNotFound {
		t.Errorf("page past the end: %d", code)
	}
	if _, page = viewer.get("/audit?account=aud-a"); !strings.Contains(page, "account.tag") || strings.Contains(page, "ui.signin") {
		t.Errorf("account filter")
	}
	csv := csvOf(t, viewer, "/audit", "seq,time,actor,action,outcome,host,account,serial,reason,detail,prev_hash,hash")
	if n := strings.Count(csv, "\n"); n < total+1 {
		t.Errorf("csv has %d lines, want %d", n, total+1)
	}

	// An edited record: the page says where the chain breaks (then the
	// record is put back, for the env's own check of the log).
	var orig []byte
	err := e.inv.Store().Update(context.Background(), func(tx store.Tx) error {
		b, err := tx.Get("audit", store.U64(5))
		if err != nil {
			return err
		}
		orig = b
		var ev audit.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return err
		}
		ev.Detail = "nothing happened"
		b, _ = json.Marshal(ev)
		return tx.Put("audit", store.U64(5), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, page = viewer.get("/audit"); !strings.Contains(page, `id="chain">The chain is broken at record 5: contents do not match its hash`) {
		t.Errorf("broken chain not shown:\n%s", firstLines(page, 40))
	}
	if err := e.inv.Store().Update(context.Background(), func(tx store.Tx) error { return tx.Put("audit", store.U64(5), orig) }); err != nil {
		t.Fatal(err)
	}
}
