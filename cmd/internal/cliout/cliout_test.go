package cliout

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		format, level string
		err           string // empty: accepted
		want          string // in the output of an info line
	}{
		{"text", "info", "", "msg=hello"},
		{"json", "debug", "", `"msg":"hello"`},
		{"text", "warn", "", ""},
		{"yaml", "info", `--log-format "yaml": want text or json`, ""},
		{"text", "loud", `--log-level "loud": want debug, info, warn or error`, ""},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		log, err := NewLogger(&buf, tc.format, tc.level)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s/%s: got %v, want %q", tc.format, tc.level, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.format, tc.level, err)
		}
		log.Info("hello")
		if got := buf.String(); tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s/%s: logged %q, want %q", tc.format, tc.level, got, tc.want)
		}
	}
}

type hinted struct{ error }

func (hinted) Hint() string { return "try again" }

func TestPrintError(t *testing.T) {
	var buf bytes.Buffer
	PrintError(&buf, "prog", errors.New("boom"))
	PrintError(&buf, "prog", hinted{errors.New("bad")})
	want := "prog: error: boom\nprog: error: bad\nprog: hint: try again\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
