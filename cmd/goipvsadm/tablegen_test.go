package main

// A seeded generator of random IPVS tables for the save/restore round-trip
// tests (roundtrip_test.go on the in-memory kernel, roundtrip_e2e_test.go
// on real ones). It makes only tables that both the kernel and ipvsadm's
// command line accept: a rules file can hold nothing else.

import (
	"cmp"
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// randomTable is a table with its timeouts.
type randomTable struct {
	Entries  []ipvs.ServiceEntry
	Timeouts ipvs.Timeouts
}

// defaultTimeouts are the kernel's at boot; a round trip starts again
// from them, so a timeout that is not restored shows.
var defaultTimeouts = ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}

// genSchedulers are the schedulers of Linux 6.1 and later (not twos,
// which 6.1 lacks).
var genSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

// maxTimeout is the longest timeout ipvsadm's -p and --set take (31 days).
const maxTimeout = 2678400

type tableGen struct {
	r     *rand.Rand
	addrs map[netip.Addr]bool // every address used, so that keys are unique
}

// genTable returns the random table of a seed: up to 6 services with up
// to 4 real servers each.
func genTable(seed int64) randomTable {
	g := &tableGen{r: rand.New(rand.NewSource(seed)), addrs: map[netip.Addr]bool{}}
	t := randomTable{Timeouts: ipvs.Timeouts{TCP: g.timeout(), TCPFin: g.timeout(), UDP: g.timeout()}}
	for n := g.r.Intn(7); len(t.Entries) < n; {
		svc := g.service()
		dup := slices.ContainsFunc(t.Entries, func(e ipvs.ServiceEntry) bool { return e.Service.Key() == svc.Key() })
		if dup {
			continue
		}
		e := ipvs.ServiceEntry{Service: svc}
		for m := g.r.Intn(5); len(e.Destinations) < m; {
			e.Destinations = append(e.Destinations, g.destination(&svc))
		}
		t.Entries = append(t.Entries, e)
	}
	return t
}

func (g *tableGen) timeout() time.Duration {
	return time.Duration(g.pick(1, maxTimeout)) * time.Second
}

// pick returns a number from lo to hi, often one of the two ends.
func (g *tableGen) pick(lo, hi int64) int64 {
	switch g.r.Intn(8) {
	case 0:
		return lo
	case 1:
		return hi
	case 2, 3:
		return lo + g.r.Int63n(min(hi-lo+1, 10))
	}
	return lo + g.r.Int63n(hi-lo+1)
}

func (g *tableGen) chance(n int) bool { return g.r.Intn(n) == 0 }

// addr returns an address not used before: services in 10.0.0.0/8 and
// 2001:db8:1::/48, real servers in 192.168.0.0/16 (without the .0 and
// .255 hosts, which a kernel with such a subnet takes as broadcast) and
// 2001:db8:2::/48.
func (g *tableGen) addr(fam ipvs.Family, server bool) netip.Addr {
	for {
		var a netip.Addr
		if fam == ipvs.IPv4 {
			if server {
				a = netip.AddrFrom4([4]byte{192, 168, byte(g.r.Intn(256)), byte(1 + g.r.Intn(254))})
			} else {
				a = netip.AddrFrom4([4]byte{10, byte(g.r.Intn(256)), byte(g.r.Intn(256)), byte(1 + g.r.Intn(254))})
			}
		} else {
			b := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1}
			if server {
				b[5] = 2
			}
			g.r.Read(b[6:])
			a = netip.AddrFrom16(b)
		}
		if !g.addrs[a] {
			g.addrs[a] = true
			return a
		}
	}
}

func (g *tableGen) family() ipvs.Family {
	if g.chance(2) {
		return ipvs.IPv6
	}
	return ipvs.IPv4
}

// service returns a random service: TCP, UDP, SCTP or a mark over the
// whole 32-bit range, with random persistence, mask, engine, one-packet
// scheduling and scheduler flags.
func (g *tableGen) service() ipvs.Service {
	s := ipvs.Service{Family: g.family(), Scheduler: genSchedulers[g.r.Intn(len(genSchedulers))]}
	if g.chance(3) {
		s.FWMark = uint32(g.pick(1, 1<<32-1))
		if g.chance(4) {
			s.FWMark = []uint32{1 << 31, 1<<31 - 1, 3000000000}[g.r.Intn(3)]
		}
	} else {
		s.Protocol = []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP}[g.r.Intn(3)]
		s.Addr = g.addr(s.Family, false)
		s.Port = uint16(g.pick(1, 65535))
	}
	if g.chance(3) {
		s.Flags |= ipvs.FlagPersistent
		s.Timeout = uint32(g.pick(1, maxTimeout))
		if s.FWMark == 0 && g.chance(4) {
			s.Port = 0 // a persistent service may have port 0
		}
	}
	if g.chance(3) {
		if s.Family == ipvs.IPv6 {
			s.Netmask = ipvs.IPv6Prefix(int(g.pick(1, 127)))
		} else if g.chance(2) {
			s.Netmask = ipvs.IPv4NetmaskBits(^uint32(0) << (32 - g.pick(0, 31))) // a /0 to /31 prefix
		} else {
			s.Netmask = ipvs.IPv4NetmaskBits(g.r.Uint32()) // ipvsadm takes any mask
		}
	}
	if g.chance(4) {
		s.PEName = "sip"
	}
	// ipvsadm allows -o for UDP and mark services only.
	if (s.FWMark != 0 || s.Protocol == ipvs.UDP) && g.chance(3) {
		s.Flags |= ipvs.FlagOnePacket
	}
	if g.chance(3) {
		s.Flags |= ipvs.ServiceFlags(1+g.r.Intn(7)) * ipvs.FlagSched1
	}
	return s
}

