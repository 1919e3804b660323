package ipvs_test

import (
	"context"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

// Whole library calls against the in-memory kernel: what the client costs
// on its side of the socket (the in-memory kernel's own work is included;
// make bench measures real kernels).

func benchClient(b *testing.B) (*ipvs.Client, *ipvstest.Kernel) {
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, k
}

// BenchmarkApply creates 1,000 services with 10 destinations each in one
// Apply (11,000 ops), on an emptied table each time.
func BenchmarkApply(b *testing.B) {
	c, _ := benchClient(b)
	ctx := context.Background()
	ops := benchrules.Ops(1000, 10)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		results, err := c.Apply(ctx, ops)
		if err != nil {
			b.Fatal(err)
		}
		for _, err := range results {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ops)), "ns/op-applied")
}

// BenchmarkSnapshot lists 10,000 services with 10 destinations each.
func BenchmarkSnapshot(b *testing.B) {
	c, _ := benchClient(b)
	ctx := context.Background()
	if _, err := c.Apply(ctx, benchrules.Ops(10000, 10)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		entries, err := c.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(entries) != 10000 {
			b.Fatalf("%d services", len(entries))
		}
	}
}

// BenchmarkServices dumps the 16,000 services of a table without
// destinations.
func BenchmarkServices(b *testing.B) {
	c, _ := benchClient(b)
	ctx := context.Background()
	if _, err := c.Apply(ctx, benchrules.Ops(16000, 0)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		svcs, err := c.Services(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(svcs) != 16000 {
			b.Fatalf("%d services", len(svcs))
		}
	}
}
