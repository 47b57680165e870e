package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/rosterhq/roster/scan"
)

// submitter sends scan reports to the server with an operator token.
type submitter struct {
	api *client.Client
}

func newSubmitter() (*submitter, error) {
	cfg, err := client.Load()
	if err != nil {
		return nil, err
	}
	return &submitter{api: client.New(cfg)}, nil
}

// fingerprintKey fetches the server's fingerprint key, so that this scan's
// fingerprints agree with every other host's.
func (s *submitter) fingerprintKey(ctx context.Context) ([]byte, error) {
	out, err := s.api.ScanConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching the server's fingerprint key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(out.FingerprintKey)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("server sent an unusable fingerprint key")
	}
	return key, nil
}

// submit posts rep and prints what the server made of it.
func (s *submitter) submit(ctx context.Context, rep *scan.Report, w io.Writer) error {
	res, err := s.api.SubmitScan(ctx, rep)
	if err != nil {
		return fmt.Errorf("submitting the scan: %w", err)
	}
	if res.Unchanged {
		fmt.Fprintf(w, "submitted scan of %s: %d accounts, nothing changed\n", res.Hostname, res.Accounts)
		return nil
	}
	fmt.Fprintf(w, "submitted scan of %s: %d accounts (%d new, %d gone), credentials %d new, %d gone\n",
		res.Hostname, res.Accounts, res.AccountsNew, res.AccountsGone, res.CredentialsNew, res.CredentialsGone)
	return nil
}