// destination returns a random real server of svc: any forwarding method
// (tunnels of any type, to either family), weight and thresholds.
func (g *tableGen) destination(svc *ipvs.Service) ipvs.Destination {
	d := ipvs.Destination{ForwardMethod: []ipvs.ForwardMethod{ipvs.Masquerade, ipvs.DirectRoute, ipvs.Tunnel}[g.r.Intn(3)]}
	fam := svc.Family
	if d.ForwardMethod == ipvs.Tunnel && g.chance(3) {
		// The kernel mixes families only for tunnels.
		fam = ipvs.IPv6
		if svc.Family == ipvs.IPv6 {
			fam = ipvs.IPv4
		}
	}
	d.Addr = g.addr(fam, true)
	switch {
	case svc.FWMark == 0 && d.ForwardMethod != ipvs.Masquerade:
		d.Port = svc.Port // ipvsadm sets it so for routing and tunnels
	case svc.FWMark != 0 && d.ForwardMethod != ipvs.Masquerade:
		d.Port = uint16(g.pick(0, 65535))
	default:
		d.Port = uint16(g.pick(1, 65535))
	}
	d.Weight = uint32(g.pick(0, 1<<31-1))
	if g.chance(2) {
		d.UpperThreshold = uint32(g.pick(1, 1<<31-1))
		d.LowerThreshold = uint32(g.pick(0, int64(d.UpperThreshold)))
	}
	if d.ForwardMethod == ipvs.Tunnel {
		switch g.r.Intn(3) {
		case 1:
			d.TunnelType = ipvs.GUE
			d.TunnelPort = uint16(g.pick(1, 65535))
			d.TunnelFlags = []ipvs.TunnelFlags{0, ipvs.TunnelCsum, ipvs.TunnelRemCsum}[g.r.Intn(3)]
		case 2:
			d.TunnelType = ipvs.GRE
			d.TunnelFlags = []ipvs.TunnelFlags{0, ipvs.TunnelCsum}[g.r.Intn(2)]
		}
	}
	return d
}

// clone returns a deep copy of t.
func (t randomTable) clone() randomTable {
	c := randomTable{Timeouts: t.Timeouts, Entries: slices.Clone(t.Entries)}
	for i := range c.Entries {
		c.Entries[i].Destinations = slices.Clone(c.Entries[i].Destinations)
	}
	return c
}

// load empties the kernel and creates t in it through the library.
func (t randomTable) load(ctx context.Context, c *ipvs.Client) error {
	if err := resetTable(ctx, c); err != nil {
		return err
	}
	ops := []ipvs.Op{ipvs.SetTimeouts(t.Timeouts)}
	for _, e := range t.Entries {
		ops = append(ops, ipvs.CreateService(e.Service))
		for _, d := range e.Destinations {
			ops = append(ops, ipvs.CreateDestination(e.Service.Key(), d))
		}
	}
	results, err := c.Apply(ctx, ops)
	if err != nil {
		return err
	}
	for i, err := range results {
		if err != nil {
			return fmt.Errorf("the kernel refuses the generated %s: %w", opText(ops[i]), err)
		}
	}
	return nil
}

func opText(op ipvs.Op) string {
	switch op.Kind {
	case ipvs.OpCreateService:
		return fmt.Sprintf("service %+v", op.Service)
	case ipvs.OpCreateDestination:
		return fmt.Sprintf("real server %+v of %v", op.Destination, op.Service.Key())
	}
	return fmt.Sprintf("timeouts %+v", op.Timeouts)
}

// resetTable empties the table and sets the timeouts of a fresh boot.
func resetTable(ctx context.Context, c *ipvs.Client) error {
	if err := c.Flush(ctx); err != nil {
		return err
	}
	return c.SetTimeouts(ctx, defaultTimeouts)
}

// readTable reads the kernel's table and timeouts, counters left out.
func readTable(ctx context.Context, c *ipvs.Client) (randomTable, error) {
	entries, err := c.Snapshot(ctx)
	if err != nil {
		return randomTable{}, err
	}
	to, err := c.Timeouts(ctx)
	if err != nil {
		return randomTable{}, err
	}
	for i := range entries {
		entries[i].Service.Stats = ipvs.Stats{}
		for j := range entries[i].Destinations {
			d := &entries[i].Destinations[j]
			d.Stats, d.ActiveConns, d.InactiveConns, d.PersistentConns = ipvs.Stats{}, 0, 0, 0
		}
	}
	return randomTable{Entries: entries, Timeouts: to}, nil
}

// lines describes t one field set per line, services and real servers in
// a fixed order, for comparing two tables and showing how they differ.
func (t randomTable) lines() []string {
	out := []string{fmt.Sprintf("timeouts %d %d %d", t.Timeouts.TCP/time.Second, t.Timeouts.TCPFin/time.Second, t.Timeouts.UDP/time.Second)}
	for _, e := range t.Entries {
		s := e.Service
		svc := fmt.Sprintf("service %v sched=%s flags=%#x timeout=%d netmask=%v pe=%q",
			s.Key(), s.Scheduler, uint32(s.Flags), s.Timeout, s.Netmask.Value(s.Family), s.PEName)
		var dests []string
		for _, d := range e.Destinations {
			dests = append(dests, fmt.Sprintf("  real server %s fwd=%v weight=%d thresholds=%d/%d tunnel=%v/%d/%d",
				netip.AddrPortFrom(d.Addr, d.Port), d.ForwardMethod, d.Weight, d.UpperThreshold, d.LowerThreshold,
				d.TunnelType, d.TunnelPort, d.TunnelFlags))
		}
		slices.Sort(dests)
		out = append(out, svc+"\n"+strings.Join(dests, "\n"))
	}
	slices.SortFunc(out[1:], cmp.Compare[string])
	return out
}
