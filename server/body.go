package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Body limits of the routes (see routes.go). A route that reads no body
// has the limit 0: a handler can never read more than its route allows.
const (
	// jsonBody bounds every JSON request body.
	jsonBody = 1 << 20
	// agentBody bounds the agents' enroll and rekey requests (a token and a
	// CSR).
	agentBody = 64 << 10
	// csvBody bounds an owner import.
	csvBody = 4 << 20
)

// decodeJSON is the one JSON decoder of request bodies (scan reports
// excepted: they are read by scan.Decode, the report schema's own
// validating decoder). It reads one JSON object from the route's
// size-limited body, refusing unknown fields (a misspelt option is an
// error, not silently ignored) and data after the object. Errors name the
// field but never quote the input, which may hold a token.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return jsonError(err)
		}
		return errorf(http.StatusBadRequest, "request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		se     *json.SyntaxError
		te     *json.UnmarshalTypeError
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooBig):
		// 400, as both of the server's former decoders answered; the scan
		// report alone is a 413 (scan.ErrTooLarge).
		return errorf(http.StatusBadRequest, "request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "request body: empty, expected a JSON object")
	case errors.As(err, &te) && te.Field == "":
		return errorf(http.StatusBadRequest, "request body is not a JSON object")
	case errors.As(err, &te):
		return errorf(http.StatusBadRequest, "request body: field %q: expected %s", te.Field, te.Type)
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, "request body: malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "request body: malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The only error encoding/json does not type; the text names the
		// field only.
		return errorf(http.StatusBadRequest, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return fmt.Errorf("request body: %w", err)
}

// timedBody bounds how long a request body may take to arrive. Each read
// may wait at most stall for the client's next bytes, and the whole body
// must arrive within total of the request's start; the connection's read
// deadline (through http.ResponseController) enforces both. Once the body
// is read to its end the deadline is lifted, so that a handler that takes
// long after reading it is not cut off.
//
// An unread body (a route that reads none, or a refused request) keeps the
// deadline: net/http discards up to 256 KiB of it before answering, and a
// client that stalls there is disconnected too.
type timedBody struct {
	rc           io.ReadCloser
	ctl          *http.ResponseController
	start        time.Time
	stall, total time.Duration
	done         bool
}

func (b *timedBody) arm() {
	d := time.Now().Add(b.stall)
	if end := b.start.Add(b.total); end.Before(d) {
		d = end
	}
	_ = b.ctl.SetReadDeadline(d) // unsupported only in unit tests' recorders
}

func (b *timedBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	b.arm()
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done = true
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
	// A deadline that passed is os.ErrDeadlineExceeded: a 408 (errors.go).
	return n, err
}

func (b *timedBody) Close() error { return b.rc.Close() }
