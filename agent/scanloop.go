package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rosterhq/roster/discovery"
	"github.com/rosterhq/roster/scan"
)

// scanRetries is how many times a failed scan or submission is retried
// before the loop waits for the next interval.
const scanRetries = 3

// discoveryScanner returns the default [ScanFunc]: the discovery scanner of
// a live host (or of an image when root is not "/"), recording version as
// the scanner's.
func discoveryScanner(version string) ScanFunc {
	return func(ctx context.Context, root string, key []byte) (*scan.Report, error) {
		return discovery.Scan(ctx, discovery.Options{Root: root, FingerprintKey: key, Version: version})
	}
}

// scanLoop submits a host scan every interval (jittered) until ctx is done.
// The first scan starts soon after the agent does.
func (r *runner) scanLoop(ctx context.Context) {
	interval := r.id.Scan.Interval
	if interval == 0 {
		interval = defaultScanInterval
	}
	wait := time.Duration(r.cfg.rnd(int64(min(interval/10, 30*time.Second)) + 1))
	failures := 0
	for sleep(ctx, wait) {
		err := r.scanOnce(ctx)
		switch {
		case err == nil:
			failures = 0
			wait = interval - time.Duration(r.cfg.rnd(int64(interval/10)+1))
		case ctx.Err() != nil:
			return
		case failures < scanRetries:
			wait = backoff(failures, r.cfg.rnd)
			failures++
			r.log.Warn("host scan failed", slog.String(keyError, err.Error()), slog.Int(keyAttempt, failures), slog.Duration(keyRetryIn, wait))
		default:
			failures = 0
			wait = interval - time.Duration(r.cfg.rnd(int64(interval/10)+1))
			r.log.Error("host scan failed; next try at the next interval", slog.String(keyError, err.Error()), slog.Duration(keyRetryIn, wait))
		}
	}
}

// scanOnce fetches the fingerprint key, scans and submits the report, all
// with the host identity.
func (r *runner) scanOnce(ctx context.Context) error {
	cred, err := r.store.Load(ctx)
	if err != nil {
		return err
	}
	uri := identityURI(cred.Leaf().URIs)
	if host, account := spiffeNames(uri); host == "" || account != "" {
		return fmt.Errorf("scans need the host identity (spiffe://TD/host/HOST), and %s holds %q", r.id.Dir, uri)
	}
	client, err := r.client()
	if err != nil {
		return err
	}
	key, err := client.ScanConfig(ctx, cred)
	if err != nil {
		return err
	}
	root := r.id.Scan.Root
	if root == "" {
		root = "/"
	}
	rep, err := r.cfg.Scan(ctx, root, key)
	clear(key)
	if err != nil {
		return fmt.Errorf("scan %s: %w", root, err)
	}
	if err := client.SubmitScan(ctx, cred, rep); err != nil {
		return err
	}
	r.log.Info("host scan submitted", slog.Int(keyAccounts, len(rep.Accounts)), slog.Int(keyWarnings, len(rep.Warnings)))
	return nil
}
