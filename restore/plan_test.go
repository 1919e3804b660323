package restore_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

// ipvsCmdDelService is IPVS_CMD_DEL_SERVICE.
const ipvsCmdDelService = 3

var cmpValues = cmpopts.EquateComparable(netip.Addr{}, ipvs.Netmask{})

func parseRules(t *testing.T, text string) []restore.Rule {
	t.Helper()
	rules, err := restore.Parse(strings.NewReader(text), restore.Options{Resolver: noNames{}})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return rules
}

// noNames resolves no name.
type noNames struct{}

func (noNames) LookupIPv4(string) (netip.Addr, bool)     { return netip.Addr{}, false }
func (noNames) LookupPort(string, string) (uint16, bool) { return 0, false }

// state is what must be unchanged after a failed all-or-nothing run.
type state struct {
	Entries  []ipvs.ServiceEntry
	Timeouts ipvs.Timeouts
}

func readState(t *testing.T, c *ipvs.Client) state {
	t.Helper()
	e, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	to, err := c.Timeouts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Sort: a destination that is re-created after a rollback comes back
	// newest; -Sn (sorted) is what must be equal.
	for i := range e {
		sortDests(e[i].Destinations)
	}
	sortEntries(e)
	return state{e, to}
}

func sortDests(d []ipvs.Destination) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j].Key().String() < d[j-1].Key().String(); j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

func sortEntries(e []ipvs.ServiceEntry) {
	for i := 1; i < len(e); i++ {
		for j := i; j > 0 && e[j].Service.Key().String() < e[j-1].Service.Key().String(); j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
}

func newClient(t *testing.T) (*ipvs.Client, *ipvstest.Kernel) {
	t.Helper()
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, k
}

// initial is a table the restores below change: every kind of change has
// something to act on.
const initial = `
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 2 -x 100 -y 10
-A -u 10.0.0.2:53 -s wrr -p 60
-a -u 10.0.0.2:53 -r 10.0.1.3:53 -i
-A -f 7 -s sh -b sh-port
-a -f 7 -r 10.0.1.4 -g
--set 1000 100 200
`

// rules200 is a 200-change restore touching every kind of change.
func rules200() string {
	var b strings.Builder
	b.WriteString("-E -t 10.0.0.1:80 -s wlc -p 30\n")
	b.WriteString("-e -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5\n")
	b.WriteString("-d -t 10.0.0.1:80 -r 10.0.1.2:80\n")
	b.WriteString("-D -u 10.0.0.2:53\n")
	b.WriteString("--set 0 50 0\n")
	for i := 0; len(strings.Split(b.String(), "\n")) <= 196; i++ {
		fmt.Fprintf(&b, "-A -t 10.2.%d.%d:80 -s rr\n", i/250, i%250)
		fmt.Fprintf(&b, "-a -t 10.2.%d.%d:80 -r 10.3.0.%d:80 -m\n", i/250, i%250, i%250+1)
	}
	b.WriteString("-C\n")
	b.WriteString("-A -t 10.0.0.9:443 -s rr\n")
	return b.String()
}

func TestAtomicRestoreFaultAtEveryStep(t *testing.T) {
	probe, _ := newClient(t)
	applyPlain(t, probe, initial)
	before := readState(t, probe)
	// Each line of the -C expands to one deletion per service.
	n := planAgainst(t, probe, rules200()).Len()
	if n < 200 {
		t.Fatalf("only %d steps", n)
	}
	for fail := 0; fail < n; fail++ {
		c, k := newClient(t)
		applyPlain(t, c, initial)
		plan := planAgainst(t, c, rules200())
		var seen atomic.Int32
		var refused ipvstest.Request
		k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
			if r.IsIPVS() && !r.IsRead() {
				if int(seen.Add(1))-1 == fail {
					refused = r
					return ipvstest.Fail(unix.EINVAL)
				}
			}
			return ipvstest.Fault{}
		})
		err := plan.ApplyAtomic(context.Background(), c)
		k.InjectFault(nil)
		var ae *reconcile.AtomicError
		if !errors.As(err, &ae) || ae.Rollback != nil || !errors.Is(err, unix.EINVAL) {
			t.Fatalf("failing request %d: %v", fail, err)
		}
		// Apply sends the changes of different services in the kernel's
		// order, not the plan's: the error names the step whose request
		// was refused.
		key, _ := refused.ServiceKey()
		if refused.Command != ipvsCommand[ae.Step.Op.Kind] || refused.Command != ipvsCmdSetConfig && key != ae.Step.Op.Service.Key() {
			t.Errorf("failing request %d (command %d, %v): error names step %+v", fail, refused.Command, key, ae.Step.Op)
		}
		if diff := cmp.Diff(before, readState(t, c), cmpValues, ignoreCounters); diff != "" {
			t.Fatalf("failing step %d: table not restored (-before +after):\n%s", fail, diff)
		}
	}
	// And without a fault the whole restore goes through.
	c, _ := newClient(t)
	applyPlain(t, c, initial)
	if err := planAgainst(t, c, rules200()).ApplyAtomic(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	after := readState(t, c)
	if len(after.Entries) != 1 || after.Timeouts.TCPFin != 50*time.Second {
		t.Errorf("after the restore: %+v", after)
	}
}

