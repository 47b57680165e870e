package issuer_test

import (
	"context"
	"testing"
)

func BenchmarkScratchIssRenew(b *testing.B) {
	e := newEnv(b, true)
	_, c := e.enroll("web1", "billing-batch")
	ctx := context.Background()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.iss.Renew(ctx, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
