package ipvs_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

// kube-proxy's IPVS mode programs IPVS through an interface of its own
// (utilipvs.Interface in pkg/proxy/ipvs/util) implemented over moby/ipvs.
// The import swap to this package keeps that implementation working. These
// are the same interface's types and methods written over the native
// package instead: no mutex of kube-proxy's own (the Client is safe for
// concurrent use), no hashed flag to strip or netmask to fill in (the
// native values hide both), and a deadline on every call. Nothing here
// comes from Kubernetes.

// VirtualServer and RealServer have kube-proxy's fields.
type VirtualServer struct {
	Address   net.IP
	Protocol  string // "TCP", "UDP", "SCTP"
	Port      uint16
	Scheduler string
	Flags     uint32
	Timeout   uint32
}

type RealServer struct {
	Address      net.IP
	Port         uint16
	Weight       int
	ActiveConn   int
	InactiveConn int
}

type runner struct{ c *ipvs.Client }

func (r runner) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func toService(vs *VirtualServer) (ipvs.Service, error) {
	proto, err := ipvs.ParseProtocol(vs.Protocol)
	if err != nil {
		return ipvs.Service{}, err
	}
	addr, ok := netip.AddrFromSlice(vs.Address)
	if !ok {
		return ipvs.Service{}, fmt.Errorf("bad address %v", vs.Address)
	}
	return ipvs.Service{Protocol: proto, Addr: addr.Unmap(), Port: vs.Port, Scheduler: vs.Scheduler,
		Flags: ipvs.ServiceFlags(vs.Flags), Timeout: vs.Timeout}, nil
}

func toVirtualServer(s ipvs.Service) *VirtualServer {
	return &VirtualServer{Address: s.Addr.AsSlice(), Protocol: s.Protocol.String(), Port: s.Port,
		Scheduler: s.Scheduler, Flags: uint32(s.Flags), Timeout: s.Timeout}
}

func toDestination(rs *RealServer) (ipvs.Destination, error) {
	addr, ok := netip.AddrFromSlice(rs.Address)
	if !ok {
		return ipvs.Destination{}, fmt.Errorf("bad address %v", rs.Address)
	}
	return ipvs.Destination{Addr: addr.Unmap(), Port: rs.Port, Weight: uint32(rs.Weight),
		ForwardMethod: ipvs.Masquerade}, nil
}

func (r runner) AddVirtualServer(vs *VirtualServer) error {
	s, err := toService(vs)
	if err != nil {
		return err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	return r.c.CreateService(ctx, s)
}

func (r runner) GetVirtualServers() ([]*VirtualServer, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	svcs, err := r.c.Services(ctx)
	out := make([]*VirtualServer, len(svcs))
	for i, s := range svcs {
		out[i] = toVirtualServer(s)
	}
	return out, err
}

func (r runner) AddRealServer(vs *VirtualServer, rs *RealServer) error {
	s, err := toService(vs)
	if err != nil {
		return err
	}
	d, err := toDestination(rs)
	if err != nil {
		return err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	return r.c.CreateDestination(ctx, s.Key(), d)
}

func (r runner) GetRealServers(vs *VirtualServer) ([]*RealServer, error) {
	s, err := toService(vs)
	if err != nil {
		return nil, err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	dests, err := r.c.Destinations(ctx, s.Key())
	out := make([]*RealServer, len(dests))
	for i, d := range dests {
		out[i] = &RealServer{Address: d.Addr.AsSlice(), Port: d.Port, Weight: int(d.Weight),
			ActiveConn: int(d.ActiveConns), InactiveConn: int(d.InactiveConns)}
	}
	return out, err
}

func (r runner) ConfigureTimeouts(tcp, tcpFin, udp time.Duration) error {
	ctx, cancel := r.ctx()
	defer cancel()
	return r.c.SetTimeouts(ctx, ipvs.Timeouts{TCP: tcp, TCPFin: tcpFin, UDP: udp})
}

// Example_kubeProxy shows kube-proxy's utilipvs.Interface shape on the
// native package (the update and delete methods follow the same pattern).
// ipvstest stands in for the kernel; ipvs.New(nil) is the real one.
func Example_kubeProxy() {
	c, err := ipvs.New(&ipvs.Config{Dial: ipvstest.New().Dial})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	r := runner{c}

	vs := &VirtualServer{Address: net.ParseIP("10.96.0.10"), Protocol: "TCP", Port: 53, Scheduler: "rr"}
	for _, err := range []error{
		r.AddVirtualServer(vs),
		r.AddRealServer(vs, &RealServer{Address: net.ParseIP("10.244.1.5"), Port: 53, Weight: 1}),
		r.ConfigureTimeouts(900*time.Second, 120*time.Second, 300*time.Second),
	} {
		if err != nil {
			panic(err)
		}
	}
	vss, _ := r.GetVirtualServers()
	for _, v := range vss {
		rss, _ := r.GetRealServers(v)
		var names []string
		for _, rs := range rss {
			names = append(names, fmt.Sprintf("%v:%d weight %d", rs.Address, rs.Port, rs.Weight))
		}
		// kube-proxy compares this with what it wants: no hashed flag.
		fmt.Printf("%s %v:%d %s flags %#x -> %s\n", v.Protocol, v.Address, v.Port, v.Scheduler, v.Flags,
			strings.Join(names, ", "))
	}
	// Output:
	// TCP 10.96.0.10:53 rr flags 0x0 -> 10.244.1.5:53 weight 1
}
