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

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/internal/rulefmt"
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
	out   *bufio.Writer
	f     rulefmt.Format
	spec  []byte        // the current service's "-t addr:port" text
	proto ipvs.Protocol // and its protocol, for naming destination ports
	line  []byte
	loss  error // see Loss
}

// NewWriter returns a Writer printing to w.
func NewWriter(w io.Writer, opts Options) *Writer {
	var r Names = opts.Names
	if r == nil && !opts.Numeric && !opts.Lossless {
		r = names.New()
	}
	f := rulefmt.Format{Numeric: opts.Numeric, Lossless: opts.Lossless, Names: r}
	return &Writer{out: bufio.NewWriterSize(w, 64*1024), f: f}
}

// Timeouts prints the --set line that sets the connection timeouts back
// (ipvsadm's -S has none; the lossless save starts with it). A zero
// field, a protocol the kernel does not time, stays 0, which --set
// takes as "leave as it is"; with all three zero nothing is printed.
func (w *Writer) Timeouts(t ipvs.Timeouts) {
	if t == (ipvs.Timeouts{}) {
		return
	}
	b := rulefmt.AppendTimeouts(w.line[:0], t)
	if w.f.Lossless {
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
	w.spec = w.f.AppendSpec(w.spec[:0], k)
	w.proto = k.Protocol
	b := append(w.line[:0], "-A "...)
	b = append(b, w.spec...)
	b = w.f.AppendServiceOptions(b, svc)
	if w.f.Lossless {
		w.checkLine(b, serviceFields(svc))
	}
	w.line = append(b, '\n')
	w.out.Write(w.line) //nolint:errcheck // sticky; Flush reports it
}

// Destination prints the -a line of a destination of svc, which must be
// the service last given to Service.
func (w *Writer) Destination(svc *ipvs.Service, d *ipvs.Destination) {
	b := append(w.line[:0], "-a "...)
	b = append(b, w.spec...)
	b = w.f.AppendRealServer(b, w.proto, d)
	b = w.f.AppendDestinationOptions(b, d)
	if w.f.Lossless {
		w.checkLine(b, destinationFields(svc, d))
	}
	w.line = append(b, '\n')
	w.out.Write(w.line) //nolint:errcheck // sticky; Flush reports it
}
