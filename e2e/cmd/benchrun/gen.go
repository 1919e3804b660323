package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
)

// A tableSpec is a generated IPVS table: Services services with Dests
// destinations each.
type tableSpec struct {
	Services, Dests int
}

func (t tableSpec) String() string { return fmt.Sprintf("%d×%d", t.Services, t.Dests) }

// Lines is the number of -R lines the table takes.
func (t tableSpec) Lines() int { return t.Services * (1 + t.Dests) }

var schedulers = []string{"wlc", "rr", "wrr", "lc", "sh", "wlc", "sed", "nq", "wrr", "wlc"}

// writeRules writes the table as ipvsadm -R input. The table is a
// deterministic mix resembling a real load balancer: each virtual address
// has four services (TCP 80, TCP 443, UDP 53, TCP 8080) sharing a pool of
// real servers; one service in 25 is IPv6, one in 40 is a firewall-mark
// service; schedulers vary, one in 7 is persistent; forwarding is 60 %
// masquerading, 30 % direct routing, 10 % tunnelling (ipip, some gue and
// gre); weights run 0 to 10 and some real servers have connection limits.
//
// With changed, one line in 100 differs from the table's (a service's
// persistence timeout, a real server's weight): the input of an -R --sync
// that edits 1 % of the table. (Not the scheduler: the kernel waits for an
// RCU grace period in each change of a service's scheduler, see
// bench/README.md.)
func writeRules(w io.Writer, t tableSpec, changed bool) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	n := 0 // lines written
	change := func() bool {
		n++
		return changed && n%100 == 50
	}
	for i := range t.Services {
		svc, v6, fwmark := serviceSpec(i)
		line := "-A " + svc + " -s " + schedulers[i%len(schedulers)] + persistence(i, v6, change())
		if _, err := fmt.Fprintln(bw, line); err != nil {
			return err
		}
		port := uint16(0)
		if !fwmark {
			port = []uint16{80, 443, 53, 8080}[i%4]
		}
		pool := i/4 + 1
		for j := range t.Dests {
			weight := (i*7 + j*3) % 11
			if change() {
				weight = (weight + 1) % 11
			}
			line := fmt.Sprintf("-a %s -r %s -w %d", svc, realServer(i, j, pool*t.Dests+j, port, v6), weight)
			if j == 0 && i%13 == 0 {
				line += " -x 1000 -y 100"
			}
			if _, err := fmt.Fprintln(bw, line); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// persistence returns the persistence options of service i (a changed one
// has other values).
func persistence(i int, v6, changed bool) string {
	switch {
	case i%7 == 0 && !v6 && changed:
		return " -p 301 -M 255.255.255.0"
	case i%7 == 0 && !v6:
		return " -p 300 -M 255.255.255.0"
	case i%7 == 0 && changed:
		return " -p 601"
	case i%7 == 0:
		return " -p 600"
	case i%11 == 3 && changed:
		return " -p 299"
	case i%11 == 3:
		return " -p"
	case changed:
		return " -p 120"
	}
	return ""
}

// realServer returns the address and forwarding options of real server j
// of service i, whose port is port, the p-th of the table.
func realServer(i, j, p int, port uint16, v6 bool) string {
	var rip netip.Addr
	if v6 {
		rip = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 14: byte(p >> 8), 15: byte(p)})
	} else {
		rip = netip.AddrFrom4([4]byte{172, 16 + byte(p>>16), byte(p >> 8), byte(p)})
	}
	var fwd string
	rport := port
	switch (i + j) % 10 {
	case 0, 1, 2, 3, 4, 5:
		fwd = "-m"
		if port != 0 {
			rport = 8000 + port%1000
		}
	case 6, 7, 8:
		fwd = "-g"
	default:
		fwd = []string{"-i", "-i --tun-type gue --tun-port 6080", "-i --tun-type gre --tun-csum"}[i%3]
	}
	rs := rip.String()
	if v6 {
		rs = "[" + rs + "]"
	}
	if rport != 0 {
		rs += fmt.Sprintf(":%d", rport)
	}
	return rs + " " + fwd
}

// serviceSpec returns the ipvsadm service option of service i.
func serviceSpec(i int) (spec string, v6, fwmark bool) {
	if i%40 == 13 {
		return fmt.Sprintf("-f %d", 1000+i), false, true
	}
	vip := i/4 + 1
	port := []int{80, 443, 53, 8080}[i%4]
	proto := "-t"
	if port == 53 {
		proto = "-u"
	}
	if i%25 == 24 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 14: byte(vip >> 8), 15: byte(vip)})
		return fmt.Sprintf("%s [%s]:%d", proto, a, port), true, false
	}
	a := netip.AddrFrom4([4]byte{10, 100 + byte(vip>>16), byte(vip >> 8), byte(vip)})
	return fmt.Sprintf("%s %s:%d", proto, a, port), false, false
}
