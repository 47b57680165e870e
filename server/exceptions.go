package server

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

func (s *Server) addException(w http.ResponseWriter, r *http.Request) error {
	var req api.ExceptionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	e, err := s.newException(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusCreated, apiException(e))
	return nil
}

// newException adds the exception req asks for: POST /v1/exceptions and
// the web page's exception form.
func (s *Server) newException(ctx context.Context, req api.ExceptionRequest) (inventory.Exception, error) {
	var expires time.Time
	if req.Expires != "" {
		var err error
		expires, err = parseDate(req.Expires)
		if err != nil {
			return inventory.Exception{}, errorf(http.StatusBadRequest, "expires: %v", err)
		}
	}
	e, err := s.inv.AddException(ctx, inventory.Exception{
		Account: req.Account, Reason: req.Reason, Expires: expires, Owner: req.Owner, Credential: req.CredentialType,
		BeyondPhase: req.BeyondPhase,
	})
	if err != nil {
		return inventory.Exception{}, err
	}
	s.noticesSoon() // a notice it makes due (an exception expiring within days) is queued now
	return e, nil
}

// listExceptions answers GET /v1/exceptions with the filter of
// [api.ExceptionQuery].
func (s *Server) listExceptions(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV)
	if err != nil {
		return err
	}
	within, err := queryDuration(r, "expiring")
	if err != nil {
		return err
	}
	closed, err := queryBool(r, "closed")
	if err != nil {
		return err
	}
	list, err := s.inv.ListExceptions(r.Context(), inventory.ExceptionFilter{
		Account: r.URL.Query().Get("account"), ExpiringWithin: within, Closed: closed,
	})
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(list, apiException)), func(w io.Writer) error {
		return render.Exceptions(w, list, f, s.inv.Now())
	})
}

// closeException answers DELETE /v1/exceptions/{id}?reason=.
func (s *Server) closeException(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.CloseException(r.Context(), r.PathValue("id"), r.URL.Query().Get("reason")); err != nil {
		return err
	}
	return ok(w, r, api.StatusClosed)
}
