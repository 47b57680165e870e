package issuer_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster/issuer/issuertest"
)

// BenchmarkRenew, over mTLS on loopback, is in package server, which serves
// the issuer over HTTPS.

// BenchmarkRenewInProcess is Issuer.Renew without HTTP or TLS: certificate
// verification, inventory lookup and policy, the authority's renewal with
// its database write, and the inventory record. 32 concurrent callers.
func BenchmarkRenewInProcess(b *testing.B) {
	e := issuertest.New(b, true)
	_, c := e.Enroll("web1", "billing-batch")
	ctx := context.Background()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Iss.Renew(ctx, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
