package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

// sendsLink is a windowAckLink that records how each system call went
// out: the number of requests, and whether it was the raw (quick) send.
type sendsLink struct {
	windowAckLink
	sends []sendCall
	fail  int // the call that fails with errSend, counting from 1; 0: none
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
	return l.windowAckLink.send(b)
}

func (l *sendsLink) send(b []byte) error      { return l.record(b, false) }
func (l *sendsLink) sendQuick(b []byte) error { return l.record(b, true) }
func (l *sendsLink) receiveBuffer() int       { return 8 << 20 } // windows of 1,024

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
