package save

import (
	"io"
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// BenchmarkWrite saves 10,000 services with 10 destinations each, as -S -n
// and as -S --lossless (which reads every line back).
func BenchmarkWrite(b *testing.B) {
	b.Run("numeric", func(b *testing.B) { benchmarkWrite(b, Options{Numeric: true}) })
	b.Run("lossless", func(b *testing.B) { benchmarkWrite(b, Options{Lossless: true}) })
}

func benchmarkWrite(b *testing.B, opts Options) {
	src := make([]ipvs.ServiceEntry, 10000)
	for i := range src {
		j := (i * 7919) % len(src)
		src[i].Service = ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP,
			Addr: netip.AddrFrom4([4]byte{10, byte(j >> 8), byte(j), 1}), Port: 80, Scheduler: "wlc",
			Flags: ipvs.FlagPersistent, Timeout: 300}
		for k := range 10 {
			src[i].Destinations = append(src[i].Destinations, ipvs.Destination{
				Addr: netip.AddrFrom4([4]byte{192, 168, byte(j % 200), byte(10 - k)}), Port: 80,
				ForwardMethod: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6080, Weight: 1})
		}
	}
	entries := make([]ipvs.ServiceEntry, len(src))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		copy(entries, src)
		b.StartTimer()
		w := NewWriter(io.Discard, opts)
		listing.SortEntries(entries)
		for i := range entries {
			w.Entry(&entries[i])
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := w.Loss(); err != nil {
			b.Fatal(err)
		}
	}
}
