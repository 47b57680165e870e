package server

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/render"
)

// auditPageSize is how many records one page of /audit shows.
const auditPageSize = 50

// auditData is the audit page's data: one page of records, newest first,
// and the chain's verification (roster audit verify).
type auditData struct {
	Events  []audit.Event
	Account string
	Page    int
	Pages   int
	Total   int
	// Prev and Next are the neighbouring pages' links, "" at an end.
	Prev, Next string
	CSV        string
	// Verified counts the records the chain verified; Broken is the
	// record where it broke (0: it holds) and Why what is wrong there.
	Verified uint64
	Broken   uint64
	Why      string
}

// auditPage answers GET /audit?page=&account= (?format=csv: every record
// matching, oldest first, with its hashes).
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, "html", api.FormatCSV)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := auditData{Account: q.Get("account"), Page: 1}
	if p := q.Get("page"); p != "" {
		if d.Page, err = strconv.Atoi(p); err != nil || d.Page < 1 {
			return errorf(http.StatusBadRequest, "query parameter page: %q is not a page number (1, 2, ...)", p)
		}
	}
	events, err := audit.List(r.Context(), s.inv, audit.Filter{Account: d.Account})
	if err != nil {
		return err
	}
	if f == api.FormatCSV {
		return respond(w, r, f, nil, func(w io.Writer) error { return render.AuditCSV(w, events) })
	}
	d.Verified, err = audit.Verify(r.Context(), s.inv)
	var broken *audit.Error
	switch {
	case errors.As(err, &broken):
		d.Broken, d.Why = broken.Seq, broken.Reason
	case err != nil:
		return err
	}
	d.Total = len(events)
	d.Pages = max(1, (d.Total+auditPageSize-1)/auditPageSize)
	if d.Page > d.Pages {
		return errorf(http.StatusNotFound, "audit page %d: there are %d", d.Page, d.Pages).withHint("see /audit")
	}
	slices.Reverse(events)
	d.Events = events[(d.Page-1)*auditPageSize : min(d.Total, d.Page*auditPageSize)]
	link := func(page int) string {
		return "/audit?" + urlValues("account", d.Account, "page", strconv.Itoa(page))
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	d.CSV = "/audit?" + urlValues("account", d.Account, "format", "csv")
	return s.render(w, r, http.StatusOK, "audit", d)
}
