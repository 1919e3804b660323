package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
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
	// sendRead sends read requests (dumps, GET_INFO, ...), which the
	// kernel serves without sleeping for long.
	sendRead(b []byte) error
	recv() ([]byte, error) // valid until the next recv
	setDeadline(t time.Time) error
	setReadDeadline(t time.Time) error
	receiveBuffer() int // SO_RCVBUF, or 0 if unknown
	close() error
}

// newLink picks the link for conn; a raw link reads with a buffer of
// bufSize (see dumpBufferSize and destDumpBufferSize).
func newLink(conn *netlink.Conn, bufSize int) link {
	rc, err := conn.SyscallConn()
	if err != nil {
		return &connLink{conn: conn}
	}
	l := &rawLink{conn: conn, rc: rc, buf: make([]byte, bufSize), fd: -1}
	rc.Control(func(fd uintptr) { l.fd = int(fd) })
	return l
}

// rawLink does the I/O on the descriptor itself.
type rawLink struct {
	conn *netlink.Conn // owns the descriptor; deadlines and close
	rc   syscall.RawConn
	fd   int // valid while conn is open
	buf  []byte
}

var kernelAddr = &unix.SockaddrNetlink{Family: unix.AF_NETLINK}

func (l *rawLink) send(b []byte) error {
	// Changes go through the scheduler-aware path: the kernel carries out
	// every IPVS request inside sendmsg, and some sleep there (starting a
	// sync daemon creates kernel threads; a new scheduler loads a module),
	// which a raw system call would hide from the Go scheduler (the 6.1
	// guest hung once in TestKernelDaemons that way).
	var err error
	werr := l.rc.Write(func(fd uintptr) bool {
		err = unix.Sendto(int(fd), b, 0, kernelAddr)
		return err != unix.EAGAIN
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		return os.NewSyscallError("sendmsg", err)
	}
	return nil
}

// sendRead sends a read request with a raw system call: the kernel only
// takes short locks to serve it (a dump fills its first batch inside
// sendmsg), and a raw call does not enter the scheduler. When system calls
// are slow (emulation, load) Go's sysmon otherwise hands the processor to
// another thread and back for each one: two context switches per call,
// which dominated listing large tables.
func (l *rawLink) sendRead(b []byte) error {
	if l.fd < 0 {
		return l.send(b)
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(l.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0:
		return nil
	case unix.EAGAIN:
		return l.send(b)
	}
	return os.NewSyscallError("sendmsg", e)
}

// recvNow is one non-blocking recvfrom as a raw system call. It never
// sleeps in the kernel, and a raw call does not enter the scheduler: when
// system calls are slow (emulation, load), Go's sysmon otherwise hands the
// processor to another thread and back for each one, two context switches
// per call, which dominated listing large tables. With MSG_TRUNC the
// kernel returns the datagram's true length.
func (l *rawLink) recvNow(fd int) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&l.buf[0])), uintptr(len(l.buf)),
		unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
	return int(n), e
}

func (l *rawLink) recv() ([]byte, error) {
	for {
		e := unix.Errno(unix.EAGAIN)
		var got int
		if l.fd >= 0 {
			got, e = l.recvNow(l.fd)
		}
		if e == unix.EAGAIN {
			// Nothing queued yet: wait through the poller, which
			// honours the deadlines.
			rerr := l.rc.Read(func(fd uintptr) bool {
				got, e = l.recvNow(int(fd))
				return e != unix.EAGAIN
			})
			if rerr != nil {
				return nil, rerr
			}
		}
		if e != 0 {
			return nil, os.NewSyscallError("recvmsg", e)
		}
		if got > len(l.buf) {
			// Cannot happen with IPVS (the kernel sizes dump batches
			// from our reads, requests are small), and a datagram cut
			// short cannot be read.
			return nil, errors.New("netlink datagram larger than the receive buffer")
		}
		if got > 0 {
			return l.buf[:got], nil
		}
	}
}

func (l *rawLink) setDeadline(t time.Time) error     { return l.conn.SetDeadline(t) }
func (l *rawLink) setReadDeadline(t time.Time) error { return l.conn.SetReadDeadline(t) }
func (l *rawLink) close() error                      { return l.conn.Close() }
func (l *rawLink) receiveBuffer() int {
	n, err := l.conn.ReadBuffer()
	if err != nil {
		return 0
	}
	return n
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

func (l *connLink) sendRead(b []byte) error { return l.send(b) }

func (l *connLink) recv() ([]byte, error) {
	msgs, err := l.conn.Receive()
	if err != nil {
		var oe *netlink.OpError
		var errno unix.Errno
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
		l.out = appendMessage(l.out, unix.NLMSG_DONE, uint16(netlink.Multi), last.Sequence, last.PID, []byte{0, 0, 0, 0})
	case len(msgs) == 0:
		// An empty dump: netlink.Conn returns nothing for its lone done
		// message.
		l.out = appendMessage(l.out, unix.NLMSG_DONE, uint16(netlink.Multi), l.lastSeq, 0, []byte{0, 0, 0, 0})
	}
	return l.out, nil
}

func (l *connLink) setDeadline(t time.Time) error     { return l.conn.SetDeadline(t) }
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
func appendError(b []byte, seq uint32, errno unix.Errno) []byte {
	payload := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	payload = append(payload, make([]byte, nlmsgHeaderLen)...) // the request's header, not needed here
	return appendMessage(b, unix.NLMSG_ERROR, 0, seq, 0, payload)
}

// appendRequest appends a generic netlink request of the IPVS family.
func appendRequest(b []byte, family uint16, flags netlink.HeaderFlags, seq uint32, r request) []byte {
	n := nlmsgHeaderLen + 4 + len(r.attrs)
	b = binary.NativeEndian.AppendUint32(b, uint32(n))
	b = binary.NativeEndian.AppendUint16(b, family)
	b = binary.NativeEndian.AppendUint16(b, uint16(flags))
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, r.cmd, 1, 0, 0)
	b = append(b, r.attrs...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
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
func errnoOf(m message) (unix.Errno, error) {
	if len(m.data) < 4 {
		return 0, errors.New("short netlink error message")
	}
	code := int32(binary.NativeEndian.Uint32(m.data))
	if code > 0 {
		return 0, fmt.Errorf("netlink error code %d", code)
	}
	return unix.Errno(-code), nil
}

// kernelError is the kernel's refusal of the request seq; it has the
// netlink package's error type, as netlink.Conn would return it.
func kernelError(seq uint32, errno unix.Errno) error {
	return &netlink.OpError{Op: "receive", Err: errno, Sequence: seq}
}
