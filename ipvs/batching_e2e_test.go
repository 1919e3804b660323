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

// emptyKernel returns a client of the real kernel with its table flushed
// before and after the test (which is skipped outside the e2e guest).
func emptyKernel(t *testing.T) *Client {
	t.Helper()
	if os.Getenv("GOIPVSADM_E2E") != "1" {
		t.Skip("real-kernel test: run by make e2e inside the guest")
	}
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Flush(ctx) })
	return c
}

// TestDumpBatchesOnKernel measures how many datagrams a large dump takes on
// the real kernel. The kernel sizes dump batches from the largest buffer a
// socket has read with (up to 32 KiB), so a reader that peeks at one page
// would get page-sized batches, each of which re-walks the service table.
func TestDumpBatchesOnKernel(t *testing.T) {
	c := emptyKernel(t)
	ctx := context.Background()
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

// TestDestinationDumpsOnKernel: destination dumps come over the second
// socket, which reads no more than destDumpBufferSize; a service with many
// destinations then arrives in many small datagrams, all of which must be
// read whole and in order, while the service dump keeps its large batches
// on the main socket.
func TestDestinationDumpsOnKernel(t *testing.T) {
	c := emptyKernel(t)
	ctx := context.Background()
	svc := Service{Protocol: TCP, Addr: netip.AddrFrom4([4]byte{10, 31, 0, 1}), Port: 80, Scheduler: "wrr"}
	empty := Service{Protocol: UDP, Addr: netip.AddrFrom4([4]byte{10, 31, 0, 2}), Port: 53}
	const n = 1000
	ops := []Op{CreateService(svc), CreateService(empty)}
	want := map[DestinationKey]uint32{}
	for i := range n {
		d := Destination{Addr: netip.AddrFrom4([4]byte{10, 32, byte(i >> 8), byte(i)}), Port: uint16(1000 + i),
			ForwardMethod: DirectRoute, Weight: uint32(i % 7)}
		want[d.Key()] = d.Weight
		ops = append(ops, CreateDestination(svc.Key(), d))
	}
	results, err := c.Apply(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range results {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}

	if _, err := c.Destinations(ctx, empty.Key()); err != nil { // opens the socket
		t.Fatal(err)
	}
	if c.dk == nil || c.dk == c.lk {
		t.Fatal("no separate destination-dump socket")
	}
	counter := &countingLink{link: c.dk}
	c.dk = counter
	for round := range 2 {
		var dests []Destination
		if round == 0 {
			dests, err = c.Destinations(ctx, svc.Key())
		} else {
			var entries []ServiceEntry
			entries, err = c.Snapshot(ctx)
			for _, e := range entries {
				if e.Service.Key() == svc.Key() {
					dests = e.Destinations
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		got := map[DestinationKey]uint32{}
		for _, d := range dests {
			got[d.Key()] = d.Weight
		}
		if len(dests) != n || len(got) != n {
			t.Fatalf("round %d: %d destinations (%d distinct), want %d", round, len(dests), len(got), n)
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || g != w {
				t.Fatalf("round %d: destination %v: weight %d, present %v; want %d", round, k, g, ok, w)
			}
		}
	}
	// ~370 bytes a destination: 370 KB, in datagrams of at most a page
	// (~100 per dump) rather than 32 KiB (~12).
	t.Logf("two dumps of %d destinations came in %d datagrams of at most %d bytes", n, counter.datagrams, destDumpBufferSize)
	if counter.datagrams < 2*(n*300/destDumpBufferSize) {
		t.Errorf("%d datagrams: the destination socket reads large batches", counter.datagrams)
	}
}
