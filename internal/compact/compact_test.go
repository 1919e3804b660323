package compact

import (
	"net/netip"
	"reflect"
	"testing"
	"unsafe"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

func TestAddrRoundTrip(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.1.2.3", "255.255.255.255", "::", "::ffff:10.1.2.3", "2001:db8::1", "fe80::1"} {
		a := netip.MustParseAddr(s)
		if got := AddrOf(a).Addr(); got != a {
			t.Errorf("%s came back as %s", a, got)
		}
	}
	if got := AddrOf(netip.Addr{}).Addr(); got != (netip.Addr{}) {
		t.Errorf("the zero netip.Addr came back as %s", got)
	}
	if AddrOf(netip.MustParseAddr("10.1.2.3")) == AddrOf(netip.MustParseAddr("::ffff:10.1.2.3")) {
		t.Error("an IPv4 address and its IPv4-mapped IPv6 form have the same compact form")
	}
	if got := AddrOf(netip.MustParseAddr("fe80::1%eth0")).Addr(); got != netip.MustParseAddr("fe80::1") {
		t.Errorf("fe80::1%%eth0 came back as %s, want it without its zone", got)
	}
}

// TestServiceRoundTrip sets every field of an ipvs.Service but its
// counters, one at a time: a field that ServiceOf drops (one added to
// ipvs.Service later) fails here.
func TestServiceRoundTrip(t *testing.T) {
	set := map[string]func(*ipvs.Service){
		"Family":    func(s *ipvs.Service) { s.Family = ipvs.IPv6 },
		"Protocol":  func(s *ipvs.Service) { s.Protocol = ipvs.SCTP },
		"Addr":      func(s *ipvs.Service) { s.Addr = netip.MustParseAddr("2001:db8::1") },
		"Port":      func(s *ipvs.Service) { s.Port = 443 },
		"FWMark":    func(s *ipvs.Service) { s.FWMark = 1 << 31 },
		"Scheduler": func(s *ipvs.Service) { s.Scheduler = "mh" },
		"Flags":     func(s *ipvs.Service) { s.Flags = 0x3f },
		"Timeout":   func(s *ipvs.Service) { s.Timeout = 300 },
		"Netmask":   func(s *ipvs.Service) { s.Netmask = ipvs.IPv6Prefix(64) },
		"PEName":    func(s *ipvs.Service) { s.PEName = "sip" },
	}
	typ := reflect.TypeFor[ipvs.Service]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if name == "Stats" {
			continue
		}
		f, ok := set[name]
		if !ok {
			t.Errorf("ipvs.Service has a field %s that this test does not set: keep it in compact.Service", name)
			continue
		}
		var s ipvs.Service
		f(&s)
		c := ServiceOf(s)
		if got := c.Service(); got != s || c.Key() != s.Key() {
			t.Errorf("a service with %s set came back as %+v", name, got)
		}
	}
	var s ipvs.Service
	s.Stats.Conns = 1
	if c := ServiceOf(s); c.Service() != (ipvs.Service{}) {
		t.Errorf("counters were kept")
	}
	if n := unsafe.Sizeof(Service{}); n > 80 {
		t.Errorf("a compact Service takes %d bytes", n)
	}
}

// TestCompactKey: a service's compact key is the compact form of its key,
// keys that differ have compact keys that differ, and a zone is dropped.
func TestCompactKey(t *testing.T) {
	a4, a6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	svcs := []ipvs.Service{
		{},
		{Protocol: ipvs.TCP, Addr: a4, Port: 80},
		{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a4, Port: 80, Scheduler: "rr"},
		{Protocol: ipvs.UDP, Addr: a4, Port: 80},
		{Protocol: ipvs.TCP, Addr: a4, Port: 81},
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("::ffff:10.0.0.1"), Port: 80},
		{Protocol: ipvs.TCP, Addr: a6, Port: 80},
		{Family: ipvs.IPv6, Protocol: ipvs.TCP, Addr: a6, Port: 80},
		{FWMark: 7},
		{Family: ipvs.IPv4, FWMark: 7, Protocol: ipvs.TCP, Addr: a4, Port: 80},
		{Family: ipvs.IPv6, FWMark: 7},
		{FWMark: 8},
	}
	seen := map[Key]ipvs.ServiceKey{}
	for _, s := range svcs {
		c := ServiceOf(s)
		k := c.CompactKey()
		if want := KeyOf(s.Key()); k != want {
			t.Errorf("%+v: CompactKey %+v, KeyOf(Key()) %+v", s, k, want)
		}
		if other, ok := seen[k]; ok && other != s.Key() {
			t.Errorf("%v and %v have the same compact key", other, s.Key())
		}
		seen[k] = s.Key()
	}
	zoned := ipvs.ServiceKey{Family: ipvs.IPv6, Protocol: ipvs.TCP, Addr: netip.MustParseAddr("fe80::1%eth0"), Port: 80}
	plain := zoned
	plain.Addr = plain.Addr.WithZone("")
	if KeyOf(zoned) != KeyOf(plain) {
		t.Error("a zone made a compact key differ")
	}
}

// TestKeyIsPlainMemory: a Key has no padding, so that a map hashes and
// compares it as a block of memory rather than field by field.
func TestKeyIsPlainMemory(t *testing.T) {
	typ := reflect.TypeFor[Key]()
	var sum uintptr
	for i := range typ.NumField() {
		sum += typ.Field(i).Type.Size()
	}
	if sum != typ.Size() {
		t.Errorf("a Key takes %d bytes for %d bytes of fields", typ.Size(), sum)
	}
}
