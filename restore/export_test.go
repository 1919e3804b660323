package restore

import (
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// ReadsSavedForm reports whether ParseRules reads line (with its newline)
// without the general parser.
func ReadsSavedForm(line string) bool {
	var l savedLine
	return readSavedLine([]byte(line), &l)
}

// WrittenOps returns the change of each of rs's rules as the batches of
// Batches write it with WriteOp, each over an Op holding another change.
func WrittenOps(rs *Rules) []ipvs.Op {
	run := &ruleRun{rs: rs, n: rs.n}
	ops := make([]ipvs.Op, rs.n)
	for i := range ops {
		ops[i] = ipvs.Op{
			Kind:        ipvs.OpSetTimeouts,
			Service:     ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.SCTP, Addr: netip.IPv6Loopback(), Port: 9, FWMark: 3, Scheduler: "sh", PEName: "sip", Timeout: 7},
			Destination: ipvs.Destination{Addr: netip.IPv6Loopback(), Port: 9, Weight: 5, UpperThreshold: 4, LowerThreshold: 3, TunnelPort: 2},
			Timeouts:    ipvs.Timeouts{TCP: 1, TCPFin: 2, UDP: 3},
		}
		run.WriteOp(i, &ops[i])
	}
	return ops
}
