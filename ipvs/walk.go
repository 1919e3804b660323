package ipvs

import (
	"encoding/binary"
	"runtime"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// walkDestinations runs the destination dumps of n services on dl, the key
// of service i from keyOf, and calls fn with each one's destinations,
// decoded with o into c's reused slice. It returns the key of the service
// it stopped at, and why.
//
// With more than one CPU the dumps run on a goroutine of their own, up to
// walkAhead services ahead of the decoding and fn: the kernel builds a
// dump inside the system calls that read it, so with a second CPU the
// decoding (and the caller's formatting) overlaps the kernel's work.
func (c *Client) walkDestinations(dl link, n int, keyOf func(i int) (ServiceKey, error), o ReadOption, fn func(i int, dests []Destination) error) (ServiceKey, error) {
	if n > 1 && walkAheadOn() {
		return c.walkDumpsAhead(dl, n, keyOf, o, fn)
	}
	var k ServiceKey
	for i := range n {
		var err error
		if k, err = keyOf(i); err != nil {
			return k, err
		}
		dests, err := c.dumpDestinationsReused(dl, k, o)
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

// A dumpBatch is the destination dumps of consecutive services as read:
// the payload of each message, after its length in 4 bytes. The dumping
// goroutine hands them over a batch at a time: handing over each service
// on its own woke the other goroutine up, with a system call, thousands
// of times a listing.
type dumpBatch struct {
	first    int           // the index of the batch's first service
	svcs     []batchedDump // in order
	payloads []byte
}

// A batchedDump is one service's dump in a batch.
type batchedDump struct {
	k   ServiceKey
	end int   // of its payloads
	err error // of its key or its dump: the batch's last
}

// The dumping goroutine hands a batch over when it holds batchBytes of
// payloads or batchServices services, and keeps at most walkAhead batches
// waiting. Each hand-over can wake the other goroutine's thread: with ten
// destinations a service (about 3 KiB of dump), 32 KiB batches woke it
// for every tenth service.
const (
	batchBytes    = 256 << 10
	batchServices = 128
	walkAhead     = 4
)

// walkDumpsAhead is walkDestinations with the dumps on a goroutine of
// their own. Only that goroutine uses dl and c's request buffers until
// the walk returns, which waits for it.
func (c *Client) walkDumpsAhead(dl link, n int, keyOf func(i int) (ServiceKey, error), o ReadOption, fn func(i int, dests []Destination) error) (k ServiceKey, err error) {
	ready := make(chan *dumpBatch, walkAhead)
	free := make(chan *dumpBatch, walkAhead+2)
	stop := make(chan struct{})
	go func() {
		defer close(ready)
		c.dumpAhead(dl, n, keyOf, ready, free, stop)
	}()
	defer func() {
		// However the walk ends, the dumping goroutine is done with dl
		// before the session ends.
		close(stop)
		for range ready {
		}
	}()
	for b := range ready {
		from := 0
		for j, d := range b.svcs {
			k = d.k
			if d.err != nil {
				return k, d.err
			}
			dests, err := c.decodeDump(b.payloads[from:d.end], d.k.Family, o)
			if err != nil {
				return k, err
			}
			if err := fn(b.first+j, dests); err != nil {
				return k, err
			}
			from = d.end
		}
		select {
		case free <- b:
		default:
		}
	}
	return k, nil
}

// dumpAhead runs the dumps of walkDumpsAhead and sends them to ready in
// batches, until the first error or stop.
func (c *Client) dumpAhead(dl link, n int, keyOf func(i int) (ServiceKey, error), ready, free chan *dumpBatch, stop chan struct{}) {
	var b *dumpBatch
	for i := 0; i < n; {
		if b == nil {
			select {
			case <-stop:
				return
			case b = <-free:
			default:
				b = new(dumpBatch)
			}
			b.first, b.svcs, b.payloads = i, b.svcs[:0], b.payloads[:0]
		}
		k, err := keyOf(i)
		if err == nil {
			err = c.dumpRaw(dl, k, b)
		}
		b.svcs = append(b.svcs, batchedDump{k: k, end: len(b.payloads), err: err})
		i++
		if err == nil && i < n && len(b.payloads) < batchBytes && len(b.svcs) < batchServices {
			continue
		}
		select {
		case ready <- b:
		case <-stop:
			return
		}
		if err != nil {
			return
		}
		b = nil
	}
}

// dumpRaw runs k's destination dump on dl and appends its payloads to b.
func (c *Client) dumpRaw(dl link, k ServiceKey, b *dumpBatch) error {
	c.keyBuf = appendServiceKeyAttr(c.keyBuf[:0], k)
	return c.dumpOn(dl, request{cmd: uapi.CmdGetDest, attrs: c.keyBuf}, func(m []byte) error {
		b.payloads = binary.NativeEndian.AppendUint32(b.payloads, uint32(len(m)))
		b.payloads = append(b.payloads, m...)
		return nil
	})
}

// decodeDump decodes the payloads of one dump in a batch into c's reused
// slice, as dumpDestinationsReused does; the first that fails ends it.
func (c *Client) decodeDump(p []byte, svcFamily Family, o ReadOption) ([]Destination, error) {
	dests := c.destBuf[:0]
	var err error
	for len(p) >= 4 && err == nil {
		m := p[4 : 4+binary.NativeEndian.Uint32(p)]
		p = p[len(m)+4:]
		dests, err = appendDestinationOf(dests, m, svcFamily, o)
	}
	c.keepDestBuf(dests)
	return dests, err
}

// appendDestinationOf decodes the destination of a GET_DEST reply's
// payload m with o and appends it to dests.
func appendDestinationOf(dests []Destination, m []byte, svcFamily Family, o ReadOption) ([]Destination, error) {
	b, err := nested(m, uapi.CmdAttrDest)
	if err != nil {
		return dests, err
	}
	d, err := decodeDestination(b, svcFamily, o)
	if err != nil {
		return dests, err
	}
	return append(dests, d), nil
}
