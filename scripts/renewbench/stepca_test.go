package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.step.sm/crypto/jose"
)

// TestStepcaInit: the directory stepca-init writes holds a step-ca config
// whose JWK provisioner verifies the tokens stepca-enroll signs, for the
// audience and subject asked.
func TestStepcaInit(t *testing.T) {
	dir := t.TempDir()
	if err := stepcaInit([]string{"--dir", dir, "--listen", "127.0.0.1:19443"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, stepConfig))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Root      string `json:"root"`
		Address   string `json:"address"`
		Authority struct {
			Provisioners []struct {
				Type string          `json:"type"`
				Name string          `json:"name"`
				Key  jose.JSONWebKey `json:"key"`
			} `json:"provisioners"`
		} `json:"authority"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Address != "127.0.0.1:19443" || len(cfg.Authority.Provisioners) != 1 || cfg.Authority.Provisioners[0].Type != "JWK" {
		t.Fatalf("config: %s", raw)
	}
	if _, err := readCert(cfg.Root); err != nil {
		t.Fatal(err)
	}
	prov := cfg.Authority.Provisioners[0]
	if !prov.Key.IsPublic() {
		t.Error("the provisioner key in ca.json is not a public key")
	}
	priv, err := os.ReadFile(filepath.Join(dir, stepJWK))
	if err != nil {
		t.Fatal(err)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(priv, &jwk); err != nil {
		t.Fatal(err)
	}
	tok, err := stepToken(&jwk, "https://127.0.0.1:19443/1.0/sign", "svc0001")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	if kid := parsed.Headers[0].KeyID; kid != prov.Key.KeyID || kid == "" {
		t.Errorf("token kid %q, provisioner kid %q", kid, prov.Key.KeyID)
	}
	var claims struct {
		jose.Claims
		SANs []string `json:"sans"`
	}
	if err := jose.Verify(parsed, prov.Key.Key, &claims); err != nil {
		t.Fatalf("the provisioner's key does not verify the token: %v", err)
	}
	if claims.Issuer != stepProvName || claims.Subject != "svc0001" || len(claims.Audience) != 1 ||
		claims.Audience[0] != "https://127.0.0.1:19443/1.0/sign" || len(claims.SANs) != 1 || claims.ID == "" {
		t.Errorf("claims %+v", claims)
	}
}
