package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
)

// dialect is how a route answers: the operator API's indented JSON and
// {"error","hint"} errors, or step-ca's compact JSON and errors that also
// carry "status" and "message" (see package api).
type dialect int

const (
	dialectOperator dialect = iota
	dialectStep
)

type dialectKey struct{}

func withDialect(ctx context.Context, d dialect) context.Context {
	return context.WithValue(ctx, dialectKey{}, d)
}

func dialectFrom(ctx context.Context) dialect {
	d, _ := ctx.Value(dialectKey{}).(dialect)
	return d
}

// writeJSON is the one JSON writer: indented for the operator API, compact
// for the step-compatible endpoints.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if dialectFrom(r.Context()) == dialectOperator {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}

// format returns the ?format= of a read, checked against the offered ones;
// the first is the default.
func format(r *http.Request, offered ...string) (string, error) {
	f := r.URL.Query().Get("format")
	if f == "" {
		return offered[0], nil
	}
	for _, o := range offered {
		if f == o {
			return f, nil
		}
	}
	return "", errorf(http.StatusBadRequest, "query parameter format: %q is not one of %s", f, strings.Join(offered, ", "))
}

// render writes v (an api type) as JSON when the format is json, else the
// text that text writes. The body is rendered first so that a rendering
// error is still a clean 500.
func respond(w http.ResponseWriter, r *http.Request, f string, v any, text func(io.Writer) error) error {
	if f == api.FormatJSON {
		writeJSON(w, r, http.StatusOK, v)
		return nil
	}
	var buf bytes.Buffer
	if err := text(&buf); err != nil {
		return err
	}
	ct := "text/plain; charset=utf-8"
	if f == api.FormatCSV {
		ct = "text/csv; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	_, err := w.Write(buf.Bytes())
	return err
}

// queryBool reads a boolean query parameter, naming it when malformed.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(http.StatusBadRequest, "query parameter %s: %q is not a boolean", name, v)
	}
	return b, nil
}

// queryDuration reads a duration such as "30d" or "12h".
func queryDuration(r *http.Request, name string) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	d, err := parseDays(v)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "query parameter %s: %v", name, err)
	}
	return d, nil
}

// parseDays parses a duration that may use a "d" suffix for days ("30d"),
// as operators write expiry windows, besides Go's own units.
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, errors.New("expected a duration such as 30d or 12h, got " + strconv.Quote(s))
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("expected a duration such as 30d or 12h, got " + strconv.Quote(s))
	}
	return d, nil
}

// parseDate accepts YYYY-MM-DD (end of that day, UTC) or RFC 3339.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New(strconv.Quote(s) + " is not a date (YYYY-MM-DD or RFC 3339)")
}
