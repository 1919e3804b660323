//go:build e2e

package ipvs_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// TestKernelServiceChains: the kernel lists its services chain after
// chain, so each chain that Apply sorts by must come as one run in the
// listing: the chains are the kernel's, up to its per-namespace
// permutation.
func TestKernelServiceChains(t *testing.T) {
	c := kernelClient(t)
	ctx := context.Background()
	var ops []ipvs.Op
	for _, s := range mixedServices(1500) {
		ops = append(ops, ipvs.CreateService(s))
	}
	results, err := c.Apply(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != nil {
			t.Fatalf("op %d: %v", i, r)
		}
	}
	svcs, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != len(ops) {
		t.Fatalf("%d services listed, %d created", len(svcs), len(ops))
	}
	seen := map[int]bool{}
	runs := 0
	for i, s := range svcs {
		ch := ipvs.Chain(s.Key())
		if i > 0 && ch == ipvs.Chain(svcs[i-1].Key()) {
			continue
		}
		runs++
		if seen[ch] {
			t.Fatalf("service %d (%v) on chain %d, which came before: the kernel hashes differently", i, s.Key(), ch)
		}
		seen[ch] = true
		if i > 0 && (ch < 256) != (ipvs.Chain(svcs[i-1].Key()) < 256) && ch < 256 {
			t.Fatalf("service %d (%v): an address service after firewall-mark services", i, s.Key())
		}
	}
	t.Logf("%d services on %d chains", len(svcs), runs)
	if runs < 300 {
		t.Errorf("only %d chains: the test does not spread the services", runs)
	}
}

// mixedServices returns n services of every kind: IPv4 and IPv6 firewall
// marks, IPv6 TCP, and IPv4 TCP, UDP and SCTP, on a few ports.
func mixedServices(n int) []ipvs.Service {
	svcs := make([]ipvs.Service, n)
	for i := range svcs {
		s := &svcs[i]
		s.Scheduler = "rr"
		switch i % 6 {
		case 0:
			s.Family, s.FWMark = ipvs.IPv4, uint32(1+i*7)
		case 1:
			s.Family, s.FWMark = ipvs.IPv6, uint32(1+i*5)
		case 2:
			s.Protocol, s.Port = ipvs.TCP, uint16(443+i%3*256)
			s.Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 3, byte(i), 14: byte(i >> 8), 15: byte(i)})
		default:
			s.Protocol, s.Port = []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP}[i%3], uint16(80+i%5*300)
			s.Addr = netip.AddrFrom4([4]byte{10, 20 + byte(i%4), byte(i >> 8), byte(i)})
		}
	}
	return svcs
}
