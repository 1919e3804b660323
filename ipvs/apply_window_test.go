package ipvs

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// sendsLink is a windowAckLink that records how each system call went
// out: the number of requests, and whether it was the raw (quick) send.
type sendsLink struct {
	windowAckLink
	sends []sendCall
	fail  int    // the call that fails with errSend, counting from 1; 0: none
	rcv   int    // the receive buffer; 0: 8 MiB, windows of 1,024
	bytes []byte // everything sent
}

var errSend = errors.New("sendmsg: no buffer space available")

type sendCall struct {
	requests int
	quick    bool
}

func (l *sendsLink) record(b []byte, quick bool) error {
	n := 0
	for r := b; len(r) > 0; r = r[nlmsgAlign(int(parseHeader(r).length)):] {
		n++
	}
	l.sends = append(l.sends, sendCall{n, quick})
	if len(l.sends) == l.fail {
		return errSend
	}
	l.bytes = append(l.bytes, b...)
	return l.windowAckLink.send(b)
}

func (l *sendsLink) send(b []byte) error      { return l.record(b, false) }
func (l *sendsLink) sendQuick(b []byte) error { return l.record(b, true) }
func (l *sendsLink) receiveBuffer() int       { return cmp.Or(l.rcv, 8<<20) }

// TestApplyQuickWindows: a window of destination changes goes out in raw
// system calls of at most quickChunk requests; a window with a service
// whose scheduler is not known to be loaded goes out in one
// scheduler-aware call, after which that scheduler's services are quick.
func TestApplyQuickWindows(t *testing.T) {
	c := ackClient(Config{})
	lk := &sendsLink{}
	c.lk = lk
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "rr"}
	dests := func(n int) []Op {
		ops := make([]Op, n)
		for i := range ops {
			d := Destination{Addr: netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), Port: 80, ForwardMethod: Masquerade, Weight: 1}
			ops[i] = CreateDestination(svc.Key(), d)
		}
		return ops
	}
	other := svc
	other.Port = 81
	for _, tc := range []struct {
		name string
		ops  []Op
		want []sendCall
	}{
		{"destinations", dests(300), []sendCall{{128, true}, {128, true}, {44, true}}},
		{"a new scheduler", append([]Op{CreateService(svc)}, dests(3)...), []sendCall{{4, false}}},
		{"a loaded scheduler", append([]Op{CreateService(other)}, dests(3)...), []sendCall{{4, true}}},
	} {
		lk.sends = nil
		results, err := c.Apply(context.Background(), tc.ops)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range results {
			if r != nil {
				t.Fatalf("%s: op %d: %v", tc.name, i, r)
			}
		}
		if len(lk.sends) != len(tc.want) {
			t.Fatalf("%s: sent %v, want %v", tc.name, lk.sends, tc.want)
		}
		for i := range tc.want {
			if lk.sends[i] != tc.want[i] {
				t.Fatalf("%s: sent %v, want %v", tc.name, lk.sends, tc.want)
			}
		}
	}
}

// TestApplyQuickWindowFails: when a raw send of a window fails, the
// requests sent before it have an unknown outcome and the rest the error.
func TestApplyQuickWindowFails(t *testing.T) {
	c := ackClient(Config{})
	c.lk = &sendsLink{fail: 2}
	k := ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	ops := make([]Op, 300)
	for i := range ops {
		ops[i] = DeleteDestination(k, DestinationKey{Addr: netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), Port: 80})
	}
	results, err := c.Apply(context.Background(), ops)
	if !errors.Is(err, errSend) {
		t.Fatalf("Apply: %v", err)
	}
	for i, r := range results {
		if lost := errors.Is(r, ErrAckLost); !errors.Is(r, errSend) || lost != (i < quickChunk) {
			t.Fatalf("op %d: %v", i, r)
		}
	}
}

// TestApplyAhead: filling a window while the one before is sent changes
// nothing that goes out: the same bytes in the same system calls, a
// scheduler loaded by one window makes the next window's services quick,
// and a failed send leaves the same results.
func TestApplyAhead(t *testing.T) {
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "rr"}
	var ops []Op
	for s := range 4 {
		svc.Port = uint16(80 + s)
		ops = append(ops, CreateService(svc))
		for i := range 7 {
			d := Destination{Addr: netip.AddrFrom4([4]byte{172, 16, byte(s), byte(i)}), Port: 80, ForwardMethod: Masquerade, Weight: 1}
			ops = append(ops, CreateDestination(svc.Key(), d))
		}
	}
	run := func(ahead bool, fail int) (*sendsLink, []error, error) {
		defer SetApplyAhead(ahead)()
		c := ackClient(Config{})
		lk := &sendsLink{rcv: 8 * ackSize, fail: fail} // windows of 8
		c.lk = lk
		results, err := c.Apply(context.Background(), ops)
		return lk, results, err
	}
	lk, results, err := run(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != nil {
			t.Fatalf("op %d: %v", i, r)
		}
	}
	want := []sendCall{{8, false}, {8, true}, {8, true}, {8, true}}
	if !slices.Equal(lk.sends, want) {
		t.Errorf("sent %v, want %v", lk.sends, want)
	}
	seq, _, _ := run(false, 0)
	if !bytes.Equal(lk.bytes, seq.bytes) {
		t.Errorf("filled ahead, the requests differ from those filled in turn")
	}
	for _, fail := range []int{2, 4} {
		_, aheadResults, aheadErr := run(true, fail)
		_, seqResults, seqErr := run(false, fail)
		if !errors.Is(aheadErr, errSend) || !errors.Is(seqErr, errSend) {
			t.Fatalf("send %d fails: Apply returned %v and %v", fail, aheadErr, seqErr)
		}
		for i := range ops {
			a, s := aheadResults[i], seqResults[i]
			if (a == nil) != (s == nil) || a != nil && a.Error() != s.Error() {
				t.Fatalf("send %d fails: op %d: %v filled ahead, %v in turn", fail, i, a, s)
			}
			if sent := i < (fail-1)*8; (a == nil) != sent {
				t.Fatalf("send %d fails: op %d: %v", fail, i, a)
			}
		}
	}
}
