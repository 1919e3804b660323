package ipvstest_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

// TestRequestServiceKey: a fault hook reads the key of every service
// the requests name, of each family and kind.
func TestRequestServiceKey(t *testing.T) {
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var seen []ipvs.ServiceKey
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if key, ok := r.ServiceKey(); ok {
			seen = append(seen, key)
		} else if r.IsIPVS() && r.Command == 1 { // IPVS_CMD_NEW_SERVICE
			t.Errorf("no key in request %+v", r)
		}
		return ipvstest.Fault{}
	})
	svcs := []ipvs.Service{
		{Protocol: ipvs.UDP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 53},
		{Protocol: ipvs.SCTP, Addr: netip.MustParseAddr("2001:db8::2"), Port: 8080},
		{FWMark: 7},
		{Family: ipvs.IPv6, FWMark: 70000},
	}
	var want []ipvs.ServiceKey
	for _, s := range svcs {
		if err := c.CreateService(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		want = append(want, s.Key())
	}
	if !slices.Equal(seen, want) {
		t.Errorf("keys %v, want %v", seen, want)
	}
}
