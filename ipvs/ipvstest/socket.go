package ipvstest

import (
	"errors"
	"iter"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
)

// Kernel sk_buff geometry on x86-64, for receive-buffer accounting.
const (
	skbSize       = 256  // SKB_DATA_ALIGN(sizeof(struct sk_buff))
	shinfoSize    = 320  // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
	nlmsgGoodSize = 3776 // NLMSG_GOODSIZE: SKB_WITH_OVERHEAD(PAGE_SIZE)
	maxDumpAlloc  = 32448
	minRcvbuf     = 2304 // SOCK_MIN_RCVBUF, about
	rmemMax       = 212992
)

var errTruncated = errors.New("message truncated")

// socket is the fake's netlink.Socket: one netlink socket bound to the
// kernel. It keeps the receive queue as the kernel does, one entry per
// datagram, with the kernel's memory accounting.
type socket struct {
	k    *Kernel
	port uint32

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every state change
	queue   []datagram
	rmem    int // sk_rmem_alloc: truesize of the queued datagrams
	rcvbuf  int // sk_rcvbuf
	sndbuf  int
	// sockErr is sk_err: reported by the next receive, once.
	sockErr   syscall.Errno
	congested bool // NETLINK_S_CONGESTED
	dump      *dumpState
	// maxRecvmsgLen is the largest recvmsg buffer seen, which sizes dump
	// batches.
	maxRecvmsgLen int

	readDeadline, writeDeadline time.Time
	closed                      bool

	capAck, extAck, noENOBUFS bool
}

type datagram struct {
	b        []byte
	truesize int
}

var _ netlink.Socket = (*socket)(nil)

func newSocket(k *Kernel, port uint32) *socket {
	return &socket{
		k:       k,
		port:    port,
		changed: make(chan struct{}),
		rcvbuf:  k.cfg.rcvbuf,
		sndbuf:  rmemMax,
	}
}

func (s *socket) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Send hands one message to the kernel, which handles it before Send
// returns, as sendmsg on a netlink socket does.
func (s *socket) Send(m netlink.Message) error {
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	return s.send(b)
}

// SendMessages hands several messages to the kernel in one datagram.
func (s *socket) SendMessages(ms []netlink.Message) error {
	var buf []byte
	for _, m := range ms {
		b, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		buf = append(buf, b...)
	}
	return s.send(buf)
}

func (s *socket) send(b []byte) error {
	s.mu.Lock()
	closed := s.closed
	expired := !s.writeDeadline.IsZero() && !time.Now().Before(s.writeDeadline)
	s.mu.Unlock()
	switch {
	case closed:
		return os.NewSyscallError("sendmsg", syscall.EBADF)
	case expired:
		return os.ErrDeadlineExceeded
	}
	s.k.receive(s, b)
	return nil
}

// Receive returns the messages of one datagram, blocking until one is
// queued, the read deadline passes, or the socket is closed.
func (s *socket) Receive() ([]netlink.Message, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, os.NewSyscallError("recvmsg", syscall.EBADF)
		}
		if !s.readDeadline.IsZero() && !time.Now().Before(s.readDeadline) {
			s.mu.Unlock()
			return nil, os.ErrDeadlineExceeded
		}
		if s.sockErr != 0 {
			err := s.sockErr
			s.sockErr = 0
			s.mu.Unlock()
			return nil, os.NewSyscallError("recvmsg", err)
		}
		if len(s.queue) > 0 {
			return s.dequeueLocked()
		}
		ch, deadline := s.changed, s.readDeadline
		s.mu.Unlock()

		if deadline.IsZero() {
			<-ch
			continue
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// dequeueLocked takes the first datagram, continues a running dump as
// netlink_recvmsg does, and unlocks s.mu.
func (s *socket) dequeueLocked() ([]netlink.Message, error) {
	d := s.queue[0]
	s.queue = s.queue[1:]
	readerBuf := s.k.cfg.readerBuffer
	peeking := readerBuf == 0
	if peeking {
		// netlink.Conn's default reader peeks, then reads with a
		// buffer of exactly the datagram's size.
		readerBuf = align4(len(d.b))
	}
	s.maxRecvmsgLen = min(max(s.maxRecvmsgLen, readerBuf), maxDumpAlloc)
	running := s.dump != nil
	s.mu.Unlock()

	// The peek is a recvmsg call of its own and continues a running dump
	// too, while the datagram it looked at still counts as queued.
	if running && peeking {
		s.k.continueDump(s)
	}
	s.mu.Lock()
	s.rmem -= d.truesize
	s.mu.Unlock()
	if running {
		s.k.continueDump(s)
	}
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.congested = false // netlink_rcv_wake
	}
	s.mu.Unlock()

	if !peeking && len(d.b) > readerBuf {
		return nil, errTruncated
	}
	return parseDatagram(d.b)
}

