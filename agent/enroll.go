package agent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// EnrollOptions are the inputs of [Enroll].
type EnrollOptions struct {
	Server          string // https://HOST[:PORT]
	RootFingerprint string // lowercase hex SHA-256 of the root's DER
	Token           string // one-time enrollment token; never logged
	Dir             string // identity directory, created if missing
	User            string // service account that owns the files; empty for the caller
	KeyType         string // see [GenerateKey]
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// EnrollResult describes the installed certificate.
type EnrollResult struct {
	Dir      string
	Identity string // the leaf's URI SAN, e.g. spiffe://roster.local/host/db1/sa/billing
	Serial   string
	NotAfter time.Time
}

// Enroll generates a key on this host, exchanges the token and a CSR for a
// certificate, verifies the chain against the pinned root and installs key,
// certificate, root and identity.json in the directory. Nothing is written
// before the certificate has been verified.
func Enroll(ctx context.Context, o EnrollOptions) (*EnrollResult, error) {
	if o.Token == "" {
		return nil, errors.New("enrollment token is empty")
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	fp, err := normalizeFingerprint(o.RootFingerprint)
	if err != nil {
		return nil, err
	}
	// Check the user and directory before the token is spent; the store
	// that creates the directory is opened once the certificate is good.
	if _, err := OpenDir(o.Dir, o.User, false); err != nil {
		return nil, err
	}
	root, err := FetchRoot(ctx, o.Server, fp)
	if err != nil {
		return nil, err
	}
	client, err := NewClient(o.Server, root, now)
	if err != nil {
		return nil, err
	}
	key, err := GenerateKey(o.KeyType)
	if err != nil {
		return nil, err
	}
	csr, err := newCSR(key)
	if err != nil {
		return nil, err
	}
	chain, err := client.Enroll(ctx, o.Token, csr)
	if err != nil {
		return nil, err
	}
	if err := VerifyChain(chain, root, key.Public(), now()); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	store, err := OpenDir(o.Dir, o.User, true)
	if err != nil {
		return nil, err
	}
	if err := store.SaveRoot(root); err != nil {
		return nil, err
	}
	cred := &Credential{Chain: chain, Key: key}
	if err := store.Save(ctx, cred); err != nil {
		return nil, err
	}
	if err := store.SaveIdentity(IdentityInfo{Server: o.Server, RootFingerprint: fp, EnrolledAt: now().UTC()}); err != nil {
		return nil, err
	}
	leaf := cred.Leaf()
	return &EnrollResult{
		Dir:      o.Dir,
		Identity: identityURI(leaf.URIs),
		Serial:   Serial(leaf),
		NotAfter: leaf.NotAfter,
	}, nil
}

func identityURI(uris []*url.URL) string {
	for _, u := range uris {
		if u.Scheme == "spiffe" {
			return u.String()
		}
	}
	return ""
}
