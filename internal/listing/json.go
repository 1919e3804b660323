package listing

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// JSONWriter writes goipvsadm's -L --json documents (see json_types.go
// and docs/json.md). Each listing is one JSON document followed by a
// newline. It streams like Writer: services and connections are written as
// they are handed over and nothing is kept, so the memory used does not
// grow with the table. The output is that of encoding/json for the types
// of json_types.go (with HTML escaping off), written by hand for speed.
//
// Output is buffered; write errors are sticky and reported by Flush.
type JSONWriter struct {
	out    *bufio.Writer
	buf    []byte // the element being built; reused
	noSort bool
	sort   sorter
	// started is set once the first element of the open array was
	// written.
	started bool
}

// NewJSONWriter returns a JSONWriter printing to w. With noSort, the
// destinations of a service are written in the order given; otherwise they
// are sorted (in place) as ipvsadm sorts them.
func NewJSONWriter(w io.Writer, noSort bool) *JSONWriter {
	return &JSONWriter{out: bufio.NewWriterSize(w, 64*1024), buf: make([]byte, 0, 4096), noSort: noSort}
}

// Flush writes out buffered output and returns the first write error.
func (w *JSONWriter) Flush() error { return w.out.Flush() }

func (w *JSONWriter) emit(b []byte) {
	w.out.Write(b) //nolint:errcheck // sticky; Flush reports it
	w.buf = b[:0]
}

// element starts an element of the open array: a comma before all but the
// first.
func (w *JSONWriter) element(b []byte) []byte {
	if w.started {
		b = append(b, ',')
	}
	w.started = true
	return b
}

// BeginTable starts the document of the full listing. Services follow,
// then EndTable.
func (w *JSONWriter) BeginTable(info ipvs.Info) {
	b := append(w.buf, `{"version":"`...)
	b = strconv.AppendUint(b, uint64(info.Version.Major), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(info.Version.Minor), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(info.Version.Patch), 10)
	b = append(b, `","conn_table_size":`...)
	b = strconv.AppendUint(b, uint64(info.ConnTableSize), 10)
	b = append(b, `,"services":[`...)
	w.started = false
	w.emit(b)
}

// Service writes a service of the full listing with its destinations,
// which it sorts in place unless the writer was made with noSort.
func (w *JSONWriter) Service(svc *ipvs.Service, dests []ipvs.Destination) {
	if !w.noSort {
		w.sort.destinations(dests)
	}
	b := w.element(w.buf)
	w.emit(appendJSONService(b, svc, dests))
}

// EndTable ends the document of the full listing.
func (w *JSONWriter) EndTable() {
	w.out.WriteString("]}\n") //nolint:errcheck // sticky
}

// Table writes the document of the full listing, sorting the services and
// their destinations (in place) unless the writer was made with noSort.
func (w *JSONWriter) Table(info ipvs.Info, entries []ipvs.ServiceEntry) {
	w.BeginTable(info)
	if !w.noSort {
		w.sort.entryServices(entries)
	}
	for i := range entries {
		w.Service(&entries[i].Service, entries[i].Destinations)
	}
	w.EndTable()
}

// SingleService writes the document of a single service,
// {"service":{...}}, sorting its destinations unless noSort.
func (w *JSONWriter) SingleService(svc *ipvs.Service, dests []ipvs.Destination) {
	if !w.noSort {
		w.sort.destinations(dests)
	}
	b := append(w.buf, `{"service":`...)
	b = appendJSONService(b, svc, dests)
	w.emit(append(b, "}\n"...))
}

// Timeouts writes the document of -L --timeout.
func (w *JSONWriter) Timeouts(t ipvs.Timeouts) {
	secs := func(d time.Duration) uint64 { return uint64(uint32(d / time.Second)) }
	b := append(w.buf, `{"timeouts":{"tcp":`...)
	b = strconv.AppendUint(b, secs(t.TCP), 10)
	b = append(b, `,"tcpfin":`...)
	b = strconv.AppendUint(b, secs(t.TCPFin), 10)
	b = append(b, `,"udp":`...)
	b = strconv.AppendUint(b, secs(t.UDP), 10)
	w.emit(append(b, "}}\n"...))
}

