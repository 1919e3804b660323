package save

import (
	"io"
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// BenchmarkWrite saves 10,000 services with 10 destinations each.
func BenchmarkWrite(b *testing.B) {
	src := make([]ipvs.ServiceEntry, 10000)
	for i := range src {
		j := (i * 7919) % len(src)
		src[i].Service = ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP,
			Addr: netip.AddrFrom4([4]byte{10, byte(j >> 8), byte(j), 1}), Port: 80, Scheduler: "wlc",
			Flags: ipvs.FlagPersistent, Timeout: 300}
		for k := range 10 {
			src[i].Destinations = append(src[i].Destinations, ipvs.Destination{
				Addr: netip.AddrFrom4([4]byte{192, 168, byte(j % 200), byte(10 - k)}), Port: 8080,
				ForwardMethod: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6080, Weight: 1})
		}
	}
	entries := make([]ipvs.ServiceEntry, len(src))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		copy(entries, src)
		b.StartTimer()
		if err := Write(io.Discard, entries, Options{Numeric: true}); err != nil {
			b.Fatal(err)
		}
	}
}
