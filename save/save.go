// Package save prints an IPVS table as ipvsadm 1.31's -S (--save) does:
// one ipvsadm command line per service and per destination, which
// ipvsadm -R reads back.
//
// The format, and its known round-trip flaws, are ipvsadm's: names are
// resolved unless Numeric is set (a resolved IPv6 name in brackets does
// not parse back), thresholds are not saved, firewall marks of 2^31 and
// more print negative, and a service whose scheduler flags have no name
// under its scheduler ends in a dangling "-b ".
//
// Options.Lossless (goipvsadm -S --lossless) writes the same lines with
// none of those flaws: numeric, marks unsigned, thresholds (-x, -y), the
// persistence mask even without persistence, every scheduler flag by a
// name it parses back under (flag-3 where the scheduler has no name for
// it), and, through Writer.Timeouts, a --set line. Both goipvsadm's and
// ipvsadm 1.31's -R read every line of it back. It checks each line by
// reading it back; Writer.Loss reports a table no rules file can hold.
package save

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Options change the output.
type Options struct {
	// Numeric prints addresses and ports as numbers (ipvsadm -S -n).
	Numeric bool
	// Lossless writes every attribute the kernel keeps for services and
	// destinations, so that -R gives back the same table (see the
	// package comment). It implies Numeric.
	Lossless bool
	// Names looks up host and port names unless Numeric is set; nil
	// means the system's: /etc/hosts and /etc/services as glibc reads
	// them, then DNS.
	Names Names
}

// Names looks up the names -S prints in place of numbers.
type Names interface {
	// LookupHost is gethostbyaddr: the host name of addr, or false.
	LookupHost(addr netip.Addr) (string, bool)
	// LookupPort is getservbyport: the name of port under proto ("tcp",
	// "udp" or "sctp"), or false.
	LookupPort(port uint16, proto string) (string, bool)
}

// Write sorts entries (services and their destinations, in place) as
// ipvsadm does and prints them. It prints no timeouts: a lossless save
// starts with Writer.Timeouts.
func Write(w io.Writer, entries []ipvs.ServiceEntry, opts Options) error {
	listing.SortEntries(entries)
	sw := NewWriter(w, opts)
	for i := range entries {
		sw.Entry(&entries[i])
	}
	return sw.Flush()
}

// Writer prints saved rules one service at a time, for callers that
// stream services. It prints them in the order given (Write sorts them as
// ipvsadm does first); the caller must call Flush at the end.
type Writer struct {
	out      *bufio.Writer
	numeric  bool
	lossless bool
	names    Names
	spec     []byte // the current service's "-t addr:port" text
	proto    uint16 // and its protocol, for naming destination ports
	line     []byte
	loss     error // see Loss
}

// NewWriter returns a Writer printing to w.
func NewWriter(w io.Writer, opts Options) *Writer {
	numeric := opts.Numeric || opts.Lossless
	var r Names = opts.Names
	if r == nil && !numeric {
		r = names.New()
	}
	return &Writer{out: bufio.NewWriterSize(w, 64*1024), numeric: numeric, lossless: opts.Lossless, names: r}
}

// Timeouts prints the --set line that sets the connection timeouts back
// (ipvsadm's -S has none; the lossless save starts with it). A zero
// field, a protocol the kernel does not time, stays 0, which --set
// takes as "leave as it is"; with all three zero nothing is printed.
func (w *Writer) Timeouts(t ipvs.Timeouts) {
	if t == (ipvs.Timeouts{}) {
		return
	}
	b := append(w.line[:0], "--set"...)
	for _, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(d/time.Second), 10)
	}
	if w.lossless {
		w.checkLine(b, timeoutFields(t))
	}
	w.line = append(b, '\n')
	w.out.Write(w.line) //nolint:errcheck // sticky; Flush reports it
}

// Flush writes out buffered output and returns the first write error.
func (w *Writer) Flush() error { return w.out.Flush() }

// Entry prints a service and its destinations in the order given.
func (w *Writer) Entry(e *ipvs.ServiceEntry) {
	w.Service(&e.Service)
	for i := range e.Destinations {
		w.Destination(&e.Service, &e.Destinations[i])
	}
}

// Service prints the -A line of a service.
func (w *Writer) Service(svc *ipvs.Service) {
	k := svc.Key()
	w.spec = w.appendSpec(w.spec[:0], k)
	w.proto = uint16(k.Protocol)
	b := append(w.line[:0], "-A "...)
	b = append(b, w.spec...)
	b = append(b, " -s "...)
	b = append(b, svc.Scheduler...)
	persistent := svc.Flags&ipvs.FlagPersistent != 0
	if persistent {
		b = append(b, " -p "...)
		b = strconv.AppendUint(b, uint64(svc.Timeout), 10)
	}
	// ipvsadm saves the mask only with -p, though -A takes it without.
	if persistent || w.lossless {
		b = listing.AppendMask(b, " -M ", svc.Netmask, k.Family)
	}
	// Unlike -L, the persistence engine is saved whether or not the
	// service is persistent.
	if svc.PEName != "" {
		b = append(b, " --pe "...)
		b = append(b, svc.PEName...)
	}
	if svc.Flags&ipvs.FlagOnePacket != 0 {
		b = append(b, " -o"...)
	}
	if svc.Flags&ipvs.FlagSchedMask != 0 {
		b = append(b, " -b "...)
		b = w.appendSchedFlags(b, svc.Flags, svc.Scheduler)
	}
	if w.lossless {
		w.checkLine(b, serviceFields(svc))
	}
	w.line = append(b, '\n')
	w.out.Write(w.line) //nolint:errcheck // sticky; Flush reports it
}

