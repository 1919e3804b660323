package restore_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/cmdgen"
	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// FuzzRulesPlanApply: any rules text, parsed (ParseRules gives the same
// rules and plans as Parse), planned (as -R --atomic or
// -R --sync --atomic) against a table and applied all or nothing on the
// in-memory kernel, with or without a kernel failure at some step, leaves
// the kernel exactly at the plan's target, or unchanged (unless the
// failure was injected into the undoing itself).
func FuzzRulesPlanApply(f *testing.F) {
	f.Add(rules200(), false, uint8(0))
	f.Add(rules200(), true, uint8(3))
	f.Add("-C\n-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 7\n--set 5 0 9\n", true, uint8(0))
	f.Add("-a -t 10.0.0.9:80 -r 10.0.1.1\n", false, uint8(0))
	f.Add("-E -f 7 -s nosuch\n", false, uint8(0))
	g := cmdgen.New(1)
	for i := 0; i < 40; i++ {
		f.Add(g.Rules(nil), i%2 == 0, uint8(i%5))
	}
	f.Fuzz(func(t *testing.T, text string, sync bool, failAt uint8) {
		rules, err := restore.Parse(strings.NewReader(text), restore.Options{Resolver: cmdline.StaticResolver{}})
		if err != nil {
			var se *restore.SyntaxError
			if !errors.As(err, &se) || se.Msg == "" {
				t.Fatalf("parse error %#v", err)
			}
			compactRules(t, text, reconcile.State{})
			return
		}
		c, k := newClient(t)
		applyPlain(t, c, initial)
		before := readState(t, c)
		current := currentTable(t, c)
		compactRules(t, text, current)
		target := reconcile.NewTable(current)
		plan, err := restore.NewPlan(rules, current)
		if sync {
			plan, err = restore.SyncPlan(rules, current)
		}
		if err != nil {
			var pe *restore.PlanError
			var se *restore.SyntaxError
			if !errors.As(err, &pe) && !errors.As(err, &se) && !errors.Is(err, restore.ErrNotTableChange) {
				t.Fatalf("plan error %#v", err)
			}
			if diff := cmp.Diff(before, readState(t, c), cmpValues, ignoreCounters); diff != "" {
				t.Fatalf("a plan that failed changed the table:\n%s", diff)
			}
			return
		}
		for _, s := range plan.All() {
			if err := target.Apply(s.Op); err != nil {
				t.Fatalf("step %+v does not apply to the plan's own table: %v", s.Op, err)
			}
		}
		ts := target.State()
		want := state{ts.Services, ts.Timeouts}
		for i := range want.Entries {
			sortDests(want.Entries[i].Destinations)
		}
		sortEntries(want.Entries)
		if failAt > 0 {
			var writes atomic.Int32
			k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
				if r.IsIPVS() && !r.IsRead() && writes.Add(1) == int32(failAt) {
					return ipvstest.Fail(unix.EIO) // an errno the kernel does not use here
				}
				return ipvstest.Fault{}
			})
		}
		err = plan.ApplyAtomic(context.Background(), c)
		k.InjectFault(nil)
		after := readState(t, c)
		if err != nil {
			var ae *reconcile.AtomicError
			if !errors.As(err, &ae) {
				t.Fatalf("apply: %v", err)
			}
			if ae.Rollback != nil {
				if errors.Is(ae.Rollback, unix.EIO) {
					return // the failure was injected into the undoing
				}
				t.Fatalf("undoing failed without a reason: %v", err)
			}
			if diff := cmp.Diff(before, after, cmpValues, ignoreCounters); diff != "" {
				t.Fatalf("a failed all-or-nothing run changed the table (-before +after):\n%s", diff)
			}
			return
		}
		if diff := cmp.Diff(want, after, cmpValues, ignoreCounters); diff != "" {
			t.Fatalf("the table is not the plan's target (-target +after):\n%s\nrules:\n%s", diff, text)
		}
	})
}
