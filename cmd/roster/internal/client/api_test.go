package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/server"
)

// startServer runs the real server on 127.0.0.1 in a fresh data directory
// and returns a Client configured for it with the admin token.
func startServer(t *testing.T) (*Client, Config) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", TrustDomain: "roster.local",
			DefaultValidity: time.Hour, MinValidity: 5 * time.Minute, MaxValidity: 24 * time.Hour,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: pw})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	url := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "roster server listening on "); ok {
			url = u
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatal("server did not start")
	}
	cfg := Config{Server: url, CARoot: filepath.Join(dir, "root.crt"), TokenFile: filepath.Join(dir, "admin.token")}
	return New(cfg), cfg
}

func report(host string, accounts ...string) *scan.Report {
	r := &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: "test", Version: "0"},
		Host:          scan.Host{Hostname: host, MachineID: fmt.Sprintf("%x", sha256.Sum256([]byte(host)))[:32], ScannedAt: time.Now().UTC(), Root: "/"},
	}
	for i, a := range accounts {
		r.Accounts = append(r.Accounts, scan.Account{
			Name: a, UID: 1000 + i, GID: 1000 + i, Shell: "/bin/bash", LoginShell: true,
			Kind: scan.KindService, KindEvidence: []string{"runs " + a + ".service"},
			Password: scan.Password{Status: "usable", Algorithm: "yescrypt"},
			Credentials: []scan.Credential{{Type: scan.CredPassword, Location: "/etc/shadow:" + fmt.Sprint(i+1),
				Fingerprint: "hmac-sha256:" + strings.Repeat("A", 42) + a[:1], Algorithm: "yescrypt"}},
		})
	}
	return r
}

