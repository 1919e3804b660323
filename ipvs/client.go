// Package ipvs programs the Linux IP Virtual Server (IPVS, LVS) through the
// kernel's generic-netlink family "IPVS".
//
// A Client holds one netlink socket with the family resolved once, and a
// second one, opened on first use, for destination dumps (the kernel
// serves those much more cheaply on a socket that only reads small
// datagrams). It is safe for concurrent use: requests are serialised,
// every reply is checked against its request, and sockets that timed out
// or saw a stray reply are closed and dialled again on the next call.
// Every call takes a context whose deadline and cancellation interrupt a
// blocked socket.
//
// Services and destinations are plain values with comparable keys
// (ServiceKey, DestinationKey) and net/netip addresses. Errors unwrap both
// to a sentinel (ErrServiceNotFound, ErrServiceExists, ...) and to the
// kernel's errno.
//
// Every IPVS operation, reads included, needs CAP_NET_ADMIN. The package
// never loads kernel modules by itself (the family lookup auto-loads ip_vs
// on most kernels); LoadModule does it explicitly, as ipvsadm does.
//
// Package ipvstest provides an in-memory kernel that speaks the same
// protocol, for tests without root.
package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Config selects where and how a Client connects. The zero Config (or a nil
// *Config) talks to the IPVS of the caller's network namespace.
type Config struct {
	// NetNS is an open file descriptor of a network namespace (as from
	// /run/netns/NAME). The caller keeps ownership of it.
	NetNS int
	// NetNSPath names a network namespace file, e.g. /run/netns/blue or
	// /proc/1234/ns/net. It is opened at each dial.
	NetNSPath string

	// Dial, when set, replaces the kernel socket: tests pass
	// ipvstest.Kernel.Dial to talk to an in-memory IPVS. It is called
	// for each socket the Client opens: the main one, and the one for
	// destination dumps on first use (again after a redial).
	Dial func() (*netlink.Conn, error)

	// ReceiveBufferSize is the socket receive buffer (SO_RCVBUF) in bytes;
	// zero means 4 MiB, enough for large batches of acknowledgements.
	ReceiveBufferSize int
}

// dumpBufferSize is the main link's user-space buffer for each recvmsg. The
// kernel sizes dump batches from the largest buffer a socket has read with
// (up to 32 KiB), and every batch of a service dump walks the table again
// from the start, so page-sized reads make big service dumps slower
// (measured on 6.1 under emulation: 16,000 services in 0.5 s with 64 KiB
// reads, 1.0 s with 7.5 KiB, 1.1-1.7 s with 4 KiB).
const dumpBufferSize = 64 << 10

// destDumpBufferSize is the buffer of the destination-dump link: the
// kernel's own dump size (NLMSG_GOODSIZE: a page, at most 8 KiB, less the
// skb's overhead) fits in it, and with reads no larger the kernel
// keeps allocating its dump buffers from the slab instead of asking the
// page allocator for 32 KiB twice per dump (the data and the done message).
// That halves what a destination dump costs the kernel: on 6.1 under
// emulation, 390 -> 200 µs for a service of 10 destinations, 300 -> 110-180
// µs for one of 1.
var destDumpBufferSize = min(os.Getpagesize(), 8192)

// Client talks to the kernel's IPVS.
type Client struct {
	cfg Config

	mu sync.Mutex // serialises use of lk and dk
	lk link
	// dk is a second socket for destination dumps, opened on first use;
	// it only ever reads with destDumpBufferSize (see there). The kernel
	// remembers a socket's largest read, so the main link cannot serve
	// both the service dump and cheap destination dumps.
	dk     link
	family uint16
	seq    uint32 // the last sequence number used
	closed bool

	sendBuf []byte        // reused for requests, under mu
	keyBuf  []byte        // reused for service-key attributes, under mu
	destBuf []Destination // reused to decode destination dumps, under mu
}

// New opens a Client. It resolves the IPVS family and asks the kernel for
// its IPVS information, so it fails at once, with ErrUnavailable or
// ErrPermission, where IPVS cannot be used.
func New(cfg *Config) (*Client, error) {
	c := &Client{}
	if cfg != nil {
		c.cfg = *cfg
	}
	c.mu.Lock()
	err := c.dialLocked()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if _, err := c.Info(context.Background()); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the socket. Calls after Close fail.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.dropLocked()
}

func (c *Client) dropLocked() error {
	var err error
	if c.dk != nil {
		err = c.dk.close()
		c.dk = nil
	}
	if c.lk != nil {
		err = c.lk.close()
		c.lk = nil
	}
	return err
}

// openConn opens a generic netlink socket where cfg says.
func (c *Client) openConn() (*netlink.Conn, error) {
	if c.cfg.Dial != nil {
		return c.cfg.Dial()
	}
	nc := &netlink.Config{NetNS: c.cfg.NetNS}
	if c.cfg.NetNSPath != "" {
		f, err := os.Open(c.cfg.NetNSPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		nc.NetNS = int(f.Fd())
	}
	return netlink.Dial(unix.NETLINK_GENERIC, nc)
}

// dialLocked opens the main socket and resolves the family.
func (c *Client) dialLocked() error {
	conn, err := c.openConn()
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return &OpError{Op: "open", Err: err}
		}
		return &OpError{Op: "open", Err: err, kind: classify(err, nil)}
	}
	if c.cfg.Dial == nil {
		size := c.cfg.ReceiveBufferSize
		if size == 0 {
			size = 4 << 20
		}
		setReceiveBuffer(conn, size)
	}
	fam, err := genetlink.NewConn(conn).GetFamily(uapi.FamilyName)
	if err != nil {
		conn.Close()
		if errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist) {
			return &OpError{Op: "open", Err: err, kind: ErrUnavailable}
		}
		return &OpError{Op: "open", Err: err, kind: classify(err, nil)}
	}
	c.lk, c.family = newLink(conn, dumpBufferSize), fam.ID
	return nil
}

