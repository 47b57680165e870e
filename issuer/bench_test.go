package issuer_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/rosterhq/roster/issuer/issuertest"
)

// BenchmarkRenew, over mTLS on loopback, is in package server, which serves
// the issuer over HTTPS.

// BenchmarkRenewInProcess is Issuer.Renew without HTTP or TLS: certificate
// verification, inventory lookup and policy, the authority's renewal with
// its database write, and the inventory record. 32 concurrent callers, each
// renewing its own identity's current certificate (renewals of one
// identity are serialised, and repeat the answer for a certificate
// already renewed).
func BenchmarkRenewInProcess(b *testing.B) {
	e := issuertest.New(b, true)
	const callers = 16
	b.SetParallelism(callers)
	n := callers * runtime.GOMAXPROCS(0)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc%03d", i)
	}
	e.Ingest("web1", append([]string{"billing-batch", "nobody-owns", "legacy"}, names...)...)
	chains := make([][]*x509.Certificate, n)
	for i, name := range names {
		e.Owner(name, "team")
		_, chains[i] = e.Enroll("web1", name)
	}
	var next atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := chains[next.Add(1)-1]
		for pb.Next() {
			nc, err := e.Iss.Renew(ctx, c)
			if err != nil {
				b.Error(err)
				return
			}
			c = nc
		}
	})
}