// ipvsCommand is the IPVS_CMD_* of each kind of change.
var ipvsCommand = map[ipvs.OpKind]uint8{
	ipvs.OpCreateService: 1, ipvs.OpUpdateService: 2, ipvs.OpDeleteService: ipvsCmdDelService,
	ipvs.OpCreateDestination: 5, ipvs.OpUpdateDestination: 6, ipvs.OpDeleteDestination: 7,
	ipvs.OpSetTimeouts: ipvsCmdSetConfig,
}

// ipvsCmdSetConfig is IPVS_CMD_SET_CONFIG.
const ipvsCmdSetConfig = 12

var ignoreCounters = cmp.Options{
	cmpopts.IgnoreFields(ipvs.Service{}, "Stats"),
	cmpopts.IgnoreFields(ipvs.Destination{}, "Stats", "ActiveConns", "InactiveConns", "PersistentConns"),
}

func applyPlain(t *testing.T, c *ipvs.Client, text string) {
	t.Helper()
	for _, r := range parseRules(t, text) {
		if r.Op.Kind == 0 {
			t.Fatalf("applyPlain: %s", r.Text)
		}
		if results, err := c.Apply(context.Background(), []ipvs.Op{r.Op}); err != nil || results[0] != nil {
			t.Fatalf("%s: %v %v", r.Text, err, results)
		}
	}
}

