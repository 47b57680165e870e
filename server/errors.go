package server

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/render"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// httpError is an error with an HTTP status and an optional hint, written
// as an [api.Error].
type httpError struct {
	status int
	msg    string
	hint   string
	// cause, if any, is logged, never sent.
	cause error
}

func (e *httpError) Error() string { return e.msg }

func (e *httpError) Unwrap() error { return e.cause }

func errorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (e *httpError) withHint(h string) *httpError { e.hint = h; return e }

// hinter is implemented by the typed errors of scan, inventory and issuer
// that carry a next step.
type hinter interface{ Hint() string }

// errorStatus maps the typed errors of scan, inventory and issuer to HTTP
// statuses; their messages are written for operators and hold no secrets.
// It returns 0 for any other error: an internal one.
func errorStatus(err error) int {
	var (
		ve     *scan.ValidationError
		ie     *inventory.InvalidError
		denied *issuer.DeniedError
		req    *issuer.RequestError
		auth   *issuer.AuthError
		reuse  *issuer.ReuseError
		full   *issuer.DiskFullError
		format *render.FormatError
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.Is(err, scan.ErrTooLarge), errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The client did not send its body in time (see body.go).
		return http.StatusRequestTimeout
	case errors.As(err, &full), errors.Is(err, access.ErrBusy):
		return http.StatusServiceUnavailable
	case errors.As(err, &ve), errors.As(err, &ie), errors.As(err, &req), errors.As(err, &format):
		return http.StatusBadRequest
	case errors.As(err, &auth), errors.Is(err, access.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.As(err, &denied), errors.As(err, &reuse), errors.Is(err, inventory.ErrForbidden), errors.Is(err, access.ErrNotOwner):
		return http.StatusForbidden
	case errors.Is(err, inventory.ErrNotFound), errors.Is(err, access.ErrNotFound), errors.Is(err, issuer.ErrNothingToRevoke),
		errors.Is(err, issuer.ErrUnknownCertificate):
		return http.StatusNotFound
	case errors.Is(err, inventory.ErrAmbiguous):
		return http.StatusConflict
	}
	return 0
}

// writeError is the one error writer: every handler's error becomes an
// [api.Error] in the route's dialect (the web page's error page is
// webError, with the same status, message and hint).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, hint := s.describeError(w, r, err)
	body := api.Error{Error: msg, Hint: hint}
	if dialectFrom(r.Context()) == dialectStep {
		body.Status, body.Message = status, msg
	}
	writeJSON(w, r, status, body)
}

// describeError is what an error tells the caller: its status, message and
// hint. An error that is none of the typed ones is logged and answered
// "internal error": its text may name files or internals.
func (s *Server) describeError(w http.ResponseWriter, r *http.Request, err error) (int, string, string) {
	var he *httpError
	status, msg, hint := 0, err.Error(), ""
	if errors.As(err, &he) {
		status, msg, hint = he.status, he.msg, he.hint
	} else if storeDown(err) {
		// The store's text names the database host and user: logged
		// below, never sent.
		he = &httpError{status: http.StatusServiceUnavailable, msg: errStoreDown, cause: err}
		if errors.Is(err, store.ErrCommitUnknown) {
			he.msg = "the database connection was lost while saving: the change may or may not have been kept; check it before you repeat it"
		}
		status, msg = he.status, he.msg
	} else {
		status = errorStatus(err)
		var h hinter
		if status != 0 && errors.As(err, &h) {
			hint = h.Hint()
		}
	}
	switch {
	case status == 0:
		s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		status, msg, hint = http.StatusInternalServerError, "internal error", ""
	case status == http.StatusRequestTimeout:
		msg, hint = "request body: the client stopped sending it", ""
	case status == http.StatusServiceUnavailable && (he == nil || he.cause == nil):
		// A full disk: the issuer logged it once already; the client may
		// retry once space is freed.
		w.Header().Set("Retry-After", "60")
	case status >= 500:
		logged := err
		if he != nil && he.cause != nil {
			logged = he.cause
		}
		if status == http.StatusServiceUnavailable {
			// The database is unreachable: the client may retry soon.
			w.Header().Set("Retry-After", "5")
		}
		s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", logged.Error()))
	}
	return cmp.Or(status, http.StatusInternalServerError), msg, hint
}
