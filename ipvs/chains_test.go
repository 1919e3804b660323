package ipvs

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestChainOrder: chainOrder is a permutation that keeps the order of the
// ops on each chain (so on each service), sorts each stretch between
// timeouts by chain, and moves nothing across a timeouts op.
func TestChainOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		ops := randomOps(r, 1+r.IntN(300))
		idx := make([]int, 0, len(ops))
		for i := range ops {
			if r.IntN(10) > 0 { // some ops are not sendable
				idx = append(idx, i)
			}
		}
		got := chainOrder(ops, idx, make([]int, 0, len(idx)))
		if !slices.Equal(slices.Sorted(slices.Values(got)), idx) {
			t.Fatalf("round %d: not a permutation of the ops sent", round)
		}
		pos := make(map[int]int, len(got))
		for p, i := range got {
			pos[i] = p
		}
		for a, i := range idx {
			for _, j := range idx[a+1:] {
				oi, oj := &ops[i], &ops[j]
				barrier := oi.Kind == OpSetTimeouts || oj.Kind == OpSetTimeouts
				if (barrier || oi.Service.key().chain() == oj.Service.key().chain()) && pos[i] > pos[j] {
					t.Fatalf("round %d: op %d (%v) now after op %d (%v)", round, i, oi.Kind, j, oj.Kind)
				}
			}
		}
		for p := 1; p < len(got); p++ {
			a, b := &ops[got[p-1]], &ops[got[p]]
			if a.Kind != OpSetTimeouts && b.Kind != OpSetTimeouts && a.Service.key().chain() > b.Service.key().chain() {
				t.Fatalf("round %d: chains out of order at %d", round, p)
			}
		}
	}
}

// randomOps returns n ops of every kind on a few dozen services of every
// family and kind, so that chains and services repeat.
func randomOps(r *rand.Rand, n int) []Op {
	keys := make([]ServiceKey, 40)
	for i := range keys {
		switch i % 5 {
		case 0:
			keys[i] = ServiceKey{Family: IPv4, FWMark: uint32(1 + r.IntN(600))}
		case 1:
			keys[i] = ServiceKey{Family: IPv6, FWMark: uint32(1 + r.IntN(600))}
		case 2:
			keys[i] = ServiceKey{Family: IPv6, Protocol: TCP, Addr: netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 14: byte(r.IntN(4)), 15: byte(r.IntN(256))}), Port: 443}
		default:
			keys[i] = ServiceKey{Family: IPv4, Protocol: []Protocol{TCP, UDP, SCTP}[r.IntN(3)],
				Addr: netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))}), Port: uint16(r.IntN(3) * 257)}
		}
	}
	ops := make([]Op, n)
	for i := range ops {
		k := keys[r.IntN(len(keys))]
		svc := serviceOf(k)
		svc.Scheduler = []string{"rr", "wlc", ""}[r.IntN(3)]
		d := Destination{Addr: netip.AddrFrom4([4]byte{10, 9, 0, byte(1 + r.IntN(5))}), Port: 80, Weight: uint32(r.IntN(4))}
		if k.Family == IPv6 {
			d.Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 1, 15: byte(1 + r.IntN(5))})
		}
		switch kind := OpKind(1 + r.IntN(int(OpSetTimeouts))); kind {
		case OpCreateService:
			ops[i] = CreateService(svc)
		case OpUpdateService:
			ops[i] = UpdateService(svc)
		case OpDeleteService:
			ops[i] = DeleteService(k)
		case OpCreateDestination:
			ops[i] = CreateDestination(k, d)
		case OpUpdateDestination:
			ops[i] = UpdateDestination(k, d)
		case OpDeleteDestination:
			ops[i] = DeleteDestination(k, d.Key())
		default:
			ops[i] = SetTimeouts(Timeouts{TCP: time.Duration(1+r.IntN(900)) * time.Second})
		}
	}
	return ops
}
