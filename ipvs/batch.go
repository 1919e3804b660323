package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// OpKind is the kind of change an Op makes.
type OpKind uint8

// Kinds of Op.
const (
	OpCreateService OpKind = iota + 1
	OpUpdateService
	OpDeleteService
	OpCreateDestination
	OpUpdateDestination
	OpDeleteDestination
	OpSetTimeouts
)

// An Op is one change to the table, for Apply. Build it with
// CreateService, UpdateService, DeleteService, CreateDestination,
// UpdateDestination or DeleteDestination.
type Op struct {
	Kind OpKind
	// Service is the service to create or update, or (only its key
	// counts) the service to delete or whose destination changes.
	Service Service
	// Destination is the destination to create, update or delete (only
	// its key counts for a delete).
	Destination Destination
	// Timeouts are the connection timeouts of OpSetTimeouts (a zero
	// field keeps the current value).
	Timeouts Timeouts
}

// CreateService is the Op of Client.CreateService.
func CreateService(s Service) Op { return Op{Kind: OpCreateService, Service: s} }

// UpdateService is the Op of Client.UpdateService.
func UpdateService(s Service) Op { return Op{Kind: OpUpdateService, Service: s} }

// DeleteService is the Op of Client.DeleteService.
func DeleteService(k ServiceKey) Op { return Op{Kind: OpDeleteService, Service: serviceOf(k)} }

// CreateDestination is the Op of Client.CreateDestination.
func CreateDestination(k ServiceKey, d Destination) Op {
	return Op{Kind: OpCreateDestination, Service: serviceOf(k), Destination: d}
}

// UpdateDestination is the Op of Client.UpdateDestination.
func UpdateDestination(k ServiceKey, d Destination) Op {
	return Op{Kind: OpUpdateDestination, Service: serviceOf(k), Destination: d}
}

// DeleteDestination is the Op of Client.DeleteDestination.
func DeleteDestination(k ServiceKey, dk DestinationKey) Op {
	return Op{Kind: OpDeleteDestination, Service: serviceOf(k), Destination: Destination{Addr: dk.Addr, Port: dk.Port}}
}

// SetTimeouts is the Op of Client.SetTimeouts.
func SetTimeouts(t Timeouts) Op { return Op{Kind: OpSetTimeouts, Timeouts: t} }

