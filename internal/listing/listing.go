// Package listing prints what ipvsadm 1.31 prints for -L: the version
// header, the service table in its six formats, timeouts, sync daemons and
// the connection table, byte for byte.
//
// A Writer streams: the caller fetches one service at a time and hands it
// over, and nothing is kept. Output is buffered; write errors are sticky
// and reported by Flush, which the caller must call at the end (and before
// printing an error to stderr, as ipvsadm's stdout would have been flushed
// at exit).
//
// One deliberate difference from ipvsadm: destination counters and rates
// are printed with all 64 bits. libipvs reads them with 32-bit getters and
// prints the low half (a destination with 99999999999 connections shows
// 1215M there, 99999M here).
package listing

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"

	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Format is one of ipvsadm's table layouts.
type Format int

// Table layouts, from ipvsadm's options.
const (
	FormatDefault        Format = iota
	FormatTunInfo               // --tun-info
	FormatPersistentConn        // --persistent-conn
	FormatThresholds            // --thresholds
	FormatRate                  // --rate
	FormatStats                 // --stats
)

// Options are the -L options that change the output.
type Options struct {
	Numeric bool // -n: no name lookups
	Exact   bool // --exact/-X: numbers in full (stats and rate formats)
	NoSort  bool // --nosort: print in kernel order (Table only)

	// The format options. Several may be set; the first of Stats, Rate,
	// Thresholds, PersistentConn, TunInfo wins, as in ipvsadm.
	Stats          bool
	Rate           bool
	Thresholds     bool
	PersistentConn bool // also adds the pe columns to the connection table
	TunInfo        bool
}

// Format returns the table layout the options select.
func (o Options) Format() Format {
	switch {
	case o.Stats:
		return FormatStats
	case o.Rate:
		return FormatRate
	case o.Thresholds:
		return FormatThresholds
	case o.PersistentConn:
		return FormatPersistentConn
	case o.TunInfo:
		return FormatTunInfo
	}
	return FormatDefault
}

// Writer prints listings to an io.Writer.
type Writer struct {
	out    *bufio.Writer
	opts   Options
	format Format
	names  *names.Resolver
	line   []byte // the line being built; reused
	sort   sorter
}

// NewWriter returns a Writer printing to w. r resolves names unless
// opts.Numeric is set; a nil r prints numbers only.
func NewWriter(w io.Writer, opts Options, r *names.Resolver) *Writer {
	return &Writer{
		out:    bufio.NewWriterSize(w, 64*1024),
		opts:   opts,
		format: opts.Format(),
		names:  r,
		line:   make([]byte, 0, 256),
	}
}

// Flush writes out buffered output and returns the first write error.
func (w *Writer) Flush() error { return w.out.Flush() }

func (w *Writer) emit() {
	w.out.Write(w.line) //nolint:errcheck // sticky; Flush reports it
	w.line = w.line[:0]
}

// Header prints the version line of a full listing.
func (w *Writer) Header(info ipvs.Info) {
	b := append(w.line, "IP Virtual Server version "...)
	b = strconv.AppendUint(b, uint64(info.Version.Major), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(info.Version.Minor), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(info.Version.Patch), 10)
	b = append(b, " (size="...)
	b = strconv.AppendInt(b, int64(int32(info.ConnTableSize)), 10)
	w.line = append(b, ")\n"...)
	w.emit()
}

// The titles, after print_title.
const (
	titleDefault = "Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
	titleTunInfo = "Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
	titleStats = "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n" +
		"  -> RemoteAddress:Port\n"
	titleRate = "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n" +
		"  -> RemoteAddress:Port\n"
	titleThresholds = "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n" +
		"  -> RemoteAddress:Port\n"
	titlePersistentConn = "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n" +
		"  -> RemoteAddress:Port\n"
)

// Title prints the two column-title lines of the format.
func (w *Writer) Title() {
	var t string
	switch w.format {
	case FormatStats:
		t = titleStats
	case FormatRate:
		t = titleRate
	case FormatThresholds:
		t = titleThresholds
	case FormatPersistentConn:
		t = titlePersistentConn
	case FormatTunInfo:
		t = titleTunInfo
	default:
		t = titleDefault
	}
	w.out.WriteString(t) //nolint:errcheck // sticky
}

// keyProtocol is svc.Key().Protocol (none for a firewall-mark service),
// without copying the service for every destination line.
func keyProtocol(svc *ipvs.Service) uint16 {
	if svc.FWMark != 0 {
		return 0
	}
	return uint16(svc.Protocol)
}

