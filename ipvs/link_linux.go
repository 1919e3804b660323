package ipvs

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

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
//
// Its deadlines reach the socket only when a call has to wait: the kernel
// answers IPVS requests inside sendmsg, so nearly every call finds its
// answer queued and never waits, and each deadline handed to the runtime's
// poller starts and stops timers. A deadline already past (an interrupted
// call) reaches the socket at once.
type rawLink struct {
	conn *netlink.Conn // owns the descriptor; deadlines and close
	rc   syscall.RawConn
	fd   int // valid while conn is open
	buf  []byte
	sent bool // a request went out since the last recv

	mu      sync.Mutex
	rd, wd  time.Time     // the deadlines asked for
	timeout time.Duration // with no deadline asked for: one this long after the first wait
	pending bool          // rd and wd are not yet the socket's
}

var kernelAddr = &unix.SockaddrNetlink{Family: unix.AF_NETLINK}

func (l *rawLink) send(b []byte) error {
	// Requests that are not quick go through the scheduler-aware path:
	// the kernel carries out every IPVS request inside sendmsg, and some
	// sleep there (starting a sync daemon creates kernel threads; a new
	// scheduler loads a module), which a raw system call would hide from
	// the Go scheduler: a thread asleep in the kernel would hold its
	// processor.
	var err error
	werr := l.rc.Write(func(fd uintptr) bool {
		err = unix.Sendto(int(fd), b, 0, kernelAddr)
		if err == unix.EAGAIN {
			err = l.applyDeadlines()
			return err != nil
		}
		return true
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		return os.NewSyscallError("sendmsg", err)
	}
	l.sent = true
	return nil
}

// sendQuick sends a quick request (see request.quick) with a raw system
// call, which does not enter the scheduler. When system calls are slow
// (emulation, load) Go's sysmon otherwise hands the processor to another
// thread and back for each one: two context switches per call, which
// dominated listing large tables and one call per destination.
func (l *rawLink) sendQuick(b []byte) error {
	if l.fd < 0 {
		return l.send(b)
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(l.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0:
		l.sent = true
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
	first := l.sent
	l.sent = false
	for {
		e := unix.Errno(unix.EAGAIN)
		var got int
		if l.fd >= 0 {
			got, e = l.recvNow(l.fd)
			if e == unix.EAGAIN && first {
				return nil, errNoAnswer
			}
		}
		if e == unix.EAGAIN {
			// Nothing queued yet: wait through the poller, which
			// honours the deadlines.
			if err := l.applyDeadlines(); err != nil {
				return nil, err
			}
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

func (l *rawLink) SetDeadline(t time.Time) error     { return l.setDeadlines(t, t, true) }
func (l *rawLink) setReadDeadline(t time.Time) error { return l.setDeadlines(t, time.Time{}, false) }

// setTimeout asks for deadlines d after the first wait, where they are
// applied; a call that finds every answer queued never reads the clock.
func (l *rawLink) setTimeout(d time.Duration) {
	l.mu.Lock()
	l.rd, l.wd, l.timeout = time.Time{}, time.Time{}, d
	l.pending = true
	l.mu.Unlock()
}

// setDeadlines asks for a read deadline and, with write, a write deadline
// (and no timeout).
func (l *rawLink) setDeadlines(rd, wd time.Time, write bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rd = rd
	if write {
		l.wd = wd
		l.timeout = 0
	}
	l.pending = true
	if !rd.IsZero() && time.Until(rd) <= 0 {
		return l.applyLocked()
	}
	return nil
}

// applyDeadlines gives the socket the deadlines asked for, before a wait.
func (l *rawLink) applyDeadlines() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applyLocked()
}

func (l *rawLink) applyLocked() error {
	if !l.pending {
		return nil
	}
	l.pending = false
	if l.timeout > 0 {
		at := time.Now().Add(l.timeout)
		if l.rd.IsZero() {
			l.rd = at
		}
		if l.wd.IsZero() {
			l.wd = at
		}
		l.timeout = 0
	}
	if err := l.conn.SetReadDeadline(l.rd); err != nil {
		return err
	}
	return l.conn.SetWriteDeadline(l.wd)
}
func (l *rawLink) close() error { return l.conn.Close() }
func (l *rawLink) receiveBuffer() int {
	n, err := l.conn.ReadBuffer()
	if err != nil {
		return 0
	}
	return n
}