func parseDatagram(b []byte) ([]netlink.Message, error) {
	var msgs []netlink.Message
	for len(b) >= nlmsgHdrLen {
		h := readHeader(b)
		if h.length < nlmsgHdrLen {
			return nil, errors.New("netlink message header length incorrect")
		}
		l := align4(int(h.length))
		if l > len(b) {
			return nil, errors.New("not enough data to create a netlink message")
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(b[:l]); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
		b = b[l:]
	}
	return msgs, nil
}

// ReceiveIter yields the messages of one datagram.
func (s *socket) ReceiveIter() iter.Seq2[netlink.Message, error] {
	return func(yield func(netlink.Message, error) bool) {
		msgs, err := s.Receive()
		if err != nil {
			yield(netlink.Message{}, err)
			return
		}
		for _, m := range msgs {
			if !yield(m, nil) {
				return
			}
		}
	}
}

// Close closes the socket and wakes a blocked Receive.
func (s *socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return os.NewSyscallError("close", syscall.EBADF)
	}
	s.closed = true
	s.dump = nil
	s.queue = nil
	s.broadcastLocked()
	return nil
}

// SetDeadline, SetReadDeadline and SetWriteDeadline make netlink.Conn's
// deadline methods work; an expired deadline fails the operation with
// os.ErrDeadlineExceeded, even when data is waiting, as Go's poller does.
func (s *socket) SetDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readDeadline, s.writeDeadline = t, t
	s.broadcastLocked()
	return nil
}

func (s *socket) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readDeadline = t
	s.broadcastLocked()
	return nil
}

func (s *socket) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeDeadline = t
	return nil
}

// SetOption supports the netlink socket options that change what the
// kernel sends: CapAcknowledge (error messages do not echo the request)
// and NoENOBUFS (overruns are not reported). ExtendedAcknowledge and the
// others are accepted; the fake sends no extended acknowledgement TLVs.
func (s *socket) SetOption(option netlink.ConnOption, enable bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch option {
	case netlink.CapAcknowledge:
		s.capAck = enable
	case netlink.ExtendedAcknowledge:
		s.extAck = enable
	case netlink.NoENOBUFS:
		s.noENOBUFS = enable
	case netlink.PacketInfo, netlink.BroadcastError, netlink.ListenAllNSID, netlink.GetStrictCheck:
	default:
		return os.NewSyscallError("setsockopt", syscall.ENOPROTOOPT)
	}
	return nil
}

// SetReadBuffer is SO_RCVBUF: the kernel doubles the value, within limits.
func (s *socket) SetReadBuffer(bytes int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcvbuf = max(min(bytes, rmemMax)*2, minRcvbuf)
	return nil
}

func (s *socket) SetWriteBuffer(bytes int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sndbuf = max(min(bytes, rmemMax)*2, minRcvbuf)
	return nil
}

func (s *socket) ReadBuffer() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcvbuf, nil
}

func (s *socket) WriteBuffer() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sndbuf, nil
}

// unicastLocked queues a reply the way netlink_unicast does: refused when
// the receive buffer is already over its limit or the socket congested,
// in which case the overrun is reported by the next receive.
func (s *socket) unicastLocked(b []byte, alloc int) {
	if s.closed {
		return
	}
	if s.rmem > s.rcvbuf || s.congested {
		s.overrunLocked()
		return
	}
	s.enqueueLocked(b, unicastTruesize(alloc, len(b)))
}

// overrunLocked is netlink_overrun.
func (s *socket) overrunLocked() {
	if s.noENOBUFS || s.congested {
		return
	}
	s.congested = true
	s.sockErr = syscall.ENOBUFS
	s.broadcastLocked()
}

func (s *socket) enqueueLocked(b []byte, truesize int) {
	s.queue = append(s.queue, datagram{b: b, truesize: truesize})
	s.rmem += truesize
	s.broadcastLocked()
}

// kmallocSize rounds an allocation up to its slab size.
func kmallocSize(n int) int {
	for _, size := range []int{8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192} {
		if n <= size {
			return size
		}
	}
	size := 16384
	for size < n {
		size *= 2
	}
	return size
}

// allocTruesize returns the truesize and the data room of alloc_skb(alloc).
func allocTruesize(alloc int) (truesize, room int) {
	bucket := kmallocSize((alloc+63)&^63 + shinfoSize)
	return bucket + skbSize, bucket - shinfoSize
}

// unicastTruesize accounts for netlink_trim, which shrinks a unicast skb
// whose unused room is at least half of its truesize.
func unicastTruesize(alloc, used int) int {
	ts, room := allocTruesize(alloc)
	if delta := room - used; delta*2 >= ts {
		ts -= delta
	}
	return ts
}
