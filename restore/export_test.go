package restore

import (
	"bytes"
	"io"
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

// SetMinPartSize sets the smallest part ParseRules parses on a goroutine
// of its own, until the function it returns is called.
func SetMinPartSize(n int64) (reset func()) {
	old := minPartSize
	minPartSize = n
	return func() { minPartSize = old }
}

// SplitInput returns where ParseRules would start the parts of r with
// workers goroutines, and where r ends; nil: in one part.
func SplitInput(r io.Reader, workers int) []int64 {
	ra, start := rereadable(r)
	return splitInput(r, ra, start, workers)
}

// ParseRulesInParts parses in as ParseRules does, in parts that start at
// 0 and at each of starts (line starts, in order).
func ParseRulesInParts(in []byte, starts []int64, opts Options) (*Rules, error) {
	r := bytes.NewReader(in)
	var input io.ReaderAt
	if opts.Reread {
		input = r
	}
	bounds := append(append([]int64{0}, starts...), int64(len(in)))
	return parseParts(r, bounds, input, opts)
}
