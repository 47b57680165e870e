package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/spiffeid"
)

// hostSet is a host identity and the account identities of its host, for
// batch mode.
type hostSet struct {
	host     *identity
	accounts []*identity
}

// splitHosts separates host identities (spiffe://TD/host/HOST) from the
// others, and gives each host identity the other identities of its host.
func splitHosts(all []*identity) ([]*identity, []*hostSet) {
	var accounts []*identity
	byHost := map[string]*hostSet{}
	var hosts []*hostSet
	names := func(id *identity) (string, string) {
		if len(id.loaded.URIs) != 1 {
			return "", "-"
		}
		sid, err := spiffeid.ParseURL(id.loaded.URIs[0])
		if err != nil {
			return "", "-"
		}
		return sid.TrustDomain + "/" + sid.Host, sid.Account
	}
	for _, id := range all {
		if h, a := names(id); h != "" && a == "" {
			hs := &hostSet{host: id}
			byHost[h] = hs
			hosts = append(hosts, hs)
			continue
		}
		accounts = append(accounts, id)
	}
	for _, id := range accounts {
		if h, _ := names(id); byHost[h] != nil {
			byHost[h].accounts = append(byHost[h].accounts, id)
		}
	}
	return accounts, hosts
}

// checkHosts checks that batch mode can run with n hosts of size
// identities each.
func (t *target) checkHosts(n, size int) error {
	full := 0
	for _, h := range t.hosts {
		if len(h.accounts) >= size {
			full++
		}
	}
	if full < n {
		return fmt.Errorf("batch mode with %d clients needs %d host identities with %d identities of their host each; %s has %d",
			n, n, size, t.ids, full)
	}
	return nil
}

// batchClient renews a host's identities in batches over a new TLS
// connection each time, authenticated by the host identity.
type batchClient struct {
	set        *hostSet
	size       int
	hc         *http.Client
	handshakes atomic.Int64
}

func newBatchClient(set *hostSet, size int, roots *x509.CertPool) *batchClient {
	c := &batchClient{set: set, size: size}
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c.handshakes.Add(1)
			return &set.host.current().cert, nil
		}}
	c.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: time.Minute}
	return c
}

// renew sends one batch of the host's first size identities, requires 200
// and a chain for each identity's key, and makes each its identity's
// current chain. It returns how many of them are new certificates.
func (c *batchClient) renew(url string) (int, error) {
	ids := c.set.accounts[:c.size]
	req := api.RenewBatchRequest{Renewals: make([]api.RenewBatchEntry, len(ids))}
	for i, id := range ids {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, id.key)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", id.dir, err)
		}
		req.Renewals[i] = api.RenewBatchEntry{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
			Serial: id.current().chain[0].SerialNumber.String()}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.set.host.dir, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, fmt.Errorf("%s: read response: %w", c.set.host.dir, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s, want 200 OK: %.300s", c.set.host.dir, resp.Status, b)
	}
	var res api.RenewBatchResponse
	if err := json.Unmarshal(b, &res); err != nil || len(res.Results) != len(ids) {
		return 0, fmt.Errorf("%s: batch response: %d results for %d entries (%v)", c.set.host.dir, len(res.Results), len(ids), err)
	}
	fresh := 0
	for i, id := range ids {
		r := res.Results[i]
		if r.Error != "" {
			return 0, fmt.Errorf("%s: batch entry: %d %s", id.dir, r.Status, r.Error)
		}
		leaf, err := agent.ParseCertificates([]byte(r.Crt))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", id.dir, err)
		}
		inter, err := agent.ParseCertificates([]byte(r.CA))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", id.dir, err)
		}
		chain := append(leaf, inter...)
		if err := agent.VerifyChain(chain, id.root, id.key.Public(), time.Now()); err != nil {
			return 0, fmt.Errorf("%s: %w", id.dir, err)
		}
		if !chain[0].Equal(id.current().chain[0]) {
			fresh++
		}
		id.hold(chain)
	}
	return fresh, nil
}

// measureBatch is measure for batch mode: n hosts renew o.n identities in
// batches of o.batch.
func measureBatch(o *options, t *target, n int, _ bool) (*result, error) {
	url := t.url + "/v1/renew-batch"
	var clients []*batchClient
	for _, h := range t.hosts {
		if len(clients) < n && len(h.accounts) >= o.batch {
			c := newBatchClient(h, o.batch, t.roots)
			defer c.hc.CloseIdleConnections()
			for range o.warmup {
				if _, err := c.renew(url); err != nil {
					return nil, fmt.Errorf("warm-up: %w", err)
				}
			}
			clients = append(clients, c)
		}
	}
	workers := make([]func() (int, int, error), len(clients))
	for i, c := range clients {
		workers[i] = func() (int, int, error) {
			k, err := c.renew(url)
			return c.size, k, err
		}
	}
	return timed(o.n, o.batch, t.pid, workers, handshakes(clients))
}

func (c *batchClient) shakes() int64 { return c.handshakes.Load() }
