package client

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPrecedence(t *testing.T) {
	cfgDir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfgDir)
	t.Setenv("HOME", cfgDir)
	for _, k := range []string{EnvServer, EnvToken, EnvCARoot} {
		t.Setenv(k, "")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != DefaultServer || c.CARoot != filepath.Join(DefaultDataDir, "root.crt") || c.TokenFile != filepath.Join(DefaultDataDir, "admin.token") {
		t.Errorf("defaults: %+v", c)
	}

	p, _ := ConfigPath()
	os.MkdirAll(filepath.Dir(p), 0o700)
	os.WriteFile(p, []byte(`{"server":"https://file:1","ca_root":"/file/root.crt","token_file":"/file/token"}`), 0o600)
	c, _ = Load()
	if c.Server != "https://file:1" || c.CARoot != "/file/root.crt" || c.TokenFile != "/file/token" {
		t.Errorf("config file: %+v", c)
	}

	t.Setenv(EnvServer, "https://env:2")
	t.Setenv(EnvToken, "rst_env")
	c, _ = Load()
	if c.Server != "https://env:2" || c.Token != "rst_env" || c.CARoot != "/file/root.crt" {
		t.Errorf("environment over file: %+v", c)
	}

	os.WriteFile(p, []byte(`{"server":`), 0o600)
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("a broken config file: %v, want an error naming %s", err, p)
	}
}

func TestDecodeError(t *testing.T) {
	cases := []struct {
		desc, body, msg, hint string
		status                int
	}{
		{"json with hint", `{"error":"account x has no owner","hint":"roster owner set x OWNER"}`, "account x has no owner", "roster owner set x OWNER", 403},
		{"plain text", "boom\n", "boom", "", 500},
		{"empty 401 gets a hint", "", "401 Unauthorized", "set ROSTER_TOKEN", 401},
	}
	for _, tc := range cases {
		resp := &http.Response{StatusCode: tc.status, Status: http.StatusText(tc.status), Body: io.NopCloser(strings.NewReader(tc.body))}
		if tc.status == 401 {
			resp.Status = "401 Unauthorized"
		}
		err := decodeError(resp).(*APIError)
		if err.Message != tc.msg || !strings.Contains(err.Hint(), tc.hint) || err.Status != tc.status {
			t.Errorf("%s: %+v hint %q", tc.desc, err, err.Hint())
		}
	}
}
