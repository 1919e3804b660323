package listing

import (
	"strconv"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Timeouts prints the -L --timeout line.
func (w *Writer) Timeouts(t ipvs.Timeouts) {
	b := append(w.line, "Timeout (tcp tcpfin udp): "...)
	for i, d := range [...]time.Duration{t.TCP, t.TCPFin, t.UDP} {
		if i > 0 {
			b = append(b, ' ')
		}
		// The kernel keeps u32 seconds and ipvsadm prints them with %d.
		b = strconv.AppendInt(b, int64(int32(uint32(d/time.Second))), 10)
	}
	w.line = append(b, '\n')
	w.emit()
}

// Daemons prints the -L --daemon lines, in the order given (the kernel
// reports the master first); daemons in neither state are skipped. The
// maxlen, port and ttl appear only when non-zero and the group only when
// the kernel reported one (kernels before 4.3 report none of them).
func (w *Writer) Daemons(ds []ipvs.Daemon) {
	for i := range ds {
		d := &ds[i]
		state, ok := daemonStateName(d.State)
		if !ok {
			continue
		}
		b := append(w.line, state...)
		b = append(b, " sync daemon (mcast="...)
		b = append(b, d.Interface...)
		b = append(b, ", syncid="...)
		b = strconv.AppendInt(b, int64(int32(d.SyncID)), 10)
		if d.MaxLen != 0 {
			b = append(b, ", maxlen="...)
			b = strconv.AppendUint(b, uint64(d.MaxLen), 10)
		}
		if d.Group.IsValid() {
			b = append(b, ", group="...)
			b = names.AppendNumericHost(b, d.Group)
		}
		if d.Port != 0 {
			b = append(b, ", port="...)
			b = strconv.AppendUint(b, uint64(d.Port), 10)
		}
		if d.TTL != 0 {
			b = append(b, ", ttl="...)
			b = strconv.AppendUint(b, uint64(d.TTL), 10)
		}
		w.line = append(b, ")\n"...)
		w.emit()
	}
}

// ConnHeader prints the two header lines of the connection table (-L -c).
func (w *Writer) ConnHeader() {
	if w.opts.PersistentConn {
		w.out.WriteString("IPVS connection entries\n" + //nolint:errcheck // sticky
			"pro expire state       source             virtual            destination        pe name          pe_data\n")
		return
	}
	w.out.WriteString("IPVS connection entries\n" + //nolint:errcheck // sticky
		"pro expire state       source             virtual            destination\n")
}

// Connection prints a row of the connection table. Names are looked up
// (unless Numeric) with the protocol of the row. With PersistentConn, rows of
// persistence-engine connections get the pe columns, and ipvsadm pads
// their destination to 16 columns although its header uses 18.
func (w *Writer) Connection(c *ipvs.Connection) {
	proto := connProto(c.Protocol)
	b := appendStringLeft(w.line, c.Protocol, 3)
	b = append(b, ' ')

	start := len(b)
	secs := uint32(c.Expires / time.Second)
	b = appendZero2(b, uint64(secs/60))
	b = append(b, ':')
	b = appendZero2(b, uint64(secs%60))
	b = appendPadTo(b, 6, start)
	b = append(b, ' ')
	b = appendStringLeft(b, c.State, 11)
	b = append(b, ' ')

	start = len(b)
	b = w.names.AppendAddrPort(b, c.Client.Addr(), c.Client.Port(), proto, w.opts.Numeric)
	b = appendPadTo(b, 18, start)
	b = append(b, ' ')
	start = len(b)
	b = w.names.AppendAddrPort(b, c.Virtual.Addr(), c.Virtual.Port(), proto, w.opts.Numeric)
	b = appendPadTo(b, 18, start)
	b = append(b, ' ')
	start = len(b)
	b = w.names.AppendAddrPort(b, c.Destination.Addr(), c.Destination.Port(), proto, w.opts.Numeric)
	if w.opts.PersistentConn && c.PEData != "" {
		b = appendPadTo(b, 16, start)
		b = append(b, ' ')
		b = appendStringLeft(b, c.PEName, 18)
		b = append(b, ' ')
		b = append(b, c.PEData...)
	}
	w.line = append(b, '\n')
	w.emit()
}

// connProto gives the getservbyport protocol of a row: ipvsadm knows
// exactly the words TCP, UDP and SCTP; other rows get numeric ports.
func connProto(word string) string {
	switch word {
	case "TCP":
		return "tcp"
	case "UDP":
		return "udp"
	case "SCTP":
		return "sctp"
	}
	return ""
}

// appendZero2 is "%02d".
func appendZero2(b []byte, v uint64) []byte {
	if v < 10 {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, v, 10)
}

// daemonStateName is the state ipvsadm prints for a daemon, which it
// tests bit by bit (master first); false for neither.
func daemonStateName(s ipvs.DaemonState) (string, bool) {
	switch {
	case s&ipvs.Master != 0:
		return "master", true
	case s&ipvs.Backup != 0:
		return "backup", true
	}
	return "", false
}