// Daemons writes the document of -L --daemon. As in the text listing,
// daemons in neither state are left out.
func (w *JSONWriter) Daemons(ds []ipvs.Daemon) {
	b := append(w.buf, `{"daemons":[`...)
	first := true
	for i := range ds {
		d := &ds[i]
		state, ok := daemonStateName(d.State)
		if !ok {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"state":"`...)
		b = append(b, state...)
		b = append(b, `","mcast_interface":`...)
		b = appendJSONString(b, d.Interface)
		b = append(b, `,"syncid":`...)
		b = strconv.AppendUint(b, uint64(d.SyncID), 10)
		b = append(b, `,"sync_maxlen":`...)
		b = strconv.AppendUint(b, uint64(d.MaxLen), 10)
		b = append(b, `,"mcast_group":`...)
		if d.Group.IsValid() {
			b = appendJSONAddr(b, d.Group)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"mcast_port":`...)
		b = strconv.AppendUint(b, uint64(d.Port), 10)
		b = append(b, `,"mcast_ttl":`...)
		b = strconv.AppendUint(b, uint64(d.TTL), 10)
		b = append(b, '}')
	}
	w.emit(append(b, "]}\n"...))
}

// BeginConnections starts the document of -L -c. Connections follow, then
// EndConnections.
func (w *JSONWriter) BeginConnections() {
	w.out.WriteString(`{"connections":[`) //nolint:errcheck // sticky
	w.started = false
}

// Connection writes an entry of the connection table.
func (w *JSONWriter) Connection(c *ipvs.Connection) {
	b := w.element(w.buf)
	b = append(b, `{"protocol":`...)
	b = appendJSONString(b, c.Protocol)
	b = append(b, `,"client":`...)
	b = appendJSONEndpoint(b, c.Client)
	b = append(b, `,"virtual":`...)
	b = appendJSONEndpoint(b, c.Virtual)
	b = append(b, `,"destination":`...)
	b = appendJSONEndpoint(b, c.Destination)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, c.State)
	b = append(b, `,"expires":`...)
	b = strconv.AppendUint(b, uint64(uint32(c.Expires/time.Second)), 10)
	b = append(b, `,"pe_name":`...)
	b = appendJSONString(b, c.PEName)
	b = append(b, `,"pe_data":`...)
	b = appendJSONString(b, c.PEData)
	w.emit(append(b, '}'))
}

// EndConnections ends the document of -L -c.
func (w *JSONWriter) EndConnections() {
	w.out.WriteString("]}\n") //nolint:errcheck // sticky
}

// appendJSONService appends a service object.
func appendJSONService(b []byte, svc *ipvs.Service, dests []ipvs.Destination) []byte {
	k := svc.Key()
	b = append(b, `{"family":`...)
	b = appendJSONFamily(b, k.Family)
	if k.FWMark != 0 {
		b = append(b, `,"protocol":null,"address":null,"port":null`...)
	} else {
		b = append(b, `,"protocol":"`...)
		b = append(b, JSONProtocol(k.Protocol)...)
		b = append(b, '"')
		b = append(b, `,"address":`...)
		b = appendJSONAddr(b, ServiceAddr(k))
		b = append(b, `,"port":`...)
		b = strconv.AppendUint(b, uint64(k.Port), 10)
	}
	b = append(b, `,"fwmark":`...)
	b = strconv.AppendUint(b, uint64(k.FWMark), 10)
	b = append(b, `,"scheduler":`...)
	b = appendJSONString(b, svc.Scheduler)
	b = append(b, `,"flags":`...)
	b = strconv.AppendUint(b, uint64(svc.Flags), 10)
	b = append(b, `,"persistent":`...)
	b = strconv.AppendBool(b, svc.Flags&ipvs.FlagPersistent != 0)
	b = append(b, `,"one_packet":`...)
	b = strconv.AppendBool(b, svc.Flags&ipvs.FlagOnePacket != 0)
	b = append(b, `,"sched_flags":[`...)
	for i, name := range JSONSchedFlags(svc.Flags, svc.Scheduler) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"')
	}
	b = append(b, `],"timeout":`...)
	b = strconv.AppendUint(b, uint64(svc.Timeout), 10)
	b = append(b, `,"netmask":`...)
	b = appendJSONAddr(b, JSONNetmask(svc.Netmask, k.Family))
	b = append(b, `,"pe":`...)
	b = appendJSONString(b, svc.PEName)
	b = appendJSONStats(b, &svc.Stats)
	b = append(b, `,"destinations":[`...)
	for i := range dests {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONDestination(b, &dests[i])
	}
	return append(b, "]}"...)
}

// appendJSONDestination appends a destination object.
func appendJSONDestination(b []byte, d *ipvs.Destination) []byte {
	b = append(b, `{"family":`...)
	b = appendJSONFamily(b, d.Family())
	b = append(b, `,"address":`...)
	b = appendJSONAddr(b, d.Addr)
	b = append(b, `,"port":`...)
	b = strconv.AppendUint(b, uint64(d.Port), 10)
	b = append(b, `,"forward":"`...)
	b = append(b, JSONForward(d.ForwardMethod)...)
	b = append(b, `","weight":`...)
	b = strconv.AppendUint(b, uint64(d.Weight), 10)
	b = append(b, `,"upper_threshold":`...)
	b = strconv.AppendUint(b, uint64(d.UpperThreshold), 10)
	b = append(b, `,"lower_threshold":`...)
	b = strconv.AppendUint(b, uint64(d.LowerThreshold), 10)
	b = append(b, `,"active_conns":`...)
	b = strconv.AppendUint(b, uint64(d.ActiveConns), 10)
	b = append(b, `,"inactive_conns":`...)
	b = strconv.AppendUint(b, uint64(d.InactiveConns), 10)
	b = append(b, `,"persistent_conns":`...)
	b = strconv.AppendUint(b, uint64(d.PersistentConns), 10)
	b = append(b, `,"tunnel":`...)
	if d.ForwardMethod == ipvs.Tunnel {
		b = append(b, `{"type":"`...)
		b = append(b, JSONTunnelType(d.TunnelType)...)
		b = append(b, `","port":`...)
		b = strconv.AppendUint(b, uint64(d.TunnelPort), 10)
		b = append(b, `,"csum":"`...)
		b = append(b, jsonTunnelCsum(d.TunnelFlags)...)
		b = append(b, `"}`...)
	} else {
		b = append(b, "null"...)
	}
	b = appendJSONStats(b, &d.Stats)
	return append(b, '}')
}

// appendJSONStats appends the "stats" and "rates" members.
func appendJSONStats(b []byte, s *ipvs.Stats) []byte {
	b = append(b, `,"stats":{"conns":`...)
	b = strconv.AppendUint(b, s.Conns, 10)
	b = append(b, `,"inpkts":`...)
	b = strconv.AppendUint(b, s.InPkts, 10)
	b = append(b, `,"outpkts":`...)
	b = strconv.AppendUint(b, s.OutPkts, 10)
	b = append(b, `,"inbytes":`...)
	b = strconv.AppendUint(b, s.InBytes, 10)
	b = append(b, `,"outbytes":`...)
	b = strconv.AppendUint(b, s.OutBytes, 10)
	b = append(b, `},"rates":{"cps":`...)
	b = strconv.AppendUint(b, s.CPS, 10)
	b = append(b, `,"inpps":`...)
	b = strconv.AppendUint(b, s.InPPS, 10)
	b = append(b, `,"outpps":`...)
	b = strconv.AppendUint(b, s.OutPPS, 10)
	b = append(b, `,"inbps":`...)
	b = strconv.AppendUint(b, s.InBPS, 10)
	b = append(b, `,"outbps":`...)
	b = strconv.AppendUint(b, s.OutBPS, 10)
	return append(b, '}')
}

func appendJSONFamily(b []byte, f ipvs.Family) []byte {
	return appendJSONString(b, f.String())
}

// appendJSONAddr appends an address as a JSON string; an invalid one is
// written as "" (no kernel reports one).
func appendJSONAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	if a.IsValid() {
		b = a.AppendTo(b)
	}
	return append(b, '"')
}

func appendJSONEndpoint(b []byte, ap netip.AddrPort) []byte {
	b = append(b, `{"address":`...)
	b = appendJSONAddr(b, ap.Addr())
	b = append(b, `,"port":`...)
	b = strconv.AppendUint(b, uint64(ap.Port()), 10)
	return append(b, '}')
}

// JSONProtocol is the "protocol" value of a service: TCP, UDP, SCTP, or
// the protocol's number.
func JSONProtocol(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP, ipvs.UDP, ipvs.SCTP:
		return p.String()
	}
	return strconv.FormatUint(uint64(p), 10)
}

// JSONForward is the "forward" value of a destination: masq, local,
// tunnel, route, or the kernel's number.
func JSONForward(m ipvs.ForwardMethod) string {
	switch m {
	case ipvs.Masquerade:
		return "masq"
	case ipvs.Local:
		return "local"
	case ipvs.Tunnel:
		return "tunnel"
	case ipvs.DirectRoute:
		return "route"
	}
	return strconv.FormatUint(uint64(m), 10)
}

// JSONTunnelType is the "type" value of a tunnel: ipip, gue, gre, or the
// kernel's number.
func JSONTunnelType(t ipvs.TunnelType) string {
	switch t {
	case ipvs.IPIP, ipvs.GUE, ipvs.GRE:
		return t.String()
	}
	return strconv.FormatUint(uint64(t), 10)
}

// TunnelCsumName is the name ipvsadm's options give f's checksum mode
// (--tun-nocsum, --tun-csum, --tun-remcsum): nocsum, csum or remcsum; ok
// is false for any other combination of bits.
func TunnelCsumName(f ipvs.TunnelFlags) (name string, ok bool) {
	switch f {
	case 0:
		return "nocsum", true
	case ipvs.TunnelCsum:
		return "csum", true
	case ipvs.TunnelRemCsum:
		return "remcsum", true
	}
	return "", false
}

// jsonTunnelCsum is the "csum" value of a tunnel: its TunnelCsumName, or
// the bits in hexadecimal.
func jsonTunnelCsum(f ipvs.TunnelFlags) string {
	if name, ok := TunnelCsumName(f); ok {
		return name
	}
	return "0x" + strconv.FormatUint(uint64(f), 16)
}

// JSONSchedFlags names the scheduler flags set in f, in bit order, as
// ipvsadm -b spells them for the scheduler; a flag without a name under it
// (the third under sh and mh) is "flag-3". The result is never nil.
func JSONSchedFlags(f ipvs.ServiceFlags, scheduler string) []string {
	out := make([]string, 0, 3)
	for i, bit := range [...]ipvs.ServiceFlags{ipvs.FlagSched1, ipvs.FlagSched2, ipvs.FlagSched3} {
		if f&bit == 0 {
			continue
		}
		name := [...]string{"flag-1", "flag-2", "flag-3"}[i]
		switch {
		case scheduler == "sh" && i < 2:
			name = [...]string{"sh-fallback", "sh-port"}[i]
		case scheduler == "mh" && i < 2:
			name = [...]string{"mh-fallback", "mh-port"}[i]
		}
		out = append(out, name)
	}
	return out
}

// JSONNetmask is the "netmask" of a service: the mask as an address of the
// family, an IPv6 prefix length written out as a mask.
func JSONNetmask(m ipvs.Netmask, f ipvs.Family) netip.Addr {
	v := m.Value(f)
	if f != ipvs.IPv6 {
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var a [16]byte
	bits := int(min(v, 128))
	for i := 0; i < bits/8; i++ {
		a[i] = 0xff
	}
	if bits%8 != 0 {
		a[bits/8] = byte(0xff << (8 - bits%8))
	}
	return netip.AddrFrom16(a)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it with HTML escaping off: '"', '\\' and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