// appendSchedFlags appends the names of the scheduler flags in f as -L
// shows them; the lossless save names a flag that has no name under
// the scheduler by its generic one (flag-3 under sh), which -b takes
// under any scheduler, where ipvsadm leaves it out.
func (w *Writer) appendSchedFlags(b []byte, f ipvs.ServiceFlags, scheduler string) []byte {
	if !w.lossless {
		return listing.AppendSchedFlags(b, f, scheduler)
	}
	n := 0
	for i, bit := range []ipvs.ServiceFlags{ipvs.FlagSched1, ipvs.FlagSched2, ipvs.FlagSched3} {
		if f&bit == 0 {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		if name := bit.SchedFlagNames(scheduler); len(name) == 1 {
			b = append(b, name[0]...)
		} else {
			b = append(b, "flag-"...)
			b = strconv.AppendInt(b, int64(i+1), 10)
		}
	}
	return b
}

// appendSpec appends the service option: -t/-u/--sctp-service with the
// address (uncut but for the 59-byte cap), or -f with the mark, signed
// as ipvsadm prints it, unsigned in a lossless save.
func (w *Writer) appendSpec(b []byte, k ipvs.ServiceKey) []byte {
	if k.FWMark != 0 {
		b = append(b, "-f "...)
		if w.lossless {
			b = strconv.AppendUint(b, uint64(k.FWMark), 10)
		} else {
			b = strconv.AppendInt(b, int64(int32(k.FWMark)), 10)
		}
		if k.Family == ipvs.IPv6 {
			b = append(b, " -6"...)
		}
		return b
	}
	switch k.Protocol {
	case ipvs.TCP:
		b = append(b, "-t "...)
	case ipvs.UDP:
		b = append(b, "-u "...)
	case ipvs.SCTP:
		b = append(b, "--sctp-service "...)
	default:
		b = append(b, "--xxx-service "...)
	}
	return names.AppendAddrPort(b, w.names, listing.ServiceAddr(k), k.Port, names.ProtoName(uint16(k.Protocol)), w.numeric)
}

// Destination prints the -a line of a destination of svc, which must be
// the service last given to Service.
func (w *Writer) Destination(svc *ipvs.Service, d *ipvs.Destination) {
	b := append(w.line[:0], "-a "...)
	b = append(b, w.spec...)
	b = append(b, " -r "...)
	b = names.AppendAddrPort(b, w.names, d.Addr, d.Port, names.ProtoName(w.proto), w.numeric)
	b = append(b, ' ')
	switch d.ForwardMethod {
	case ipvs.Masquerade:
		b = append(b, "-m"...)
	case ipvs.Tunnel:
		b = append(b, "-i"...)
	case ipvs.Local, ipvs.DirectRoute:
		b = append(b, "-g"...)
	default:
		b = append(b, "(null)"...) // glibc's text for ipvsadm's NULL
	}
	b = append(b, " -w "...)
	b = strconv.AppendInt(b, int64(int32(d.Weight)), 10)
	if w.lossless && d.UpperThreshold != 0 {
		b = append(b, " -x "...)
		b = strconv.AppendUint(b, uint64(d.UpperThreshold), 10)
	}
	if w.lossless && d.LowerThreshold != 0 {
		b = append(b, " -y "...)
		b = strconv.AppendUint(b, uint64(d.LowerThreshold), 10)
	}
	if d.ForwardMethod == ipvs.Tunnel {
		switch d.TunnelType {
		case ipvs.IPIP:
			b = append(b, " --tun-type ipip"...)
		case ipvs.GUE:
			b = append(b, " --tun-type gue --tun-port "...)
			b = strconv.AppendUint(b, uint64(d.TunnelPort), 10)
			b = append(b, ' ')
			b = append(b, csumOption(d.TunnelFlags)...)
		case ipvs.GRE:
			b = append(b, " --tun-type gre "...)
			b = append(b, csumOption(d.TunnelFlags)...)
		}
	}
	if w.lossless {
		w.checkLine(b, destinationFields(svc, d))
	}
	w.line = append(b, '\n')
	w.out.Write(w.line) //nolint:errcheck // sticky; Flush reports it
}

// csumOption is the option that sets the tunnel flags back.
func csumOption(f ipvs.TunnelFlags) string {
	switch f {
	case 0:
		return "--tun-nocsum"
	case ipvs.TunnelCsum:
		return "--tun-csum"
	case ipvs.TunnelRemCsum:
		return "--tun-remcsum"
	}
	return "(null)"
}
