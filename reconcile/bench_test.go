package reconcile_test

import (
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/reconcile"
)

// BenchmarkTableApply applies 110,000 steps (10,000 services with 10
// destinations each) to an empty table, as ApplyAtomic does to check a
// plan before it sends anything.
func BenchmarkTableApply(b *testing.B) {
	var steps []reconcile.Step
	for i := range 10000 {
		s := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Port: 80}
		steps = append(steps, reconcile.Step{Op: ipvs.CreateService(s)})
		for j := range 10 {
			d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{10, 2, byte(i), byte(j)}), Port: 80, Weight: 1}
			steps = append(steps, reconcile.Step{Op: ipvs.CreateDestination(s.Key(), d)})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		t := reconcile.NewTable(reconcile.State{})
		for _, s := range steps {
			if err := t.Apply(s.Op); err != nil {
				b.Fatal(err)
			}
		}
	}
}
