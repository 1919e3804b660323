package compact

import (
	"net/netip"
	"testing"
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