// Service prints a service line.
func (w *Writer) Service(svc *ipvs.Service) {
	k := svc.Key()
	b := AppendServiceName(w.line, w.names, k, w.opts.Numeric)
	switch w.format {
	case FormatStats:
		b = appendPadTo(b, 33, len(w.line))
		s := &svc.Stats
		for _, v := range [...]uint64{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes} {
			b = AppendLargeNum(b, v, w.opts.Exact)
		}
	case FormatRate:
		b = appendPadTo(b, 33, len(w.line))
		s := &svc.Stats
		for _, v := range [...]uint64{s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS} {
			b = AppendLargeNum(b, v, w.opts.Exact)
		}
	default:
		b = appendServiceFlags(b, svc, k.Family)
	}
	w.line = append(b, '\n')
	w.emit()
}

// AppendServiceName appends ipvsadm's service column text: "TCP  " and
// the address:port for protocol services (cut to 33 bytes for IPv4),
// "FWM  <mark>" (signed) and " IPv6" for firewall-mark services.
func AppendServiceName(dst []byte, r *names.Resolver, k ipvs.ServiceKey, numeric bool) []byte {
	start := len(dst)
	if k.FWMark != 0 {
		dst = append(dst, "FWM  "...)
		dst = strconv.AppendInt(dst, int64(int32(k.FWMark)), 10)
		if k.Family == ipvs.IPv6 {
			dst = append(dst, " IPv6"...)
		}
		return dst
	}
	switch k.Protocol {
	case ipvs.TCP, ipvs.UDP, ipvs.SCTP:
		dst = append(dst, k.Protocol.String()...)
	default:
		dst = append(dst, '?') // as ipvsadm prints an unknown protocol
	}
	dst = appendPadTo(dst, 4, start)
	dst = append(dst, ' ')
	dst = r.AppendAddrPort(dst, ServiceAddr(k), k.Port, names.ProtoName(uint16(k.Protocol)), numeric)
	if k.Family != ipvs.IPv6 && len(dst)-start > 33 {
		dst = dst[:start+33]
	}
	return dst
}

// ServiceAddr returns the address of a protocol service in the form that
// makes names.AppendAddrPort print it as the service's family: 16 bytes
// for IPv6 services, 4 for IPv4 ones.
func ServiceAddr(k ipvs.ServiceKey) netip.Addr {
	if k.Family == ipvs.IPv6 {
		if !k.Addr.IsValid() {
			return netip.IPv6Unspecified()
		}
		return netip.AddrFrom16(k.Addr.As16())
	}
	return k.Addr.Unmap()
}

// appendServiceFlags appends the scheduler and flags of a service line.
func appendServiceFlags(b []byte, svc *ipvs.Service, fam ipvs.Family) []byte {
	b = append(b, ' ')
	b = append(b, svc.Scheduler...)
	if svc.Flags&ipvs.FlagSchedMask != 0 {
		b = append(b, " ("...)
		b = AppendSchedFlags(b, svc.Flags, svc.Scheduler)
		b = append(b, ')')
	}
	if svc.Flags&ipvs.FlagPersistent != 0 {
		b = append(b, " persistent "...)
		b = strconv.AppendUint(b, uint64(svc.Timeout), 10)
		b = AppendMask(b, " mask ", svc.Netmask, fam)
		if svc.PEName != "" {
			b = append(b, " pe "...)
			b = append(b, svc.PEName...)
		}
	}
	if svc.Flags&ipvs.FlagOnePacket != 0 {
		b = append(b, " ops"...)
	}
	return b
}

// AppendSchedFlags appends the comma-separated names of the scheduler
// flags in f as spelled for the scheduler (possibly nothing: flag 3 has no
// name under sh and mh).
func AppendSchedFlags(b []byte, f ipvs.ServiceFlags, scheduler string) []byte {
	for i, n := range f.SchedFlagNames(scheduler) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
	}
	return b
}

// AppendMask appends prefix and the persistence mask unless it is the
// default: dotted for IPv4, the prefix length for IPv6.
func AppendMask(b []byte, prefix string, m ipvs.Netmask, fam ipvs.Family) []byte {
	if m.IsDefault() {
		return b
	}
	v := m.Value(fam)
	if fam == ipvs.IPv6 {
		if v == 128 {
			return b
		}
		b = append(b, prefix...)
		return strconv.AppendInt(b, int64(int32(v)), 10)
	}
	if v == 0xffffffff {
		return b
	}
	b = append(b, prefix...)
	return names.AppendNumericHost(b, m.IPv4())
}

