package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
)

// ErrAckLost: the kernel handled the op (it handles every request it
// receives) but its answer may have been lost because the socket's
// receive buffer overflowed (ENOBUFS), so whether it succeeded is unknown.
var ErrAckLost = errors.New("acknowledgement lost: outcome unknown")

// Apply carries out ops, many per system call, and returns one result per
// op (nil for success), in the ops' order. The table after is the one ops
// in order give: the ops on one service go out in their order, those on
// different services in the order of the kernel's hash chains, where it
// finds their services fastest, and timeouts after every op before them
// and before every op after them. Like the kernel, it goes on after a
// failed op: each result says what happened to its op, exactly as the
// single-op methods would have said. The error is not nil when the socket
// failed or ctx ended; results of ops not carried out then hold that
// error, and those sent but not answered also match ErrAckLost.
//
// The requests go out in windows; only the last of a window asks for an
// acknowledgement (the kernel reports every failure anyway), so a window
// is read back with one system call. A window goes out in one sendmsg, or,
// when the kernel handles all its requests without sleeping (destination
// changes, deletions, service changes whose modules are loaded), in raw
// system calls of up to 128 requests that do not involve Go's scheduler.
// Windows are sized so that the answers fit in the socket's receive
// buffer even if every request fails. With more than one CPU, the next
// window is encoded while the kernel handles the current one.
//
// Errors: each result has the sentinels of its op's single-op method, or
// ErrAckLost; the error is an *OpError with ErrPermission, ErrUnavailable,
// ErrClosed, or the context's error.
func (c *Client) Apply(ctx context.Context, ops []Op) ([]error, error) {
	results := make([]error, len(ops))
	sendable := make([]int, 0, len(ops))
	for i := range ops {
		o := &ops[i]
		if err := o.check(o.Service.key()); err != nil {
			results[i] = o.errorFor(err)
			continue
		}
		sendable = append(sendable, i)
	}
	if len(sendable) == 0 {
		return results, nil
	}
	if len(sendable) >= minChainOrder {
		sendable = chainOrder(ops, sendable, make([]int, 0, len(sendable)))
	}
	var done, sent int
	deadline := c.deadline(ctx)
	err := c.session(ctx, func(l link) (err error) {
		done, sent, err = c.applyWindows(ctx, l, ops, results, sendable, deadline)
		return err
	})
	if err != nil {
		// Ops not answered carry the error that stopped the batch. The
		// kernel carried out the window that was sent (it handles a
		// whole sendmsg before it answers), so its unanswered ops have
		// an unknown outcome.
		for j, i := range sendable[done:] {
			switch {
			case results[i] != nil:
			case done+j < sent:
				results[i] = ops[i].errorFor(fmt.Errorf("%w: %w", ErrAckLost, err))
			default:
				results[i] = ops[i].errorFor(err)
			}
		}
		return results, opError("apply", fmt.Sprintf("%d operations", len(ops)), err, nil)
	}
	return results, nil
}

// applyWindows sends the ops at sendable on l, window after window, and
// notes their answers in results. It returns how many of sendable were
// answered (done) and sent, and the error that stopped it.
func (c *Client) applyWindows(ctx context.Context, l link, ops []Op, results []error, sendable []int, deadline time.Time) (done, sent int, err error) {
	size := ackWindow(l)
	bufCap := min(size, len(sendable)) * encodedRequestSize
	w := &applyWindow{ops: ops, results: results, buf: make([]byte, 0, bufCap)}
	var next *applyWindow // encoded beside w's sending, with more than one CPU
	if len(sendable) > size && applyAheadOn() {
		next = &applyWindow{ops: ops, results: results, buf: make([]byte, 0, bufCap)}
	}
	ahead := &windowFiller{c: c}
	n := min(size, len(sendable))
	w.fill(c.family, sendable[:n], c.nextSeqs(n))
	for done < len(sendable) {
		if err := ctx.Err(); err != nil {
			return done, sent, err
		}
		end := done + len(w.idx)
		if next != nil && end < len(sendable) {
			ahead.start(next, sendable[end:min(end+size, len(sendable))])
		}
		n, err := w.send(l, c)
		sent = done + n
		if err != nil {
			ahead.wait()
			return done, sent, err
		}
		lost, err := w.collect(l, deadline)
		ahead.wait()
		if err != nil {
			return done, sent, err
		}
		w.noteModules(c)
		done = end
		if lost {
			// The buffer is smaller than we thought: go on with smaller
			// windows (and drop the one filled ahead).
			size = max(1, size/4)
			ahead.filled = false
		}
		switch {
		case ahead.filled:
			w, next = next, w
			ahead.filled = false
		case done < len(sendable):
			n := min(size, len(sendable)-done)
			w.fill(c.family, sendable[done:done+n], c.nextSeqs(n))
		}
	}
	return done, sent, c.staleResultsLocked(ops, results)
}

// encodedRequestSize is about what an op's request takes: a NEW_DEST of
// an IPv4 service takes 164 bytes, a NEW_SERVICE about 104.
const encodedRequestSize = 164

// An applyWindow is the requests of Apply that are answered together: the
// ops at idx, with the consecutive sequence numbers from first, of which
// only the last asks for an acknowledgement.
type applyWindow struct {
	ops      []Op
	results  []error
	buf      []byte
	idx      []int  // the index in ops of each request
	ends     []int  // where each request ends in buf
	slow     []bool // by request: not quick (see request.quick)
	answered []bool // by request
	first    uint32
}

