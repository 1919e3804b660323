// Package benchrules generates the ipvsadm -R input the Go benchmarks use
// (restore's parser, goipvsadm in-process), so that they measure the same
// tables.
package benchrules

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Rules returns ipvsadm -R input for n services with m destinations
// each: a mix of TCP and UDP services, schedulers, persistence, and
// masquerading, direct-routing and tunnelling destinations with weights
// (the tables of make bench are built the same way).
func Rules(n, m int) []byte {
	var b bytes.Buffer
	scheds := []string{"wlc", "rr", "wrr", "lc", "sh"}
	for i := range n {
		v := i/4 + 1
		port := []int{80, 443, 53, 8080}[i%4]
		proto := "-t"
		if port == 53 {
			proto = "-u"
		}
		svc := fmt.Sprintf("%s 10.%d.%d.%d:%d", proto, 100+v>>16, byte(v>>8), byte(v), port)
		fmt.Fprintf(&b, "-A %s -s %s", svc, scheds[i%len(scheds)])
		if i%7 == 0 {
			b.WriteString(" -p 300")
		}
		b.WriteByte('\n')
		for j := range m {
			p := v*m + j
			rip := fmt.Sprintf("172.%d.%d.%d", 16+p>>16, byte(p>>8), byte(p))
			switch (i + j) % 10 {
			case 0, 1, 2, 3, 4, 5:
				fmt.Fprintf(&b, "-a %s -r %s:%d -m -w %d\n", svc, rip, 8000+port%1000, (i*7+j*3)%11)
			case 6, 7, 8:
				fmt.Fprintf(&b, "-a %s -r %s:%d -g -w %d\n", svc, rip, port, (i*7+j*3)%11)
			default:
				fmt.Fprintf(&b, "-a %s -r %s:%d -i --tun-type gue --tun-port 6080 -w %d\n", svc, rip, port, (i*7+j*3)%11)
			}
		}
	}
	return b.Bytes()
}

// Ops returns the changes that create n IPv4 TCP services (wlc) with m
// masquerading destinations each: the table of the library's benchmarks
// and of ipvsprof -op apply.
func Ops(n, m int) []ipvs.Op {
	ops := make([]ipvs.Op, 0, n*(1+m))
	for i := range n {
		v := i + 1
		s := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP,
			Addr: netip.AddrFrom4([4]byte{10, 100 + byte(v>>16), byte(v >> 8), byte(v)}), Port: 80, Scheduler: "wlc"}
		ops = append(ops, ipvs.CreateService(s))
		for j := range m {
			p := i*m + j + 1
			ops = append(ops, ipvs.CreateDestination(s.Key(), ipvs.Destination{
				Addr: netip.AddrFrom4([4]byte{172, 16 + byte(p>>16), byte(p >> 8), byte(p)}), Port: 8080,
				ForwardMethod: ipvs.Masquerade, Weight: 1}))
		}
	}
	return ops
}
