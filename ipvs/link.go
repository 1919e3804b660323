package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
)

// A link carries netlink datagrams: one send is one sendmsg of one or more
// messages, one recv returns one datagram.
//
// The kernel's link works on the socket's descriptor directly, through the
// runtime's poller (so deadlines still interrupt it), with one reused
// buffer: mdlayher/netlink's own I/O starts a goroutine and copies every
// datagram for each system call, which made listing large tables slower
// than ipvsadm. mdlayher/netlink still dials the socket (network namespace
// included) and resolves the family. Sockets without a descriptor (the
// Config.Dial hook: ipvstest, nltest) go through connLink, which speaks the
// same bytes over netlink.Conn's API.
type link interface {
	send(b []byte) error
	// sendQuick sends requests the kernel serves without sleeping for
	// long (request.quick): dumps, GET_INFO, destination changes, ...;
	// kernel serves without sleeping for long.
	sendQuick(b []byte) error
	// recv returns the next datagram, valid until the next recv. The
	// kernel serves a request inside sendmsg and queues the start of its
	// answer (a whole answer but for a dump's later parts) before
	// sendmsg returns, so where a link can tell, the first recv after a
	// send that finds nothing queued fails with errNoAnswer at once.
	recv() ([]byte, error)
	SetDeadline(t time.Time) error
	setReadDeadline(t time.Time) error
	receiveBuffer() int // SO_RCVBUF, or 0 if unknown
	close() error
}

// connLink speaks through netlink.Conn's message API, for sockets without a
// descriptor. It turns the messages back into the bytes the kernel sends,
// error and done messages included.
type connLink struct {
	conn    *netlink.Conn
	out     []byte
	lastSeq uint32 // of the last request sent
}

func (l *connLink) send(b []byte) error {
	var msgs []netlink.Message
	for len(b) >= nlmsgHeaderLen {
		h := parseHeader(b)
		if int(h.length) < nlmsgHeaderLen || int(h.length) > len(b) {
			return errors.New("malformed netlink message")
		}
		msgs = append(msgs, netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(h.typ), Flags: netlink.HeaderFlags(h.flags), Sequence: h.seq, PID: h.pid},
			Data:   b[nlmsgHeaderLen:h.length],
		})
		l.lastSeq = h.seq
		b = b[min(nlmsgAlign(int(h.length)), len(b)):]
	}
	_, err := l.conn.SendMessages(msgs)
	return err
}

func (l *connLink) sendQuick(b []byte) error { return l.send(b) }

func (l *connLink) recv() ([]byte, error) {
	msgs, err := l.conn.Receive()
	if err != nil {
		var oe *netlink.OpError
		var errno syscall.Errno
		if errors.As(err, &oe) && oe.Sequence != 0 && errors.As(err, &errno) {
			return appendError(l.out[:0], oe.Sequence, errno), nil
		}
		return nil, err
	}
	l.out = l.out[:0]
	multi := false
	var last netlink.Header
	for _, m := range msgs {
		l.out = appendMessage(l.out, uint16(m.Header.Type), uint16(m.Header.Flags), m.Header.Sequence, m.Header.PID, m.Data)
		multi = multi || m.Header.Flags&netlink.Multi != 0
		last = m.Header
	}
	switch {
	case multi:
		// netlink.Conn swallows the done message of a dump.
		l.out = appendMessage(l.out, nlmsgDone, uint16(netlink.Multi), last.Sequence, last.PID, []byte{0, 0, 0, 0})
	case len(msgs) == 0:
		// An empty dump: netlink.Conn returns nothing for its lone done
		// message.
		l.out = appendMessage(l.out, nlmsgDone, uint16(netlink.Multi), l.lastSeq, 0, []byte{0, 0, 0, 0})
	}
	return l.out, nil
}

func (l *connLink) SetDeadline(t time.Time) error     { return l.conn.SetDeadline(t) }
func (l *connLink) setReadDeadline(t time.Time) error { return l.conn.SetReadDeadline(t) }
func (l *connLink) close() error                      { return l.conn.Close() }
func (l *connLink) receiveBuffer() int {
	n, err := l.conn.ReadBuffer()
	if err != nil {
		return 0
	}
	return n
}

