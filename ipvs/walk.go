package ipvs

import (
	"encoding/binary"
	"runtime"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// walkDestinations runs the destination dumps of n services on dl, the key
// of service i from keyOf, and calls fn with each one's destinations,
// decoded into c's reused slice. It returns the key of the service it
// stopped at, and why.
//
// With more than one CPU the dumps run on a goroutine of their own, up to
// walkAhead services ahead of the decoding and fn: the kernel builds a
// dump inside the system calls that read it, so with a second CPU the
// decoding (and the caller's formatting) overlaps the kernel's work.
func (c *Client) walkDestinations(dl link, n int, keyOf func(i int) (ServiceKey, error), fn func(i int, dests []Destination) error) (ServiceKey, error) {
	if n > 1 && walkAheadOn() {
		return c.walkDumpsAhead(dl, n, keyOf, fn)
	}
	var k ServiceKey
	for i := range n {
		var err error
		if k, err = keyOf(i); err != nil {
			return k, err
		}
		dests, err := c.dumpDestinationsReused(dl, k)
		if err != nil {
			return k, err
		}
		if err := fn(i, dests); err != nil {
			return k, err
		}
	}
	return k, nil
}

// walkAheadOn reports whether walks dump ahead on a goroutine of their own
// (tests set it).
var walkAheadOn = func() bool { return runtime.GOMAXPROCS(0) > 1 }

// walkAhead is how many services' dumps may wait to be decoded.
const walkAhead = 8

// A dumpBatch is one service's destination dump as read: the payload of
// each message, after its length in 4 bytes.
type dumpBatch struct {
	i        int
	k        ServiceKey
	payloads []byte
	err      error // of the key or the dump
}

// walkDumpsAhead is walkDestinations with the dumps on a goroutine of
// their own. Only that goroutine uses dl and c's request buffers until
// the walk returns, which waits for it.
func (c *Client) walkDumpsAhead(dl link, n int, keyOf func(i int) (ServiceKey, error), fn func(i int, dests []Destination) error) (k ServiceKey, err error) {
	ready := make(chan *dumpBatch, walkAhead)
	free := make(chan *dumpBatch, walkAhead+2)
	stop := make(chan struct{})
	go func() {
		defer close(ready)
		for i := range n {
			var b *dumpBatch
			select {
			case <-stop:
				return
			case b = <-free:
			default:
				b = new(dumpBatch)
			}
			b.i, b.payloads = i, b.payloads[:0]
			if b.k, b.err = keyOf(i); b.err == nil {
				b.err = c.dumpRaw(dl, b)
			}
			select {
			case ready <- b:
			case <-stop:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		// However the walk ends, the dumping goroutine is done with dl
		// before the session ends.
		close(stop)
		for range ready {
		}
	}()
	for b := range ready {
		k = b.k
		if b.err != nil {
			return k, b.err
		}
		dests, err := c.decodeBatch(b)
		if err != nil {
			return k, err
		}
		if err := fn(b.i, dests); err != nil {
			return k, err
		}
		select {
		case free <- b:
		default:
		}
	}
	return k, nil
}

// dumpRaw runs b.k's destination dump on dl and keeps its payloads in b.
func (c *Client) dumpRaw(dl link, b *dumpBatch) error {
	c.keyBuf = appendServiceKeyAttr(c.keyBuf[:0], b.k)
	return c.dumpOn(dl, request{cmd: uapi.CmdGetDest, attrs: c.keyBuf}, func(m []byte) error {
		b.payloads = binary.NativeEndian.AppendUint32(b.payloads, uint32(len(m)))
		b.payloads = append(b.payloads, m...)
		return nil
	})
}

// decodeBatch decodes b's destinations into c's reused slice, as
// dumpDestinationsReused does; the first that fails ends it.
func (c *Client) decodeBatch(b *dumpBatch) ([]Destination, error) {
	dests := c.destBuf[:0]
	var err error
	for p := b.payloads; len(p) >= 4 && err == nil; {
		m := p[4 : 4+binary.NativeEndian.Uint32(p)]
		p = p[len(m)+4:]
		dests, err = appendDestinationOf(dests, m, b.k.Family)
	}
	c.keepDestBuf(dests)
	return dests, err
}

// appendDestinationOf decodes the destination of a GET_DEST reply's
// payload m and appends it to dests.
func appendDestinationOf(dests []Destination, m []byte, svcFamily Family) ([]Destination, error) {
	b, err := nested(m, uapi.CmdAttrDest)
	if err != nil {
		return dests, err
	}
	d, err := decodeDestination(b, svcFamily)
	if err != nil {
		return dests, err
	}
	return append(dests, d), nil
}
