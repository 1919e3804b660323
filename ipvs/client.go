package ipvs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
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

	// CallTimeout bounds each call whose context has no deadline: it
	// then fails with an error matching context.DeadlineExceeded. Zero
	// means no bound but the context's. The bound counts from the call's
	// first wait for the kernel; most calls never wait (the kernel
	// answers inside the request's system call), so it costs nothing per
	// call, where a context.WithTimeout per call starts and stops a
	// timer and reads the clock.
	CallTimeout time.Duration
}

// dumpBufferSize is the main link's user-space buffer for each recvmsg. The
// kernel sizes dump batches from the largest buffer a socket has read with
// (up to 32 KiB), and every batch of a service dump walks the table again
// from the start, so page-sized reads make big service dumps slower (see
// bench/README.md).
const dumpBufferSize = 64 << 10

// destDumpBufferSize is the buffer of the destination-dump link: the
// kernel's own dump size (NLMSG_GOODSIZE: a page, at most 8 KiB, less the
// skb's overhead) fits in it, and with reads no larger the kernel keeps
// allocating its dump buffers from the slab instead of asking the page
// allocator for 32 KiB twice per dump (the data and the done message),
// which makes destination dumps much cheaper for the kernel (see
// bench/README.md).
var destDumpBufferSize = min(os.Getpagesize(), 8192)

// Client talks to the kernel's IPVS. It is safe for concurrent use; calls
// run one at a time, and one waiting for its turn still ends when its
// context does. Make one with New or NewContext.
type Client struct {
	cfg Config

	// turn holds a token while a call uses the sockets: a lock that a
	// waiting call can give up on when its context ends.
	turn chan struct{}
	// life ends when Close is called; calls in flight then stop.
	life     context.Context
	shutdown context.CancelCauseFunc

	// The fields below belong to the call that holds turn.
	lk link
	// dk is a second socket for destination dumps, opened on first use;
	// it only ever reads with destDumpBufferSize (see there). The kernel
	// remembers a socket's largest read, so the main link cannot serve
	// both the service dump and cheap destination dumps.
	dk link
	// unwatch stops, for each open link, what forces its deadline into
	// the past when Close is called: a call whose context is the
	// client's life needs no watcher of its own.
	unwatch []func() bool
	family  uint16
	seq     uint32 // the last sequence number used

	// loaded holds the schedulers and persistence engines of services
	// this client created or updated: the kernel has their modules, so
	// the next service change naming them does not wait for a module
	// load. (A module unloaded since is loaded again inside sendmsg: a
	// slow call, never a wrong one.)
	loaded map[module]bool

	sendBuf []byte        // reused for requests
	opBuf   []byte        // reused for a single op's attributes
	keyBuf  []byte        // reused for service-key attributes
	destBuf []Destination // reused to decode destination dumps
}

// New is NewContext without a deadline: against a kernel that never
// answers it waits for ever. Prefer NewContext.
func New(cfg *Config) (*Client, error) {
	return NewContext(context.Background(), cfg)
}

// NewContext opens a Client. It dials the socket, resolves the IPVS family
// and asks the kernel for its IPVS information, so it fails at once where
// IPVS cannot be used: with ErrUnavailable (no IPVS in the kernel, or not
// Linux) or ErrPermission (no CAP_NET_ADMIN). ctx bounds all of this; when
// it ends first, the error wraps context.Canceled or
// context.DeadlineExceeded. ctx does not bound the Client's later use.
func NewContext(ctx context.Context, cfg *Config) (*Client, error) {
	c := &Client{turn: make(chan struct{}, 1)}
	if cfg != nil {
		c.cfg = *cfg
	}
	c.life, c.shutdown = context.WithCancelCause(context.Background())
	if _, err := c.Info(ctx); err != nil {
		c.Close()
		var oe *OpError
		if errors.As(err, &oe) && oe.Op != "open" {
			oe.Op = "open"
		}
		return nil, err
	}
	return c, nil
}

// Close closes the sockets. Calls in flight end with ErrClosed, and so do
// later ones. Close is safe to call more than once.
func (c *Client) Close() error {
	if c.turn == nil {
		return nil
	}
	c.shutdown(ErrClosed)
	c.turn <- struct{}{} // a call in flight is being interrupted
	defer func() { <-c.turn }()
	return c.dropLocked()
}

// dropLocked closes the sockets; the next call dials anew.
func (c *Client) dropLocked() error {
	for _, stop := range c.unwatch {
		stop()
	}
	c.unwatch = c.unwatch[:0]
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
	return dialKernel(c.cfg)
}

