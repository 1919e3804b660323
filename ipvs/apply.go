package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
)

// ErrAckLost: the kernel handled the op (it handles every request it
// receives) but its answer may have been lost because the socket's
// receive buffer overflowed (ENOBUFS), so whether it succeeded is unknown.
var ErrAckLost = errors.New("acknowledgement lost: outcome unknown")

// Apply carries out ops in order, many per system call, and returns one
// result per op (nil for success), in the same order. Like the kernel, it
// goes on after a failed op: each result says what happened to its op,
// exactly as the single-op methods would have said. The error is not nil
// when the socket failed or ctx ended; results of ops not carried out
// then hold that error, and those sent but not answered also match
// ErrAckLost.
//
// The requests go out in windows, each in one sendmsg; only the last of a
// window asks for an acknowledgement (the kernel reports every failure
// anyway), so a window costs one system call each way. Windows are sized
// so that the answers fit in the socket's receive buffer even if every
// request fails.
//
// Errors: each result has the sentinels of its op's single-op method, or
// ErrAckLost; the error is an *OpError with ErrPermission, ErrUnavailable,
// ErrClosed, or the context's error.
func (c *Client) Apply(ctx context.Context, ops []Op) ([]error, error) {
	results := make([]error, len(ops))
	reqs := make([]request, len(ops))
	sendable := make([]int, 0, len(ops))
	// The buffers are sized once rather than grown by appending (each
	// growth allocates, clears and copies).
	enc := attrEncoder{b: make([]byte, 0, len(ops)*encodedOpSize)}
	for i := range ops {
		o := &ops[i]
		r, err := o.prepare(&enc)
		if err != nil {
			results[i] = o.errorFor(err)
			continue
		}
		reqs[i] = r
		sendable = append(sendable, i)
	}
	if len(sendable) == 0 {
		return results, nil
	}
	done, sent := 0, 0
	deadline := c.deadline(ctx)
	err := c.session(ctx, func(l link) error {
		window := ackWindow(l)
		buf := make([]byte, 0, min(window, len(sendable))*(nlmsgHeaderLen+4+encodedOpSize))
		seqs := make(map[uint32]int, window)
		for done < len(sendable) {
			if err := ctx.Err(); err != nil {
				return err
			}
			end := min(done+window, len(sendable))
			buf = buf[:0]
			clear(seqs)
			var last uint32
			for j, i := range sendable[done:end] {
				flags := netlink.Request
				if done+j == end-1 {
					flags |= netlink.Acknowledge
				}
				last = c.nextSeq()
				seqs[last] = i
				buf = appendRequest(buf, c.family, flags, last, reqs[i])
			}
			if err := l.send(buf); err != nil {
				return err
			}
			sent = end
			lost, err := collectAnswers(l, deadline, seqs, last, ops, results)
			if err != nil {
				return err
			}
			done = end
			if lost {
				// The buffer is smaller than we thought: go on with
				// smaller windows.
				window = max(1, window/4)
			}
		}
		return c.staleResultsLocked(ops, results)
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

// encodedOpSize is about what an op's attributes take: a NEW_DEST of an
// IPv4 service takes 144 bytes, a NEW_SERVICE about 84.
const encodedOpSize = 144

// collectAnswers reads the answers to one window: an error message for
// each request the kernel refused, and the acknowledgement (or error) of
// the last one, which the kernel sends after all the others. Requests
// without an error succeeded. If the socket overflowed (ENOBUFS), the
// answers still queued are read and every request without one gets
// ErrAckLost: it may have failed with its error dropped.
func collectAnswers(l link, deadline time.Time, seqs map[uint32]int, last uint32, ops []Op, results []error) (bool, error) {
	answered := make(map[uint32]bool, 8)
	record := func(seq uint32, errno syscall.Errno) error {
		i, ok := seqs[seq]
		if !ok || answered[seq] {
			return errDesync
		}
		answered[seq] = true
		if errno != 0 {
			results[i] = ops[i].errorFor(kernelError(seq, errno))
		}
		return nil
	}
	draining := false
	for !answered[last] {
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
		for seq, i := range seqs {
			if !answered[seq] {
				results[i] = ops[i].errorFor(ErrAckLost)
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