func currentTable(t *testing.T, c *ipvs.Client) reconcile.State {
	t.Helper()
	s, err := reconcile.Read(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func planAgainst(t *testing.T, c *ipvs.Client, text string) *reconcile.Plan {
	t.Helper()
	plan, err := restore.NewPlan(parseRules(t, text), currentTable(t, c))
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestPlanRefusesBeforeSending(t *testing.T) {
	c, k := newClient(t)
	applyPlain(t, c, initial)
	t1, t2 := currentTable(t, c), currentTable(t, c)
	sent := k.Requests()
	_, err := restore.NewPlan(parseRules(t, "-A -t 10.9.9.9:80\n-A -t 10.0.0.1:80\n"), t1)
	var pe *restore.PlanError
	if !errors.As(err, &pe) || pe.Line.Num != 2 || !errors.Is(err, unix.EEXIST) || !errors.Is(err, ipvs.ErrServiceExists) {
		t.Errorf("Plan of a duplicate service: %v", err)
	}
	if want := "line 2: create service TCP 10.0.0.1:80: service already exists"; err == nil || err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	if _, err := restore.NewPlan(parseRules(t, "-Ln\n"), t2); !errors.Is(err, restore.ErrNotTableChange) {
		t.Errorf("Plan of a listing: %v", err)
	}
	if n := k.Requests() - sent; n != 0 {
		t.Errorf("planning sent %d requests", n)
	}
}

// TestSync: the table becomes the rules' table with changes in place; a
// second sync plans nothing; untouched services are never re-created.
func TestSync(t *testing.T) {
	c, k := newClient(t)
	applyPlain(t, c, initial)
	want := `
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3
-a -t 10.0.0.1:80 -r 10.0.1.9:80 -m -w 1
-A -f 7 -s sh -b sh-port
-a -f 7 -r 10.0.1.4 -g
-A -t 10.0.0.5:22 -s lc
--set 1000 100 300
`
	sync, err := restore.SyncPlan(parseRules(t, want), currentTable(t, c))
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for _, s := range sync.All() {
		plan = append(plan, s.String())
	}
	wantPlan := []string{
		"-a -t 10.0.0.1:80 -r 10.0.1.9:80 -m -w 1",
		"-e -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3",
		"-d -t 10.0.0.1:80 -r 10.0.1.2:80",
		"-A -t 10.0.0.5:22 -s lc",
		"-D -u 10.0.0.2:53",
		"--set 0 0 300",
	}
	if diff := cmp.Diff(wantPlan, plan); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	var deleted []string
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == ipvsCmdDelService {
			deleted = append(deleted, fmt.Sprint(r.Index))
		}
		return ipvstest.Fault{}
	})
	if err := sync.ApplyAtomic(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 1 {
		t.Errorf("%d service deletions, want only the one not in the rules", len(deleted))
	}
	again, err := restore.SyncPlan(parseRules(t, want), currentTable(t, c))
	if err != nil || again.Len() != 0 {
		t.Errorf("second sync plans %v (%v)", again, err)
	}
	// Applying the printed plan with a plain restore gives the same table.
	c2, _ := newClient(t)
	applyPlain(t, c2, initial)
	applyPlain(t, c2, sync.String())
	if diff := cmp.Diff(readState(t, c), readState(t, c2), cmpValues, ignoreCounters); diff != "" {
		t.Errorf("printed plan restores another table (-sync +plan):\n%s", diff)
	}
}

// TestSyncNoChangeIsCheap: a sync of 10,000 services that are already in
// place plans nothing, in well under a second.
func TestSyncNoChangeIsCheap(t *testing.T) {
	var entries []ipvs.ServiceEntry
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		a := netip.AddrFrom4([4]byte{10, 7, byte(i >> 8), byte(i)})
		s := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a, Port: 80, Scheduler: "rr"}
		e := ipvs.ServiceEntry{Service: s}
		fmt.Fprintf(&b, "-A -t %v:80 -s rr\n", a)
		for j := 0; j < 10; j++ {
			d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{10, 8, byte(j), byte(i)}), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1}
			e.Destinations = append([]ipvs.Destination{d}, e.Destinations...)
			fmt.Fprintf(&b, "-a -t %v:80 -r %v:80 -m -w 1\n", a, d.Addr)
		}
		entries = append(entries, e)
	}
	rules := parseRules(t, b.String())
	start := time.Now()
	plan, err := restore.SyncPlan(rules, reconcile.State{Services: entries})
	if err != nil || plan.Len() != 0 {
		t.Fatalf("%v, %v", plan, err)
	}
	t.Logf("sync plan of 10,000 x 10 unchanged: %v", time.Since(start))
}

// TestAtomicRestoreCancelledAtEveryStep: however far the kernel got when
// the context ends (a signal, in goipvsadm), the run is undone. The
// requests of the window in flight were carried out but may be
// unanswered: they must be undone too.
func TestAtomicRestoreCancelledAtEveryStep(t *testing.T) {
	probe, _ := newClient(t)
	applyPlain(t, probe, initial)
	before := readState(t, probe)
	full := planAgainst(t, probe, rules200())
	n := full.Len()
	if err := full.ApplyAtomic(context.Background(), probe); err != nil {
		t.Fatal(err)
	}
	after := readState(t, probe)
	for at := 0; at < n; at++ {
		c, k := newClient(t)
		applyPlain(t, c, initial)
		plan := planAgainst(t, c, rules200())
		ctx, cancel := context.WithCancel(context.Background())
		var seen atomic.Int32
		k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
			if r.IsIPVS() && !r.IsRead() && int(seen.Add(1))-1 == at {
				cancel()
			}
			return ipvstest.Fault{}
		})
		err := plan.ApplyAtomic(ctx, c)
		cancel()
		k.InjectFault(nil)
		if err == nil {
			// The last window was answered before the cancellation
			// was seen: the run is complete.
			if diff := cmp.Diff(after, readState(t, c), cmpValues, ignoreCounters); diff != "" {
				t.Fatalf("cancelled at step %d, no error: table not the restored one (-want +got):\n%s", at, diff)
			}
			continue
		}
		var ae *reconcile.AtomicError
		if !errors.As(err, &ae) || ae.Rollback != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled at step %d: %v", at, err)
		}
		if diff := cmp.Diff(before, readState(t, c), cmpValues, ignoreCounters); diff != "" {
			t.Fatalf("cancelled at step %d: table not restored (-before +after):\n%s", at, diff)
		}
	}
}