// dialLocked opens the main socket and resolves the family; ctx bounds the
// family lookup.
func (c *Client) dialLocked(ctx context.Context) error {
	conn, err := c.openConn()
	if err != nil {
		if isPathError(err) {
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
	var fam genetlink.Family
	deadline, timeout := c.bound(ctx)
	err = interruptible(ctx, deadline, timeout, false, conn, nil, func() error {
		var err error
		fam, err = genetlink.NewConn(conn).GetFamily(uapi.FamilyName)
		return err
	})
	if err != nil {
		conn.Close()
		if errors.Is(err, os.ErrNotExist) {
			return &OpError{Op: "open", Err: err, kind: ErrUnavailable}
		}
		return &OpError{Op: "open", Err: err, kind: classify(err, nil)}
	}
	c.lk, c.family = c.watched(newLink(conn, dumpBufferSize)), fam.ID
	return nil
}

// watched makes Close interrupt l: when the client's life ends, l's
// deadline is forced into the past.
func (c *Client) watched(l link) link {
	c.unwatch = append(c.unwatch, context.AfterFunc(c.life, func() { l.SetDeadline(time.Unix(1, 0)) }))
	return l
}

// destLinkLocked returns the destination-dump link, opening it if needed;
// where a second socket cannot be opened, the main link does the work.
func (c *Client) destLinkLocked() link {
	if c.dk == nil {
		conn, err := c.openConn()
		if err != nil {
			return c.lk
		}
		c.dk = c.watched(newLink(conn, destDumpBufferSize))
	}
	return c.dk
}

// deadliner is a socket whose blocking calls a deadline interrupts.
type deadliner interface{ SetDeadline(t time.Time) error }

// timeoutSetter is a socket that can start a deadline at its first wait
// (rawLink.setTimeout).
type timeoutSetter interface{ setTimeout(d time.Duration) }

// deadline is a call's deadline: its context's, or CallTimeout from now.
func (c *Client) deadline(ctx context.Context) time.Time {
	d, timeout := c.bound(ctx)
	if timeout > 0 {
		d = time.Now().Add(timeout)
	}
	return d
}

// bound is how long a call may take: its context's deadline, or else
// CallTimeout (zero: no bound).
func (c *Client) bound(ctx context.Context) (time.Time, time.Duration) {
	if d, ok := ctx.Deadline(); ok {
		return d, 0
	}
	return time.Time{}, c.cfg.CallTimeout
}

// interruptible runs fn with deadline (ctx's or an earlier one), or with
// timeout (when deadline is zero), on the sockets a and b (b may be nil),
// and forces the deadline into the past when ctx ends first, unless
// watched says that something else does that already (the client's life:
// see Client.watched). It returns ctx's error (its cause) when ctx ended
// the call.
func interruptible(ctx context.Context, deadline time.Time, timeout time.Duration, watched bool, a, b deadliner, fn func() error) error {
	for _, s := range [2]deadliner{a, b} {
		if s == nil {
			continue
		}
		if ts, ok := s.(timeoutSetter); ok && timeout > 0 {
			ts.setTimeout(timeout)
			continue
		}
		d := deadline
		if timeout > 0 {
			d = time.Now().Add(timeout)
		}
		if err := s.SetDeadline(d); err != nil && !isNotSupported(err) {
			return err
		}
	}
	var err error
	if watched {
		if ctx.Err() != nil {
			// Ended before the deadline was set, which may have undone
			// the watcher's.
			return context.Cause(ctx)
		}
		err = fn()
	} else {
		stop := context.AfterFunc(ctx, func() {
			a.SetDeadline(time.Unix(1, 0))
			if b != nil {
				b.SetDeadline(time.Unix(1, 0))
			}
		})
		err = fn()
		stop()
	}
	if ctx.Err() != nil {
		if err != nil {
			return context.Cause(ctx)
		}
		return nil
	}
	if err != nil && (!deadline.IsZero() || timeout > 0) && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// request is one IPVS command ready to send.
type request struct {
	cmd   uint8
	flags netlink.HeaderFlags
	attrs []byte
	// modulesLoaded says that the scheduler and persistence engine a
	// service change names are loaded already (see Client.loaded).
	modulesLoaded bool
}

// quick reports whether the kernel serves r without sleeping for more than
// its IPVS lock: reads (a dump fills its first batch inside sendmsg),
// destination changes, service deletions, and service changes whose
// modules are loaded. A service change may otherwise load a scheduler or
// persistence engine module, daemon changes start or stop kernel threads,
// and a flush takes as long as the table is large: those go through the
// scheduler-aware send, so that a thread asleep in the kernel does not
// hold its processor.
func (r request) quick() bool {
	switch r.cmd {
	case uapi.CmdGetService, uapi.CmdGetDest, uapi.CmdGetDaemon, uapi.CmdGetConfig, uapi.CmdGetInfo,
		uapi.CmdNewDest, uapi.CmdSetDest, uapi.CmdDelDest, uapi.CmdDelService:
		return true
	case uapi.CmdNewService, uapi.CmdSetService:
		return r.modulesLoaded
	}
	return false
}

// errNoAnswer is a request the kernel handled without answering. Its
// netlink_rcv_skb sends no acknowledgement when a handler returns EINTR,
// which IPVS's DEL_DAEMON does when the sync thread it stops had not run
// yet (kthread_stop's result; see StopDaemon).
var errNoAnswer = fmt.Errorf("the kernel sent no answer (its handler returned %w)", syscall.EINTR)

// errDesync marks a reply that does not belong to the request in flight.
var errDesync = errors.New("reply does not match request")

// nextSeq returns a fresh sequence number (never 0: the kernel echoes it
// and 0 would look like "no request" to the checks).
func (c *Client) nextSeq() uint32 { return c.nextSeqs(1) }

// nextSeqs returns the first of n fresh consecutive sequence numbers, none
// of them 0.
func (c *Client) nextSeqs(n int) uint32 {
	if c.seq > math.MaxUint32-uint32(n) {
		c.seq = 0
	}
	first := c.seq + 1
	c.seq += uint32(n)
	return first
}

// acquire waits for the client's turn, or for ctx or Close to end the
// wait. It returns the context of the call, which Close also ends, and
// what ends that context after the call (nil when it is the client's
// life); pass it to release.
func (c *Client) acquire(ctx context.Context) (context.Context, func(), error) {
	if c.turn == nil || c.life.Err() != nil {
		return nil, nil, ErrClosed // closed, or a Client not made by New
	}
	if ctx.Done() == nil {
		// A context that never ends (context.Background): only Close
		// ends the call, and the client's life is the call's context.
		select {
		case c.turn <- struct{}{}: // free: no wait, and a cheaper select
		default:
			select {
			case c.turn <- struct{}{}:
			case <-c.life.Done():
				return nil, nil, ErrClosed
			}
		}
		if c.life.Err() != nil {
			<-c.turn
			return nil, nil, ErrClosed
		}
		return c.life, nil, nil
	}
	cctx, cancel := context.WithCancelCause(ctx)
	stopClose := context.AfterFunc(c.life, func() { cancel(ErrClosed) })
	release := func() {
		stopClose()
		cancel(nil)
	}
	select {
	case c.turn <- struct{}{}:
	case <-cctx.Done():
		release()
		return nil, nil, context.Cause(cctx)
	}
	if c.life.Err() != nil || cctx.Err() != nil { // the turn came, but so did the end
		<-c.turn
		release()
		if c.life.Err() != nil {
			return nil, nil, ErrClosed
		}
		return nil, nil, context.Cause(cctx)
	}
	return cctx, release, nil
}

// release gives the turn back and ends the call's context (acquire's end).
func (c *Client) release(end func()) {
	<-c.turn
	if end != nil {
		end()
	}
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
	ctx, end, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.release(end)
	if c.lk == nil {
		if err := c.dialLocked(ctx); err != nil {
			return err
		}
	}
	l, dl := c.lk, c.lk
	if dests {
		dl = c.destLinkLocked()
	}
	var second deadliner
	if dl != l {
		second = dl
	}
	deadline, timeout := c.bound(ctx)
	err = interruptible(ctx, deadline, timeout, ctx == c.life, l, second, func() error { return fn(l, dl) })
	if gone := c.staleFamilyLocked(err); gone != nil {
		return gone
	}
	if ctx.Err() != nil || (err != nil && !isKernelError(err)) {
		// The deadline may have been forced into the past, and the
		// socket may hold replies we no longer read.
		c.dropLocked()
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
	err := c.session(ctx, func(l link) (err error) {
		out, err = c.doOn(l, r)
		return err
	})
	return out, err
}

// doOn runs one request on l; ModifyDestination runs a dump and a request
// in one session.
func (c *Client) doOn(l link, r request) ([][]byte, error) {
	var out [][]byte
	seq := c.nextSeq()
	send := l.send
	if r.quick() {
		send = l.sendQuick
	}
	c.sendBuf = appendRequest(c.sendBuf[:0], c.family, r.flags, seq, r)
	if err := send(c.sendBuf); err != nil {
		return nil, err
	}
	for done := false; !done; {
		d, err := l.recv()
		if err != nil {
			return nil, err
		}
		err = eachMessage(d, func(m message) error {
			if m.seq != seq {
				return errDesync
			}
			if m.typ == nlmsgError {
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
			return nil, err
		}
	}
	return out, nil
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
	if err := l.sendQuick(c.sendBuf); err != nil {
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
			case nlmsgDone, nlmsgError:
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
				if ab, ok := ferr.(abortDump); ok {
					return ab
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return ferr
}

// abortDump, returned by a dump's each, ends the dump at once, without
// draining it: not a kernel error, so the session drops the socket (and
// the rest of the dump with it). The caller unwraps it.
type abortDump struct{ err error }

func (a abortDump) Error() string { return a.err.Error() }

// genlAttrs returns the attributes of a generic netlink payload.
func genlAttrs(payload []byte) ([]byte, error) {
	if len(payload) < 4 {
		return nil, fmt.Errorf("short generic netlink message (%d bytes)", len(payload))
	}
	return payload[4:], nil
}
