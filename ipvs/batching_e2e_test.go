//go:build e2e

package ipvs

import (
	"context"
	"net/netip"
	"os"
	"testing"
)

// countingLink counts the datagrams a link receives.
type countingLink struct {
	link
	datagrams int
}

func (l *countingLink) recv() ([]byte, error) {
	b, err := l.link.recv()
	if err == nil {
		l.datagrams++
	}
	return b, err
}

// TestDumpBatchesOnKernel measures how many datagrams a large dump takes on
// the real kernel. The kernel sizes dump batches from the largest buffer a
// socket has read with (up to 32 KiB), so a reader that peeks at one page
// would get page-sized batches, each of which re-walks the service table.
func TestDumpBatchesOnKernel(t *testing.T) {
	if os.Getenv("GOIPVSADM_E2E") != "1" {
		t.Skip("real-kernel test: run by make e2e inside the guest")
	}
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Flush(ctx)
	const n = 2000
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = CreateService(Service{Protocol: TCP, Addr: netip.AddrFrom4([4]byte{10, 30, byte(i >> 8), byte(i)}), Port: 80, Scheduler: "rr"})
	}
	if _, err := c.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	counter := &countingLink{link: c.lk}
	c.lk = counter
	svcs, err := c.Services(ctx)
	if err != nil || len(svcs) != n {
		t.Fatalf("Services: %d, %v", len(svcs), err)
	}
	// About 150 bytes a service: 300 KB. In 32 KiB batches that is ~10
	// datagrams (plus the done message); page-sized batches would be ~75.
	t.Logf("a dump of %d services came in %d datagrams", n, counter.datagrams)
	if counter.datagrams > 25 {
		t.Errorf("%d datagrams for %d services: dump batches are small", counter.datagrams, n)
	}
}
