package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// The made-up fleet: host N is simN (sim00001...), with accounts
// hNaI (h00001a01...), each with its own owner, so that every identity is
// its own service account, as on hosts that run different services.

func hostName(h int) string       { return fmt.Sprintf("sim%05d", h+1) }
func accountName(h, i int) string { return fmt.Sprintf("h%05da%02d", h+1, i+1) }

// hostReport is the scan report of simulated host h with m service
// accounts, scanned at at.
func hostReport(h, m int, at time.Time) *scan.Report {
	accounts := make([]scan.Account, m)
	for i := range accounts {
		accounts[i] = inventorytest.Account(accountName(h, i), 2000+i)
	}
	return inventorytest.NewReport(hostName(h), fmt.Sprintf("%032x", h+1), at.UTC(), accounts...)
}

// operator calls the operator API with the admin token.
type operator struct {
	b       *balancer
	token   string
	retries atomic.Int64 // setup steps tried again
}

// setupTries bounds the tries of one setup step.
const setupTries = 5

// retry runs fn until it succeeds, at most setupTries times, waiting a
// second more after each failure: a node may answer 500 or 503 for a
// while under load (a serialization failure retried to its bound, the
// database away), and every step is safe to repeat (a new enrollment
// token each time; a scan or owner import applied twice is applied once).
func (op *operator) retry(ctx context.Context, fn func() error) error {
	var err error
	for try := range setupTries {
		if err = fn(); err == nil || errors.Is(err, errBudget) || ctx.Err() != nil {
			return err
		}
		op.retries.Add(1)
		if !sleepCtx(ctx, time.Duration(try+1)*time.Second) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%w (%d tries)", err, setupTries)
}

// call sends in (JSON, or raw bytes with a content type) and decodes the
// answer into out when the status is want.
func (op *operator) call(ctx context.Context, method, path string, in any, want int, out any) error {
	var body []byte
	ct := "application/json"
	switch v := in.(type) {
	case nil:
	case csvBody:
		body, ct = v, "text/csv"
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	a, err := op.b.do(ctx, nil, op.token, method, path, ct, body)
	if err != nil {
		return err
	}
	if a.status != want {
		return fmt.Errorf("%s %s: %d, want %d: %.300s", method, path, a.status, want, a.body)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return nil
}

// csvBody is a request body sent as text/csv.
type csvBody []byte

// submitScans submits the scan of every host as the operator, then gives
// every account an owner in one owner import.
func (op *operator) submitScans(ctx context.Context, hosts, m int) error {
	now := time.Now()
	for h := range hosts {
		rep := hostReport(h, m, now)
		if err := op.retry(ctx, func() error { return op.call(ctx, http.MethodPost, "/v1/scans", rep, http.StatusOK, nil) }); err != nil {
			return fmt.Errorf("scan of %s: %w", hostName(h), err)
		}
	}
	var csv bytes.Buffer
	csv.WriteString("account,owner,contact\n")
	for h := range hosts {
		for i := range m {
			fmt.Fprintf(&csv, "%s,team-%s,\n", accountName(h, i), hostName(h))
		}
	}
	var res api.ImportResult
	q := url.Values{"apply": {"true"}, "format": {"json"}}
	if err := op.retry(ctx, func() error {
		return op.call(ctx, http.MethodPost, "/v1/owners/import?"+q.Encode(), csvBody(csv.Bytes()), http.StatusOK, &res)
	}); err != nil {
		return fmt.Errorf("owner import: %w", err)
	}
	if res.Errors > 0 || !res.Applied {
		return fmt.Errorf("owner import: %d errors, applied %v", res.Errors, res.Applied)
	}
	return nil
}

// enroll makes an enrollment token for account on host (account "" for
// the host identity) and redeems it with a new key, as roster-agent
// enroll does; it returns the identity with its first certificate.
func (op *operator) enroll(ctx context.Context, root *x509.Certificate, host, account string) (*ident, error) {
	var e api.Enrollment
	if err := op.call(ctx, http.MethodPost, "/v1/enrollments", api.EnrollmentRequest{Host: host, Account: account},
		http.StatusCreated, &e); err != nil {
		return nil, err
	}
	key, err := agent.GenerateKey("")
	if err != nil {
		return nil, err
	}
	csr, err := csrPEM(key)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(api.EnrollRequest{Token: e.Token, CSR: csr})
	if err != nil {
		return nil, err
	}
	a, err := op.b.do(ctx, nil, "", http.MethodPost, "/v1/enroll", "application/json", body)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusCreated {
		return nil, fmt.Errorf("enroll %s: %d: %.300s", e.Identity, a.status, a.body)
	}
	chain, err := agent.DecodeSignResponse(a.body)
	if err == nil {
		err = agent.VerifyChain(chain, root, key.Public(), time.Now())
	}
	if err != nil {
		return nil, fmt.Errorf("enroll %s: %w", e.Identity, err)
	}
	id := &ident{name: strings.TrimPrefix(e.Identity, "spiffe://"), account: account, key: key}
	id.hold(chain)
	return id, nil
}

// csrPEM is a certificate request signed by key, in PEM: proof of
// possession; its names do not matter (the server takes them from the
// inventory).
func csrPEM(key crypto.Signer) (string, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return "", fmt.Errorf("certificate request: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}