func (k OpKind) String() string {
	switch k {
	case OpCreateService:
		return "create service"
	case OpUpdateService:
		return "update service"
	case OpDeleteService:
		return "delete service"
	case OpCreateDestination:
		return "create destination"
	case OpUpdateDestination:
		return "update destination"
	case OpDeleteDestination:
		return "delete destination"
	case OpSetTimeouts:
		return "set timeouts"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// object names what the op changes, for errors.
func (o Op) object() string {
	if o.Kind == OpSetTimeouts {
		return ""
	}
	k := o.Service.Key()
	if o.Kind >= OpCreateDestination {
		return k.String() + " -> " + o.Destination.Key().String()
	}
	return k.String()
}

// prepare validates the op and encodes its request's attributes at the end
// of e.b (Apply encodes all its ops into one growing buffer; the request
// keeps its own part, which stays valid as the buffer moves on).
func (o Op) prepare(e *attrEncoder) (request, error) {
	var cmd uint8
	switch o.Kind {
	case OpCreateService:
		cmd = uapi.CmdNewService
	case OpUpdateService:
		cmd = uapi.CmdSetService
	case OpDeleteService:
		cmd = uapi.CmdDelService
	case OpCreateDestination:
		cmd = uapi.CmdNewDest
	case OpUpdateDestination:
		cmd = uapi.CmdSetDest
	case OpDeleteDestination:
		cmd = uapi.CmdDelDest
	case OpSetTimeouts:
		a, err := timeoutAttrs(o.Timeouts)
		if err != nil {
			return request{}, err
		}
		return ack(uapi.CmdSetConfig, a), nil
	default:
		return request{}, invalidf(unix.EINVAL, "unknown operation %d", uint8(o.Kind))
	}
	fullService := o.Kind == OpCreateService || o.Kind == OpUpdateService
	fullDest := o.Kind == OpCreateDestination || o.Kind == OpUpdateDestination
	if err := validateService(o.Service, fullService); err != nil {
		return request{}, err
	}
	k := o.Service.Key()
	if o.Kind >= OpCreateDestination {
		if err := validateDestination(k, o.Destination, fullDest); err != nil {
			return request{}, err
		}
	}
	start := len(e.b)
	n := e.nest(uapi.CmdAttrService)
	if fullService {
		encodeService(e, o.Service)
	} else {
		encodeServiceKey(e, k)
	}
	e.end(n)
	if o.Kind >= OpCreateDestination {
		n := e.nest(uapi.CmdAttrDest)
		encodeDestination(e, o.Destination, fullDest)
		e.end(n)
	}
	return ack(cmd, e.b[start:len(e.b):len(e.b)]), nil
}

// errorFor wraps the kernel's (or the transport's) answer to the op.
func (o Op) errorFor(err error) error {
	if err == nil {
		return nil
	}
	specific := serviceErrors
	switch o.Kind {
	case OpCreateService, OpUpdateService:
		specific = serviceWriteErrors
	case OpCreateDestination, OpUpdateDestination:
		err = explainDestinationError(o.Destination, err)
		specific = destErrors
	case OpDeleteDestination:
		specific = destErrors
	case OpSetTimeouts:
		specific = nil
	}
	return opError(o.Kind.String(), o.object(), err, specific)
}

// apply1 carries out one op and waits for its acknowledgement.
func (c *Client) apply1(ctx context.Context, o Op) error {
	r, err := o.prepare(&attrEncoder{})
	if err != nil {
		return o.errorFor(err)
	}
	_, err = c.do(ctx, r)
	return o.errorFor(err)
}

// ErrAckLost: the kernel handled the op (it handles every request it
// receives) but its answer may have been lost because the socket's
// receive buffer overflowed (ENOBUFS), so whether it succeeded is unknown.
var ErrAckLost = errors.New("acknowledgement lost: outcome unknown")

// Apply carries out ops in order, many per system call, and returns one
// result per op (nil for success), in the same order. Like the kernel, it
// goes on after a failed op: each result says what happened to its op,
// exactly as the single-op methods would have said. The error is not nil
// when the socket failed or ctx ended; results of ops not carried out
// then hold that error.
//
// The requests go out in windows, each in one sendmsg; only the last of a
// window asks for an acknowledgement (the kernel reports every failure
// anyway), so a window costs one system call each way. Windows are sized
// so that the answers fit in the socket's receive buffer even if every
// request fails.
func (c *Client) Apply(ctx context.Context, ops []Op) ([]error, error) {
	results := make([]error, len(ops))
	reqs := make([]request, len(ops))
	sendable := make([]int, 0, len(ops))
	var enc attrEncoder
	for i, o := range ops {
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
	done := 0
	deadline, _ := ctx.Deadline()
	err := c.session(ctx, func(l link) error {
		window := ackWindow(l)
		var buf []byte
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
		return nil
	})
	if err != nil {
		// Ops not answered carry the error that stopped the batch.
		for _, i := range sendable[done:] {
			if results[i] == nil {
				results[i] = ops[i].errorFor(err)
			}
		}
		return results, opError("apply", fmt.Sprintf("%d operations", len(ops)), err, nil)
	}
	return results, nil
}

// collectAnswers reads the answers to one window: an error message for
// each request the kernel refused, and the acknowledgement (or error) of
// the last one, which the kernel sends after all the others. Requests
// without an error succeeded. If the socket overflowed (ENOBUFS), the
// answers still queued are read and every request without one gets
// ErrAckLost: it may have failed with its error dropped.
func collectAnswers(l link, deadline time.Time, seqs map[uint32]int, last uint32, ops []Op, results []error) (bool, error) {
	answered := make(map[uint32]bool, 8)
	record := func(seq uint32, errno unix.Errno) error {
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
			if errors.Is(err, unix.ENOBUFS) && !draining {
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
			if m.typ != unix.NLMSG_ERROR {
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
