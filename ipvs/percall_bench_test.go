package ipvs

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// ackLink acknowledges every request at once: what a call costs on the
// client's side of the socket when the kernel takes no time.
type ackLink struct {
	seq uint32
	buf []byte
}

func (l *ackLink) send(b []byte) error {
	l.seq = parseHeader(b).seq
	return nil
}
func (l *ackLink) sendQuick(b []byte) error { return l.send(b) }
func (l *ackLink) recv() ([]byte, error) {
	l.buf = appendError(l.buf[:0], l.seq, 0)
	return l.buf, nil
}
func (l *ackLink) SetDeadline(t time.Time) error     { return nil }
func (l *ackLink) setReadDeadline(t time.Time) error { return nil }
func (l *ackLink) setTimeout(d time.Duration)        {}
func (l *ackLink) receiveBuffer() int                { return 0 }
func (l *ackLink) close() error                      { return nil }

func ackClient(cfg Config) *Client {
	c := &Client{cfg: cfg, turn: make(chan struct{}, 1), lk: &ackLink{}, family: 0x20}
	c.life, c.shutdown = context.WithCancelCause(context.Background())
	return c
}

// BenchmarkCallCreateDestination is one CreateDestination call, as a
// program that waits for each object's answer (moby/ipvs's API) makes it.
func BenchmarkCallCreateDestination(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
		ctx  context.Context
	}{
		{"background", Config{}, context.Background()},
		{"calltimeout", Config{CallTimeout: 30 * time.Second}, context.Background()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := ackClient(bc.cfg)
			k := ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
			d := Destination{Addr: netip.MustParseAddr("172.16.0.1"), Port: 8080, ForwardMethod: Masquerade, Weight: 1}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.CreateDestination(bc.ctx, k, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallCreateService is one CreateService call of a scheduler the
// client has loaded.
func BenchmarkCallCreateService(b *testing.B) {
	c := ackClient(Config{CallTimeout: 30 * time.Second})
	ctx := context.Background()
	s := Service{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "wlc"}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.CreateService(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

// windowAckLink acknowledges the last request of each window, as the
// kernel does when every request in it succeeds.
type windowAckLink struct{ ackLink }

func (l *windowAckLink) send(b []byte) error {
	for len(b) > 0 {
		h := parseHeader(b)
		l.seq = h.seq
		b = b[nlmsgAlign(int(h.length)):]
	}
	return nil
}
func (l *windowAckLink) sendQuick(b []byte) error { return l.send(b) }

// BenchmarkApplyDestinations is Apply of 4,096 new destinations when the
// kernel takes no time: what the client spends preparing, encoding and
// sending them.
func BenchmarkApplyDestinations(b *testing.B) {
	c := ackClient(Config{})
	c.lk = &windowAckLink{}
	k := ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	ops := make([]Op, 4096)
	for i := range ops {
		d := Destination{Addr: netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), Port: 8080, ForwardMethod: Masquerade, Weight: 1}
		ops[i] = CreateDestination(k, d)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Apply(ctx, ops); err != nil {
			b.Fatal(err)
		}
	}
}