// destLinkLocked returns the destination-dump link, opening it if needed;
// where a second socket cannot be opened, the main link does the work.
func (c *Client) destLinkLocked() link {
	if c.dk == nil {
		conn, err := c.openConn()
		if err != nil {
			return c.lk
		}
		c.dk = newLink(conn, destDumpBufferSize)
	}
	return c.dk
}

// setReceiveBuffer raises SO_RCVBUF, forcing past rmem_max where the
// caller is privileged (it is: IPVS needs CAP_NET_ADMIN anyway). Failures
// only make large batches use smaller windows, so they are not errors.
func setReceiveBuffer(conn *netlink.Conn, size int) {
	if rc, err := conn.SyscallConn(); err == nil {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
		})
		if serr == nil {
			return
		}
	}
	conn.SetReadBuffer(size)
}

// request is one IPVS command ready to send.
type request struct {
	cmd   uint8
	flags netlink.HeaderFlags
	attrs []byte
}

// isRead reports whether r only reads: the kernel serves those without
// sleeping for long.
func (r request) isRead() bool {
	switch r.cmd {
	case uapi.CmdGetService, uapi.CmdGetDest, uapi.CmdGetDaemon, uapi.CmdGetConfig, uapi.CmdGetInfo:
		return true
	}
	return false
}

// errDesync marks a reply that does not belong to the request in flight.
var errDesync = errors.New("reply does not match request")

// nextSeq returns a fresh sequence number (never 0: the kernel echoes it
// and 0 would look like "no request" to the checks).
func (c *Client) nextSeq() uint32 {
	c.seq++
	if c.seq == 0 {
		c.seq = 1
	}
	return c.seq
}

// session runs fn with a usable link, applying ctx's deadline and
// cancellation to the socket. When fn fails in a way that may leave replies
// in flight (timeout, cancellation, stray reply, transport error), the
// sockets are dropped and the next call dials anew.
func (c *Client) session(ctx context.Context, fn func(l link) error) error {
	return c.sessionLinks(ctx, false, func(l, _ link) error { return fn(l) })
}

// sessionLinks is session with, when dests is true, the destination-dump
// link as well (dl; l itself when dests is false).
func (c *Client) sessionLinks(ctx context.Context, dests bool, fn func(l, dl link) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("ipvs: client is closed")
	}
	if c.lk == nil {
		if err := c.dialLocked(); err != nil {
			return err
		}
	}
	l, dl := c.lk, c.lk
	if dests {
		dl = c.destLinkLocked()
	}
	links := []link{l}
	if dl != l {
		links = append(links, dl)
	}

	deadline, _ := ctx.Deadline()
	for _, k := range links {
		if err := k.setDeadline(deadline); err != nil && !isNotSupported(err) {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() {
		for _, k := range links {
			k.setDeadline(time.Unix(1, 0))
		}
	})
	err := fn(l, dl)
	stopped := stop()
	if !stopped || ctx.Err() != nil {
		// The deadline was forced into the past; the socket may also hold
		// replies we no longer read.
		c.dropLocked()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err != nil && !isKernelError(err) {
		c.dropLocked()
		if !deadline.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) {
			return context.DeadlineExceeded
		}
	}
	return err
}

