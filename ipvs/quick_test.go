package ipvs

import (
	"context"
	"net/netip"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// sendRecorder notes which send each request went out with.
type sendRecorder struct {
	link
	quick []bool
}

func (r *sendRecorder) send(b []byte) error {
	r.quick = append(r.quick, false)
	return r.link.send(b)
}

func (r *sendRecorder) sendQuick(b []byte) error {
	r.quick = append(r.quick, true)
	return r.link.sendQuick(b)
}

// TestQuickSends: reads, destination changes and service deletions go out
// with the quick send; a service change does once a change that named the
// same scheduler and persistence engine succeeded (their modules are
// loaded); a flush never does.
func TestQuickSends(t *testing.T) {
	ctx := context.Background()
	refuse := false
	c, _ := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		if refuse {
			return nltest.Error(int(syscall.EEXIST), []netlink.Message{req})
		}
		return ackOf(req), nil
	})
	rec := &sendRecorder{link: c.lk}
	c.lk = rec
	svc := func(port uint16, sched, pe string) Service {
		return Service{Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: port, Scheduler: sched, PEName: pe,
			Flags: FlagPersistent, Timeout: 60}
	}
	steps := []struct {
		name  string
		do    func() error
		quick bool
	}{
		{"first rr service", func() error { return c.CreateService(ctx, svc(1, "rr", "")) }, false},
		{"second rr service", func() error { return c.CreateService(ctx, svc(2, "rr", "")) }, true},
		{"rr service with a new pe", func() error { return c.CreateService(ctx, svc(3, "rr", "sip")) }, false},
		{"rr service with that pe", func() error { return c.UpdateService(ctx, svc(3, "rr", "sip")) }, true},
		{"default scheduler", func() error { return c.CreateService(ctx, svc(4, "", "")) }, false},
		{"wlc by name", func() error { return c.CreateService(ctx, svc(5, "wlc", "")) }, true},
		{"refused sh service", func() error {
			refuse = true
			defer func() { refuse = false }()
			if err := c.CreateService(ctx, svc(9, "sh", "")); err == nil {
				t.Error("the refused service was created")
			}
			return nil
		}, false},
		{"sh after a refusal", func() error { return c.CreateService(ctx, svc(6, "sh", "")) }, false},
		{"destination", func() error {
			return c.CreateDestination(ctx, svc(1, "", "").Key(), Destination{Addr: netip.MustParseAddr("10.0.0.2")})
		}, true},
		{"service deletion", func() error { return c.DeleteService(ctx, svc(1, "", "").Key()) }, true},
		{"flush", func() error { return c.Flush(ctx) }, false},
	}
	var want []bool
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		want = append(want, s.quick)
		if len(rec.quick) != len(want) {
			t.Fatalf("%s: %d sends, want %d", s.name, len(rec.quick), len(want))
		}
	}
	if diff := cmp.Diff(want, rec.quick); diff != "" {
		t.Errorf("quick sends (-want +got):\n%s", diff)
	}
}