// Destination prints a destination line of svc.
func (w *Writer) Destination(svc *ipvs.Service, d *ipvs.Destination) {
	b := append(w.line, "  -> "...)
	nameStart := len(b)
	b = w.names.AppendAddrPort(b, d.Addr, d.Port, names.ProtoName(keyProtocol(svc)), w.opts.Numeric)
	if !d.Addr.Is6() && len(b)-nameStart > 28 {
		b = b[:nameStart+28]
	}
	b = appendPadTo(b, 28, nameStart)
	switch w.format {
	case FormatStats:
		s := &d.Stats
		for _, v := range [...]uint64{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes} {
			b = AppendLargeNum(b, v, w.opts.Exact)
		}
	case FormatRate:
		s := &d.Stats
		for _, v := range [...]uint64{s.CPS, s.InPPS, s.OutPPS} {
			b = append(b, ' ')
			b = appendUintRight(b, v, 8)
		}
		b = AppendLargeNum(b, s.InBPS, w.opts.Exact)
		b = AppendLargeNum(b, s.OutBPS, w.opts.Exact)
	case FormatThresholds:
		for _, v := range [...]uint32{d.UpperThreshold, d.LowerThreshold, d.ActiveConns, d.InactiveConns} {
			b = append(b, ' ')
			b = appendUintLeft(b, uint64(v), 10)
		}
	case FormatPersistentConn:
		b = append(b, ' ')
		b = appendUintLeft(b, uint64(d.Weight), 9)
		b = append(b, ' ')
		b = appendUintLeft(b, uint64(d.PersistentConns), 11)
		b = append(b, ' ')
		b = appendUintLeft(b, uint64(d.ActiveConns), 10)
		b = append(b, ' ')
		b = appendUintLeft(b, uint64(d.InactiveConns), 10)
	default:
		b = append(b, ' ')
		b = appendStringLeft(b, ForwardName(d.ForwardMethod), 7)
		if w.format == FormatTunInfo {
			b = append(b, ' ')
			start := len(b)
			b = AppendTunnelInfo(b, d)
			b = appendPadTo(b, 13, start)
		}
		b = append(b, ' ')
		b = appendIntLeft(b, int64(int32(d.Weight)), 6)
		b = append(b, ' ')
		b = appendUintLeft(b, uint64(d.ActiveConns), 10)
		b = append(b, ' ')
		b = appendUintLeft(b, uint64(d.InactiveConns), 10)
	}
	w.line = append(b, '\n')
	w.emit()
}

// ForwardName is ipvsadm's name for a forwarding method; glibc prints
// "(null)" for the NULL it gets for unknown methods.
func ForwardName(m ipvs.ForwardMethod) string {
	switch m {
	case ipvs.Masquerade, ipvs.Local, ipvs.Tunnel, ipvs.DirectRoute:
		return m.String()
	}
	return "(null)"
}

// AppendTunnelInfo appends the --tun-info column: n/a unless a tunnel of a
// known type, then ipip, gue:<port>:<csum> or gre:<csum>.
func AppendTunnelInfo(b []byte, d *ipvs.Destination) []byte {
	if d.ForwardMethod != ipvs.Tunnel {
		return append(b, "n/a"...)
	}
	switch d.TunnelType {
	case ipvs.IPIP:
		return append(b, "ipip"...)
	case ipvs.GUE:
		b = append(b, "gue:"...)
		b = strconv.AppendUint(b, uint64(d.TunnelPort), 10)
		b = append(b, ':')
		return append(b, d.TunnelFlags.String()...)
	case ipvs.GRE:
		b = append(b, "gre:"...)
		return append(b, d.TunnelFlags.String()...)
	}
	return append(b, "n/a"...)
}

// Entry prints a service and its destinations, sorting the destinations
// (in place) first unless NoSort is set.
func (w *Writer) Entry(e *ipvs.ServiceEntry) {
	if !w.opts.NoSort {
		w.sort.destinations(e.Destinations)
	}
	w.Service(&e.Service)
	for i := range e.Destinations {
		w.Destination(&e.Service, &e.Destinations[i])
	}
}

// Table prints a whole listing as ipvsadm -L does: header, title, then
// every service with its destinations, sorted (in place) unless NoSort is
// set. The caller flushes.
func (w *Writer) Table(info ipvs.Info, entries []ipvs.ServiceEntry) {
	w.Header(info)
	if !w.opts.NoSort {
		w.sort.entryServices(entries)
	}
	w.Title()
	for i := range entries {
		w.Entry(&entries[i])
	}
}
