package server

import (
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// exceptionStates are the exceptions page's filters: open (valid or
// expiring, the default), expiring (within inventory.ExpiringWindow, 30
// days), expired (past expiry, not closed), closed, all.
var exceptionStates = []string{"open", "expiring", "expired", "closed", "all"}

// exceptionsData is the exceptions page's data.
type exceptionsData struct {
	State, Account string
	States         []string
	Rows           []exceptionRow
	// CSV is the export link of the list shown.
	CSV  string
	Done string
}

type exceptionRow struct {
	inventory.Exception
	// StateText is the exception's state at now ("expiring", "EXPIRED").
	StateText string
	Open      bool
}

// exceptionsPage answers GET /exceptions?state=&account= (?format=csv:
// roster exception list --format csv of the rows shown).
func (s *Server) exceptionsPage(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, "html", api.FormatCSV)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if !slices.Contains(exceptionStates, state) {
		return errorf(http.StatusBadRequest, "query parameter state: %q is not one of %s", state, strings.Join(exceptionStates, ", "))
	}
	account := strings.TrimSpace(q.Get("account"))
	now := s.inv.Now()
	list, err := s.inv.ListExceptions(r.Context(), inventory.ExceptionFilter{Account: account, Closed: state == "closed" || state == "all"})
	if err != nil {
		return err
	}
	list = slices.DeleteFunc(list, func(e inventory.Exception) bool {
		switch state {
		case "open":
			return !e.Valid(now)
		case "expiring":
			return !e.Valid(now) || e.Expires.Sub(now) >= inventory.ExpiringWindow
		case "expired":
			return !e.Expired(now)
		case "closed":
			return e.Closed == nil
		}
		return false
	})
	if f == api.FormatCSV {
		return respond(w, r, f, nil, func(w io.Writer) error { return render.Exceptions(w, list, f, now) })
	}
	d := exceptionsData{State: state, Account: account, States: exceptionStates, Done: q.Get("done"),
		CSV: "/exceptions?" + urlValues("state", state, "account", account, "format", "csv")}
	for _, e := range list {
		d.Rows = append(d.Rows, exceptionRow{Exception: e, StateText: e.State(now), Open: e.Closed == nil})
	}
	return s.render(w, r, http.StatusOK, "exceptions", d)
}

// webCloseListedException answers POST /exceptions/{id}/close (field reason):
// inventory.CloseException, as DELETE /v1/exceptions/{id}.
func (s *Server) webCloseListedException(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.inv.CloseException(r.Context(), id, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
		return err
	}
	return webDone(w, r, "/exceptions", "exception "+id+" closed")
}
