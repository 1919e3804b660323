package listing

import (
	"io"
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/listing/testtable"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// bigTable returns 10,000 services with 10 destinations each, in a
// scrambled order.
func bigTable() []ipvs.ServiceEntry {
	entries := make([]ipvs.ServiceEntry, 10000)
	for i := range entries {
		j := (i * 7919) % len(entries)
		e := &entries[i]
		e.Service = ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP,
			Addr: netip.AddrFrom4([4]byte{10, byte(j >> 8), byte(j), 1}), Port: 80, Scheduler: "wlc",
			Stats: ipvs.Stats{Conns: uint64(j) * 123456789, InBytes: uint64(j) << 40}}
		for k := range 10 {
			e.Destinations = append(e.Destinations, ipvs.Destination{
				Addr: netip.AddrFrom4([4]byte{192, 168, byte(j % 200), byte(10 - k)}), Port: 8080,
				ForwardMethod: ipvs.Masquerade, Weight: 1, ActiveConns: uint32(k * 1000), InactiveConns: uint32(j),
				Stats: ipvs.Stats{Conns: uint64(k) << 33, OutBytes: uint64(j) * 99999},
			})
		}
	}
	return entries
}

func benchmarkTable(b *testing.B, opts Options, r *names.Resolver) {
	src := bigTable()
	entries := make([]ipvs.ServiceEntry, len(src))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		copy(entries, src)
		b.StartTimer()
		w := NewWriter(io.Discard, opts, r)
		w.Table(testtable.Info, entries)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTableNumeric(b *testing.B) { benchmarkTable(b, Options{Numeric: true}, nil) }
func BenchmarkTableNamed(b *testing.B)   { benchmarkTable(b, Options{}, namedResolver()) }
func BenchmarkTableStats(b *testing.B)   { benchmarkTable(b, Options{Numeric: true, Stats: true}, nil) }
func BenchmarkTableNoSort(b *testing.B) {
	benchmarkTable(b, Options{Numeric: true, NoSort: true}, nil)
}

func BenchmarkConnections(b *testing.B) {
	conns := make([]ipvs.Connection, 100000)
	for i := range conns {
		conns[i] = ipvs.Connection{Protocol: "TCP",
			Client:      netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), uint16(i)),
			Virtual:     netip.MustParseAddrPort("10.0.0.1:80"),
			Destination: netip.MustParseAddrPort("192.168.1.2:80"), State: "ESTABLISHED"}
	}
	b.ReportAllocs()
	for b.Loop() {
		w := NewWriter(io.Discard, Options{Numeric: true}, nil)
		w.ConnHeader()
		for i := range conns {
			w.Connection(&conns[i])
		}
		w.Flush()
	}
}
