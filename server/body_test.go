package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// deadlineRecorder is a ResponseWriter that records read deadlines.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetReadDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// TestTimedBodyDeadlines: each read waits at most the stall timeout, never
// past the whole body's; the deadline is lifted at the end of the body, so
// that a handler working long after reading it is not cut off (net/http's
// background read of the connection would cancel its context).
func TestTimedBodyDeadlines(t *testing.T) {
	w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	start := time.Now()
	b := &timedBody{rc: io.NopCloser(strings.NewReader("abc")), ctl: http.NewResponseController(w), start: start,
		stall: time.Second, total: 10 * time.Second}
	buf := make([]byte, 2)
	for {
		if _, err := b.Read(buf); err != nil {
			break
		}
	}
	if n := len(w.deadlines); n < 3 {
		t.Fatalf("%d deadlines set", n)
	}
	for _, d := range w.deadlines[:len(w.deadlines)-1] {
		if d.Before(start) || d.After(time.Now().Add(time.Second)) {
			t.Errorf("deadline %s not within the stall timeout", d)
		}
	}
	if last := w.deadlines[len(w.deadlines)-1]; !last.IsZero() {
		t.Errorf("deadline %s left after the end of the body", last)
	}
	// The whole body's bound wins over a stall timeout that would reach
	// past it.
	w.deadlines = nil
	b = &timedBody{rc: io.NopCloser(strings.NewReader("abc")), ctl: http.NewResponseController(w), start: start.Add(-9500 * time.Millisecond),
		stall: time.Second, total: 10 * time.Second}
	b.arm()
	if d := w.deadlines[0]; d.After(start.Add(time.Second)) {
		t.Errorf("deadline %s past the body's total", d)
	}
}

// TestDecodeJSON: the one decoder's refusals name what is wrong.
func TestDecodeJSON(t *testing.T) {
	type req struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	for _, tc := range []struct{ body, want string }{
		{`{"name":"x","n":1}`, ""},
		{``, "empty, expected a JSON object"},
		{`"str"`, "is not a JSON object"},
		{`{"name":1}`, `field "name": expected string`},
		{`{"nmae":"x"}`, `unknown field "nmae"`},
		{`{"name":"x"} {"name":"y"}`, "data after the JSON object"},
		{`{"name":"x"`, "unexpected end of input"},
		{`{"name" "x"}`, "malformed JSON at byte"},
		{`{"name":"` + strings.Repeat("x", 100) + `"}`, "larger than 64 bytes"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 64)
		var v req
		err := decodeJSON(r, &v)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%.40q: %v, want %q", tc.body, err, tc.want)
		}
		if he, ok := err.(*httpError); err != nil && (!ok || he.status != http.StatusBadRequest) {
			t.Errorf("%.40q: %#v, want a 400", tc.body, err)
		}
	}
}