// TestTypedMethods calls every method against the real server: the
// client's paths, queries and bodies are the server's.
func TestTypedMethods(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	sc, err := c.ScanConfig(ctx)
	must("ScanConfig", err)
	if sc.FingerprintKey == "" {
		t.Error("no fingerprint key")
	}
	res, err := c.SubmitScan(ctx, report("app-1", "billing", "deploy"))
	must("SubmitScan", err)
	if res.Hostname != "app-1" || res.AccountsNew != 2 {
		t.Errorf("scan result %+v", res)
	}
	_, err = c.SubmitScan(ctx, report("app-2", "billing"))
	must("SubmitScan app-2", err)
	must("SetOwner", c.SetOwner(ctx, "billing", api.Owner{Name: "team-b", Contact: "b@example.com"}))
	must("UnsetOwner", c.UnsetOwner(ctx, "billing"))
	must("SetOwner again", c.SetOwner(ctx, "billing", api.Owner{Name: "team-b"}))
	must("TagAccount", c.TagAccount(ctx, "billing", api.TagsRequest{Add: []string{"critical"}}))
	_, err = c.TagHost(ctx, "app-1", api.TagsRequest{Add: []string{"rack-7"}})
	must("TagHost", err)
	must("SetTier", c.SetTier(ctx, "deploy", api.TierRequest{Tier: 2, Reason: "vendor access"}))
	must("SetKind", c.SetKind(ctx, "deploy", api.KindRequest{Kind: "system"}))
	must("SetKind auto", c.SetKind(ctx, "deploy", api.KindRequest{Kind: "auto"}))
	if err := c.SetKind(ctx, "deploy", api.KindRequest{Kind: "robot"}); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Errorf("SetKind robot: %v", err)
	}
	split, err := c.SplitAccount(ctx, "billing", api.SplitRequest{Host: "app-2", Env: "legacy"})
	must("SplitAccount", err)
	if split.Name != "billing@legacy" {
		t.Errorf("split %+v", split)
	}
	must("MergeAccount", c.MergeAccount(ctx, "billing@default", api.MergeRequest{From: "billing@legacy"}))
	must("SetOwner deploy", c.SetOwner(ctx, "deploy", api.Owner{Name: "ops"}))
	ex, err := c.AddException(ctx, api.ExceptionRequest{Account: "deploy", Reason: "vendor", Owner: "ops",
		Expires: time.Now().AddDate(0, 0, 10).Format("2006-01-02")})
	must("AddException", err)
	if ex.ID == "" || ex.Account != "deploy@default" || ex.Expires.IsZero() {
		t.Errorf("exception %+v", ex)
	}
	var out bytes.Buffer
	must("ListExceptions", c.ListExceptions(ctx, api.ExceptionQuery{Expiring: "30d"}, api.FormatCSV, &out))
	if !strings.Contains(out.String(), ex.ID) {
		t.Errorf("exceptions csv lacks %s:\n%s", ex.ID, out.String())
	}
	ex, err = c.ExtendException(ctx, ex.ID, api.ExtendRequest{Expires: time.Now().AddDate(0, 0, 20).Format("2006-01-02"), Reason: "late"})
	must("ExtendException", err)
	if ex.Extensions != 1 {
		t.Errorf("extended exception %+v", ex)
	}
	ph, err := c.SetPhase(ctx, 1, api.PhaseRequest{Target: "short_lived_cert", Owner: "sec-team", Start: "2026-01-01", End: "2030-01-01"})
	must("SetPhase", err)
	if ph.Tier != 1 || ph.Target != "short_lived_cert" || ph.End.IsZero() {
		t.Errorf("phase %+v", ph)
	}
	out.Reset()
	must("Plan", c.Plan(ctx, api.FormatCSV, &out))
	if !strings.Contains(out.String(), "phase,1,1 privileged,") {
		t.Errorf("plan csv:\n%s", out.String())
	}
	must("RemovePhase", c.RemovePhase(ctx, 1))
	must("CloseException", c.CloseException(ctx, ex.ID, "credential removed"))
	var buf bytes.Buffer
	must("ImportOwners", c.ImportOwners(ctx, strings.NewReader("account,owner\ndeploy,team-d\n"), false, api.FormatJSON, &buf))
	if !strings.Contains(buf.String(), `"applied": false`) {
		t.Errorf("dry-run import: %s", buf.String())
	}
	tok, err := c.CreateToken(ctx, api.TokenRequest{Name: "ro", Role: api.RoleViewer})
	must("CreateToken", err)
	if !strings.HasPrefix(tok.Token, "rst_") || tok.Role != "viewer" || tok.ID == "" {
		t.Errorf("token %+v", tok)
	}
	must("RevokeToken", c.RevokeToken(ctx, "ro"))
	must("SetOwner deploy", c.SetOwner(ctx, "deploy", api.Owner{Name: "team-d"}))
	enr, err := c.CreateEnrollment(ctx, api.EnrollmentRequest{Host: "app-1", Account: "deploy", Valid: "10m"})
	must("CreateEnrollment", err)
	if !strings.HasPrefix(enr.Token, "ret_") || enr.Identity != "spiffe://roster.local/host/app-1/sa/deploy" ||
		!strings.Contains(enr.Command, "roster-agent enroll") || time.Until(enr.ExpiresAt) > 11*time.Minute {
		t.Errorf("enrollment %+v", enr)
	}
	if _, err := c.Revoke(ctx, api.RevokeRequest{Host: "app-1", Account: "deploy"}); err == nil {
		t.Error("revoking an identity without a certificate succeeded")
	} else if ae, ok := err.(*APIError); !ok || ae.Status != 404 {
		t.Errorf("revoke without a certificate: %v, want a 404", err)
	}
	must("RetireAccount", c.RetireAccount(ctx, "deploy", api.RetireRequest{Reason: "gone"}))
	for name, read := range map[string]func(w io.Writer) error{
		"Report": func(w io.Writer) error { return c.Report(ctx, api.FormatMarkdown, w) },
		"ListAccounts": func(w io.Writer) error {
			return c.ListAccounts(ctx, api.AccountQuery{Retired: true, Host: "app-1"}, api.FormatJSON, w)
		},
		"ShowAccount":    func(w io.Writer) error { return c.ShowAccount(ctx, "billing", api.FormatTable, w) },
		"AccountHistory": func(w io.Writer) error { return c.AccountHistory(ctx, "billing", api.FormatJSON, w) },
		"ListHosts":      func(w io.Writer) error { return c.ListHosts(ctx, api.FormatCSV, w) },
		"ListTokens":     func(w io.Writer) error { return c.ListTokens(ctx, api.FormatTable, w) },
		"ListAudit": func(w io.Writer) error {
			return c.ListAudit(ctx, api.AuditQuery{Account: "billing", Since: "1h"}, api.FormatJSONL, w)
		},
		"PlanHistory": func(w io.Writer) error { return c.PlanHistory(ctx, api.PlanHistoryQuery{}, api.FormatCSV, w) },
		"PlanChart":   func(w io.Writer) error { return c.PlanChart(ctx, api.PlanHistoryQuery{To: "2026-12-01"}, w) },
	} {
		var b bytes.Buffer
		if err := read(&b); err != nil || b.Len() == 0 {
			t.Errorf("%s: %v, %d bytes", name, err, b.Len())
		}
	}
	var accts bytes.Buffer
	must("ListAccounts", c.ListAccounts(ctx, api.AccountQuery{Retired: true}, api.FormatCSV, &accts))
	if !strings.Contains(accts.String(), "deploy") {
		t.Errorf("--retired lacks the retired account:\n%s", accts.String())
	}
	v, err := c.VerifyAudit(ctx)
	must("VerifyAudit", err)
	if !v.OK || v.Records < 10 {
		t.Errorf("verify %+v", v)
	}
}