// Netlink framing: a 16-byte header, the payload, padding to 4 bytes.
const nlmsgHeaderLen = 16

// Netlink message types (NLMSG_ERROR, NLMSG_DONE).
const (
	nlmsgError = 2
	nlmsgDone  = 3
)

type nlHeader struct {
	length uint32
	typ    uint16
	flags  uint16
	seq    uint32
	pid    uint32
}

func parseHeader(b []byte) nlHeader {
	return nlHeader{
		length: binary.NativeEndian.Uint32(b[0:]),
		typ:    binary.NativeEndian.Uint16(b[4:]),
		flags:  binary.NativeEndian.Uint16(b[6:]),
		seq:    binary.NativeEndian.Uint32(b[8:]),
		pid:    binary.NativeEndian.Uint32(b[12:]),
	}
}

func nlmsgAlign(n int) int { return (n + 3) &^ 3 }

// appendMessage appends one netlink message with payload.
func appendMessage(b []byte, typ, flags uint16, seq, pid uint32, payload []byte) []byte {
	n := nlmsgHeaderLen + len(payload)
	b = binary.NativeEndian.AppendUint32(b, uint32(n))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, pid)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// appendError appends the error message the kernel would send for errno.
func appendError(b []byte, seq uint32, errno syscall.Errno) []byte {
	payload := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	payload = append(payload, make([]byte, nlmsgHeaderLen)...) // the request's header, not needed here
	return appendMessage(b, nlmsgError, 0, seq, 0, payload)
}

// appendRequest appends a generic netlink request of the IPVS family.
func appendRequest(b []byte, family uint16, flags netlink.HeaderFlags, seq uint32, r request) []byte {
	start := len(b)
	b = appendRequestHeader(b, family, flags, seq, r.cmd)
	b = append(b, r.attrs...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return endRequest(b, start)
}

// appendRequestHeader appends the netlink and generic netlink headers of
// a request of the IPVS family; endRequest sets its length once its
// attributes follow.
func appendRequestHeader(b []byte, family uint16, flags netlink.HeaderFlags, seq uint32, cmd uint8) []byte {
	var h [nlmsgHeaderLen + 4]byte
	binary.NativeEndian.PutUint16(h[4:], family)
	binary.NativeEndian.PutUint16(h[6:], uint16(flags))
	binary.NativeEndian.PutUint32(h[8:], seq)
	h[16], h[17] = cmd, 1
	return append(b, h[:]...)
}

// endRequest sets the length of the request that starts at b[start:] and
// ends b.
func endRequest(b []byte, start int) []byte {
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// message is one netlink message of a received datagram; data aliases the
// datagram.
type message struct {
	nlHeader
	data []byte
}

// eachMessage calls fn for every message of a datagram.
func eachMessage(b []byte, fn func(m message) error) error {
	for len(b) > 0 {
		if len(b) < nlmsgHeaderLen {
			return fmt.Errorf("truncated netlink header (%d bytes)", len(b))
		}
		h := parseHeader(b)
		if int(h.length) < nlmsgHeaderLen || int(h.length) > len(b) {
			return fmt.Errorf("netlink message length %d out of %d bytes", h.length, len(b))
		}
		if err := fn(message{h, b[nlmsgHeaderLen:h.length]}); err != nil {
			return err
		}
		b = b[min(nlmsgAlign(int(h.length)), len(b)):]
	}
	return nil
}

// errnoOf reads the code of an error or done message: 0 for an
// acknowledgement or the end of a dump.
func errnoOf(m message) (syscall.Errno, error) {
	if len(m.data) < 4 {
		return 0, errors.New("short netlink error message")
	}
	code := int32(binary.NativeEndian.Uint32(m.data))
	if code > 0 {
		return 0, fmt.Errorf("netlink error code %d", code)
	}
	return syscall.Errno(-code), nil
}

// kernelError is the kernel's refusal of the request seq; it has the
// netlink package's error type, as netlink.Conn would return it.
func kernelError(seq uint32, errno syscall.Errno) error {
	return &netlink.OpError{Op: "receive", Err: errno, Sequence: seq}
}
