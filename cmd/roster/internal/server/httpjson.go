package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxJSONBody bounds every operator request body except scan reports.
const maxJSONBody = 1 << 20

// apiError is an error with an HTTP status and an optional hint, written
// as {"error": ..., "hint": ...}.
type apiError struct {
	status int
	msg    string
	hint   string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (e *apiError) withHint(h string) *apiError { e.hint = h; return e }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decodeJSON reads a bounded JSON body into v, refusing unknown fields so
// that a misspelt option is an error rather than silently ignored.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return errorf(http.StatusBadRequest, "request body: field %q: expected %s", te.Field, te.Type)
		case errors.As(err, &se):
			return errorf(http.StatusBadRequest, "request body: malformed JSON at byte %d", se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return errorf(http.StatusBadRequest, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
		case errors.Is(err, io.EOF):
			return errorf(http.StatusBadRequest, "request body: empty, expected a JSON object")
		default:
			return errorf(http.StatusBadRequest, "request body: %v", err)
		}
	}
	return nil
}

// handlerFunc is an API handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error