func isNotSupported(err error) bool {
	// A Dial hook may hand us a socket without deadlines (nltest's);
	// netlink reports that with an unexported error, known by its text.
	var oe *netlink.OpError
	return errors.As(err, &oe) && oe.Err != nil && oe.Err.Error() == "operation not supported"
}

// isKernelError reports whether err is an errno the kernel answered with,
// after which the socket is still in step.
func isKernelError(err error) bool {
	var oe *netlink.OpError
	if errors.As(err, &oe) && oe.Sequence != 0 {
		return true
	}
	var ie *invalidError
	return errors.As(err, &ie)
}

// do sends one request and waits for its answer: the reply payloads
// (generic netlink header and attributes, copied) of a do-command with a
// reply (GET_INFO, GET_CONFIG, GET_SERVICE), nothing for a command
// acknowledged with an ACK.
func (c *Client) do(ctx context.Context, r request) ([][]byte, error) {
	var out [][]byte
	err := c.session(ctx, func(l link) error {
		seq := c.nextSeq()
		send := l.send
		if r.isRead() {
			send = l.sendRead
		}
		c.sendBuf = appendRequest(c.sendBuf[:0], c.family, r.flags, seq, r)
		if err := send(c.sendBuf); err != nil {
			return err
		}
		for done := false; !done; {
			d, err := l.recv()
			if err != nil {
				return err
			}
			err = eachMessage(d, func(m message) error {
				if m.seq != seq {
					return errDesync
				}
				if m.typ == unix.NLMSG_ERROR {
					errno, err := errnoOf(m)
					if err != nil {
						return err
					}
					if errno != 0 {
						return kernelError(seq, errno)
					}
					done = true // the acknowledgement
					return nil
				}
				out = append(out, append([]byte(nil), m.data...))
				if r.flags&netlink.Acknowledge == 0 {
					done = true
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// dump sends a dump request and calls each with the payload of every
// message of the reply (valid only during the call).
func (c *Client) dump(ctx context.Context, r request, each func(payload []byte) error) error {
	return c.session(ctx, func(l link) error { return c.dumpOn(l, r, each) })
}

// dumpOn runs one dump on l; Snapshot runs many in one session.
func (c *Client) dumpOn(l link, r request, each func(payload []byte) error) error {
	r.flags = netlink.Request | netlink.Dump
	seq := c.nextSeq()
	c.sendBuf = appendRequest(c.sendBuf[:0], c.family, r.flags, seq, r)
	if err := l.sendRead(c.sendBuf); err != nil {
		return err
	}
	var ferr error
	for done := false; !done; {
		d, err := l.recv()
		if err != nil {
			return err
		}
		err = eachMessage(d, func(m message) error {
			if m.seq != seq {
				return errDesync
			}
			switch m.typ {
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				errno, err := errnoOf(m)
				if err != nil {
					return err
				}
				done = true
				if errno != 0 {
					return kernelError(seq, errno)
				}
				return nil
			}
			if ferr == nil {
				// Keep reading after a decode failure: the dump must be
				// drained for the socket to stay in step.
				ferr = each(m.data)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return ferr
}

// genlAttrs returns the attributes of a generic netlink payload.
func genlAttrs(payload []byte) ([]byte, error) {
	if len(payload) < 4 {
		return nil, fmt.Errorf("short generic netlink message (%d bytes)", len(payload))
	}
	return payload[4:], nil
}

// classify maps an errno to the sentinel that applies to every operation.
// op-specific errnos are handled by the operations.
func classify(err error, specific map[unix.Errno]error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	if s, ok := specific[errno]; ok {
		return s
	}
	switch errno {
	case unix.EPERM, unix.EACCES:
		return ErrPermission
	}
	return nil
}

// opError wraps err from op on object, adding the sentinel its errno means
// for that operation.
func opError(op, object string, err error, specific map[unix.Errno]error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &OpError{Op: op, Object: object, Err: err}
	}
	var oe *OpError
	if errors.As(err, &oe) && oe.Op == "open" {
		return err
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		// Unwrap netlink's OpError so Err is the plain errno.
		var ie *invalidError
		if !errors.As(err, &ie) {
			err = errno
		}
	}
	return &OpError{Op: op, Object: object, Err: err, kind: classify(err, specific)}
}
