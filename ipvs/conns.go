package ipvs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The kernel offers IPVS connections only as text, in /proc/net/ip_vs_conn
// (there is no netlink command for them). Each line after the header is
//
//	PROTO CADDR CPORT VADDR VPORT DADDR DPORT STATE EXPIRES [PENAME PEDATA]
//
// with ports in hex, IPv4 addresses as 8 hex digits and IPv6 addresses in
// full colon form. The destination may be of another family than the
// client and virtual address (tunnels to IPv4 servers of an IPv6 service).

// Errors from reading the connection table.
var (
	// ErrConnUnexpectedInput: the table lacks even its header line (the
	// file is empty or unreadable). ipvsadm reports this as "unexpected
	// input from /proc/net/ip_vs_conn".
	ErrConnUnexpectedInput = errors.New("unexpected input from connection table")
	// ErrConnMalformed: a line after the header does not have the
	// kernel's format. The error returned wraps it and names the line.
	ErrConnMalformed = errors.New("malformed connection table line")
)

// ConnProcFile is where the table lives below the proc root.
const ConnProcFile = "net/ip_vs_conn"

// Connection is one entry of the kernel's IPVS connection table.
type Connection struct {
	// Protocol is the protocol's name as the kernel wrote it: TCP, UDP,
	// SCTP, ICMP, ICMPv6, or IP_<n> for others.
	Protocol string
	// Client, Virtual and Destination are the client's, the virtual
	// service's and the real server's addresses. IPv6 addresses keep
	// their 16-byte form even when IPv4-mapped: they are IPv6 to the
	// kernel.
	Client      netip.AddrPort
	Virtual     netip.AddrPort
	Destination netip.AddrPort
	// State is the protocol state as the kernel names it
	// (ESTABLISHED, SYN_RECV, UDP, NONE, ...).
	State string
	// Expires is the time left before the entry expires, in whole
	// seconds.
	Expires time.Duration
	// PEName and PEData are set for connections of a persistence engine
	// (PEName "sip", PEData the SIP Call-ID).
	PEName string
	PEData string
}

// ConnScanner reads a connection table one entry at a time, so that a
// table of millions of connections need not be held in memory.
type ConnScanner struct {
	sc   *bufio.Scanner
	line int
	conn Connection
	err  error
}

// NewConnScanner reads the table's header line and returns a scanner for
// the entries after it. A table without a header line gives an error
// wrapping ErrConnUnexpectedInput.
func NewConnScanner(r io.Reader) (*ConnScanner, error) {
	sc := bufio.NewScanner(r)
	// A line is at most ~190 bytes plus the persistence engine data
	// (at most 255 bytes); allow plenty.
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConnUnexpectedInput, err)
		}
		return nil, ErrConnUnexpectedInput
	}
	return &ConnScanner{sc: sc, line: 1}, nil
}

// Scan advances to the next entry, which Connection then returns. It
// returns false at the end of the table or at the first error, which Err
// returns.
func (s *ConnScanner) Scan() bool {
	if s.err != nil {
		return false
	}
	for s.sc.Scan() {
		s.line++
		text := s.sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		c, err := parseConnection(text)
		if err != nil {
			s.err = fmt.Errorf("%w: line %d: %s", ErrConnMalformed, s.line, err)
			return false
		}
		s.conn = c
		return true
	}
	s.err = s.sc.Err()
	if errors.Is(s.err, bufio.ErrTooLong) {
		s.err = fmt.Errorf("%w: line %d: %w", ErrConnMalformed, s.line+1, s.err)
	}
	return false
}

// Connection returns the entry the last successful Scan read.
func (s *ConnScanner) Connection() Connection { return s.conn }

// Err returns the error that ended scanning, or nil at the end of the
// table.
func (s *ConnScanner) Err() error { return s.err }

// ReadConnections parses a whole connection table as the kernel writes
// /proc/net/ip_vs_conn: a header line, then one entry per line. Blank
// lines are skipped. It fails with an error wrapping
// ErrConnUnexpectedInput if the header is missing and ErrConnMalformed for
// a line it cannot parse.
func ReadConnections(r io.Reader) ([]Connection, error) {
	s, err := NewConnScanner(r)
	if err != nil {
		return nil, err
	}
	var conns []Connection
	for s.Scan() {
		conns = append(conns, s.Connection())
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return conns, nil
}

// ConnectionsFromProc reads <procRoot>/net/ip_vs_conn; procRoot is
// normally "/proc". An error from opening the file is returned as it is
// (ipvsadm's "cannot open file"), so errors.Is(err, fs.ErrNotExist) works
// when IPVS is not loaded; the other errors are ReadConnections'.
func ConnectionsFromProc(procRoot string) ([]Connection, error) {
	f, err := os.Open(filepath.Join(procRoot, ConnProcFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadConnections(f)
}

// parseConnection parses one entry line.
func parseConnection(line string) (Connection, error) {
	var w [11]string
	n := 0
	for f := range strings.FieldsSeq(line) {
		if n == len(w) {
			break // ipvsadm scans eleven words and ignores the rest
		}
		w[n] = f
		n++
	}
	if n < 9 {
		return Connection{}, fmt.Errorf("%d fields, want at least 9", n)
	}
	var c Connection
	var err error
	c.Protocol = w[0]
	if c.Client, err = parseConnAddrPort(w[1], w[2]); err != nil {
		return Connection{}, fmt.Errorf("client: %w", err)
	}
	if c.Virtual, err = parseConnAddrPort(w[3], w[4]); err != nil {
		return Connection{}, fmt.Errorf("virtual: %w", err)
	}
	if c.Destination, err = parseConnAddrPort(w[5], w[6]); err != nil {
		return Connection{}, fmt.Errorf("destination: %w", err)
	}
	c.State = w[7]
	secs, err := strconv.ParseUint(w[8], 10, 32)
	if err != nil {
		return Connection{}, fmt.Errorf("expires %q: not a number of seconds", w[8])
	}
	c.Expires = time.Duration(secs) * time.Second
	if n >= 10 {
		c.PEName = w[9]
	}
	if n >= 11 {
		c.PEData = w[10]
	}
	return c, nil
}

// parseConnAddrPort parses an address (8 hex digits for IPv4, colon form
// for IPv6; a dotted quad is accepted as well) and a hex port.
func parseConnAddrPort(addrText, portText string) (netip.AddrPort, error) {
	var addr netip.Addr
	switch {
	case strings.ContainsAny(addrText, ":."):
		a, err := netip.ParseAddr(addrText)
		if err != nil || a.Zone() != "" {
			return netip.AddrPort{}, fmt.Errorf("bad address %q", addrText)
		}
		addr = a
	default:
		v, err := strconv.ParseUint(addrText, 16, 32)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bad address %q", addrText)
		}
		addr = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	port, err := strconv.ParseUint(portText, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", portText)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