// fill encodes the ops at idx into w.buf, with the sequence numbers from
// first. It uses nothing of the Client's that changes, so that the next
// window can be filled while this one is sent.
func (w *applyWindow) fill(family uint16, idx []int, first uint32) {
	w.idx = idx
	w.ends = w.ends[:0]
	w.slow = grown(w.slow, len(idx))
	w.answered = grown(w.answered, len(idx))
	w.first = first
	w.buf = w.buf[:0]
	for j, i := range idx {
		flags := netlink.Request
		if j == len(idx)-1 {
			flags |= netlink.Acknowledge
		}
		o := &w.ops[i]
		w.buf = o.appendRequest(w.buf, family, flags, w.first+uint32(j), o.Service.key())
		w.ends = append(w.ends, len(w.buf))
	}
}

// A windowFiller fills the next window of an Apply on a goroutine of its
// own, while the current one is sent and answered.
type windowFiller struct {
	c      *Client
	done   chan struct{}
	filled bool // a window was filled ahead and not used yet
}

// start fills w with the ops at idx, taking their sequence numbers now.
func (f *windowFiller) start(w *applyWindow, idx []int) {
	first := f.c.nextSeqs(len(idx))
	f.done = make(chan struct{})
	go func() {
		defer close(f.done)
		w.fill(f.c.family, idx, first)
	}()
	f.filled = true
}

// wait waits for the window being filled, if any.
func (f *windowFiller) wait() {
	if f.done != nil {
		<-f.done
		f.done = nil
	}
}

// applyAheadOn reports whether Apply fills a window while sending the one
// before (tests set it).
var applyAheadOn = func() bool { return runtime.GOMAXPROCS(0) > 1 }

// grown returns b with n false elements.
func grown(b []bool, n int) []bool {
	b = slices.Grow(b[:0], n)[:n]
	clear(b)
	return b
}

// quickChunk bounds the requests of a quick window sent in one system
// call: a raw system call holds its processor until the kernel has
// handled them all.
const quickChunk = 128

// send sends the window and returns how many of its requests went out. A
// window of quick requests goes out in raw system calls of up to
// quickChunk requests, which leave Go's scheduler alone (see
// rawLink.sendQuick); any other in one scheduler-aware sendmsg.
func (w *applyWindow) send(l link, c *Client) (int, error) {
	for j, i := range w.idx {
		o := &w.ops[i]
		w.slow[j] = !(request{cmd: opKinds[o.Kind].cmd, modulesLoaded: c.modulesLoadedLocked(o)}).quick()
	}
	if slices.Contains(w.slow, true) {
		if err := l.send(w.buf); err != nil {
			return 0, err
		}
		return len(w.idx), nil
	}
	sent, from := 0, 0
	for sent < len(w.idx) {
		end := min(sent+quickChunk, len(w.idx))
		if err := l.sendQuick(w.buf[from:w.ends[end-1]]); err != nil {
			return sent, err
		}
		sent, from = end, w.ends[end-1]
	}
	return sent, nil
}

// noteModules records the modules of the window's service changes that
// were not known to be loaded and succeeded: later ones are quick.
func (w *applyWindow) noteModules(c *Client) {
	for j, i := range w.idx {
		if w.slow[j] && w.results[i] == nil {
			c.noteModulesLocked(&w.ops[i])
		}
	}
}

// collect reads the answers to the window: an error message for each
// request the kernel refused, and the acknowledgement (or error) of the
// last one, which the kernel sends after all the others. Requests without
// an error succeeded. If the socket overflowed (ENOBUFS), the answers still
// queued are read and every request without one gets ErrAckLost: it may
// have failed with its error dropped.
func (w *applyWindow) collect(l link, deadline time.Time) (bool, error) {
	last := len(w.idx) - 1
	record := func(seq uint32, errno syscall.Errno) error {
		j := seq - w.first
		if j >= uint32(len(w.idx)) || w.answered[j] {
			return errDesync
		}
		w.answered[j] = true
		if errno != 0 {
			i := w.idx[j]
			w.results[i] = w.ops[i].errorFor(kernelError(seq, errno))
		}
		return nil
	}
	draining := false
	for !w.answered[last] {
		d, err := l.recv()
		if err != nil {
			if errors.Is(err, syscall.ENOBUFS) && !draining {
				// The kernel handles every request inside sendmsg, so
				// each answer is by now either queued or dropped. Read
				// what is queued; the rest is unknown.
				draining = true
				l.setReadDeadline(time.Now().Add(drainWait))
				continue
			}
			if draining && errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return draining, err
		}
		err = eachMessage(d, func(m message) error {
			if m.typ != nlmsgError {
				return errDesync
			}
			errno, err := errnoOf(m)
			if err != nil {
				return err
			}
			return record(m.seq, errno)
		})
		if err != nil {
			return draining, err
		}
	}
	if draining {
		l.setReadDeadline(deadline)
		for j, i := range w.idx {
			if !w.answered[j] {
				w.results[i] = w.ops[i].errorFor(ErrAckLost)
			}
		}
	}
	return draining, nil
}

// drainWait bounds the wait for answers already queued after an overrun;
// they are there at once, so this only ends the drain.
const drainWait = 50 * time.Millisecond

// ackSize is what one queued acknowledgement costs in the receive buffer:
// the kernel charges an skb's true size, about 1 KiB for a small message,
// and an error echoes the whole request (up to a few hundred bytes more).
const ackSize = 2048

// ackWindow is how many requests may be outstanding at once on l.
func ackWindow(l link) int {
	rcv := l.receiveBuffer()
	if rcv <= 0 {
		rcv = 212992 // the kernel's default net.core.rmem_default
	}
	return min(max(rcv/ackSize, 8), 1024)
}
