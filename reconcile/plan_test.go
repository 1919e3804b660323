package reconcile_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestPlanKeepsSteps: a plan gives back every step it was given, in order
// and exactly, but for the counters of destinations, which it does not
// keep; steps naming the same service in turn, or not, and every kind of
// change round-trip.
func TestPlanKeepsSteps(t *testing.T) {
	tunneled := ipvs.Destination{Addr: netip.MustParseAddr("2001:db8::7"), Port: 443, ForwardMethod: ipvs.Tunnel,
		Weight: 9, UpperThreshold: 100, LowerThreshold: 10, TunnelType: ipvs.GUE, TunnelPort: 6080,
		TunnelFlags: ipvs.TunnelCsum}
	counted := real(4, 2)
	counted.ActiveConns, counted.InactiveConns, counted.PersistentConns = 5, 6, 7
	counted.Stats.Conns = 8
	withStats := dns
	withStats.Stats.InPkts = 3
	steps := []reconcile.Step{
		{Op: ipvs.CreateService(web), Line: 1},
		{Op: ipvs.CreateDestination(web.Key(), real(1, 1)), Line: 2},
		{Op: ipvs.CreateDestination(web.Key(), tunneled), Line: 3},
		{Op: ipvs.UpdateService(withStats)},
		{Op: ipvs.CreateDestination(web.Key(), counted), Line: 1 << 40},
		{Op: ipvs.SetTimeouts(ipvs.Timeouts{TCP: time.Minute}), Line: 7},
		{Op: ipvs.DeleteDestination(dns.Key(), real(3, 0).Key())},
		{Op: ipvs.Op{Kind: ipvs.OpCreateDestination, Service: web, Destination: real(5, 1)}},
		{Op: ipvs.SetTimeouts(ipvs.Timeouts{UDP: time.Hour})},
		{Op: ipvs.DeleteService(web.Key()), Line: 9},
		{Op: ipvs.Op{Kind: 200}},
	}
	want := make([]reconcile.Step, len(steps))
	copy(want, steps)
	uncounted := counted
	uncounted.ActiveConns, uncounted.InactiveConns, uncounted.PersistentConns = 0, 0, 0
	uncounted.Stats = ipvs.Stats{}
	want[4].Op.Destination = uncounted

	var p reconcile.Plan
	p.Append(steps[:3]...)
	p.Grow(100)
	p.Append(steps[3:]...)
	if p.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", p.Len(), len(want))
	}
	got := stepsOf(&p)
	for i := range want {
		if p.Step(i) != got[i] {
			t.Errorf("Step(%d) = %v, All gave %v", i, p.Step(i), got[i])
		}
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for i := range p.All() {
		if i == 1 {
			break
		}
	}
}

// TestPlanFromSource: a plan made from a StepSource reads its steps there,
// and steps appended to it come after them.
func TestPlanFromSource(t *testing.T) {
	src := sliceSource{
		{Op: ipvs.CreateService(web), Line: 1},
		{Op: ipvs.CreateDestination(web.Key(), real(1, 1)), Line: 2},
	}
	more := reconcile.Step{Op: ipvs.CreateDestination(web.Key(), real(2, 1)), Line: 3}
	p := reconcile.NewPlanFrom(reconcile.State{}, src)
	p.Append(more)
	want := []reconcile.Step{src[0], src[1], more}
	if got := stepsOf(p); p.Len() != len(want) || !slices.Equal(got, want) {
		t.Fatalf("steps %v (Len %d), want %v", got, p.Len(), want)
	}
	for i := range want {
		if p.Step(i) != want[i] {
			t.Errorf("Step(%d) = %v, want %v", i, p.Step(i), want[i])
		}
	}
	c, _ := newClient(t)
	if err := p.ApplyAtomic(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); len(got.Services) != 1 || len(got.Services[0].Destinations) != 2 {
		t.Errorf("table after the plan: %+v", got)
	}
}

// TestPlanFromOpWriter: Apply takes the changes of a StepSource with
// WriteOp from WriteOp, and those of the steps appended after the source's
// from the plan.
func TestPlanFromOpWriter(t *testing.T) {
	src := &opWriterSource{sliceSource: sliceSource{
		{Op: ipvs.CreateService(web), Line: 1},
		{Op: ipvs.CreateDestination(web.Key(), real(1, 1)), Line: 2},
	}}
	p := reconcile.PlanOf(src)
	p.Append(reconcile.Step{Op: ipvs.CreateDestination(web.Key(), real(2, 1)), Line: 3})
	c, _ := newClient(t)
	if err := p.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.written, []int{0, 1}) {
		t.Errorf("WriteOp was asked for %v, want [0 1]", src.written)
	}
	if got := read(t, c); len(got.Services) != 1 || len(got.Services[0].Destinations) != 2 {
		t.Errorf("table after the plan: %+v", got)
	}
}

// opWriterSource is a sliceSource with WriteOp, which records what it
// was asked for.
type opWriterSource struct {
	sliceSource
	written []int
}

func (s *opWriterSource) WriteOp(i int, o *ipvs.Op) {
	s.written = append(s.written, i)
	*o = s.sliceSource[i].Op
}

// TestDiffCarriesLines: a step of DiffTable that creates or changes an
// object carries the line of the step that last set it in the desired
// table (Table.ApplyStep); deletions carry none.
func TestDiffCarriesLines(t *testing.T) {
	desired := reconcile.NewTable(reconcile.State{})
	edited := web
	edited.Scheduler = "lc"
	for _, s := range []reconcile.Step{
		{Op: ipvs.CreateService(web), Line: 2},
		{Op: ipvs.CreateDestination(web.Key(), real(1, 1)), Line: 3},
		{Op: ipvs.CreateDestination(web.Key(), real(2, 1)), Line: 4},
		{Op: ipvs.UpdateService(edited), Line: 5},
		{Op: ipvs.UpdateDestination(web.Key(), real(1, 5)), Line: 6},
		{Op: ipvs.SetTimeouts(ipvs.Timeouts{TCPFin: time.Minute}), Line: 7},
		{Op: ipvs.CreateService(dns), Line: 8},
		{Op: ipvs.DeleteService(dns.Key()), Line: 9},
		{Op: ipvs.CreateService(dns), Line: 10},
		{Op: ipvs.SetTimeouts(ipvs.Timeouts{UDP: time.Minute}), Line: 11},
	} {
		if err := desired.ApplyStep(s); err != nil {
			t.Fatal(err)
		}
	}
	lines := func(p *reconcile.Plan) map[string]int {
		m := map[string]int{}
		for _, s := range p.All() {
			m[s.String()] = s.Line
		}
		return m
	}
	for _, c := range []struct {
		name    string
		current reconcile.State
		want    map[string]int
	}{
		{"an empty table", reconcile.State{}, map[string]int{
			"-A -t 192.0.2.1:80 -s lc -p 300":                 5,
			"-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 5": 6,
			"-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 1": 4,
			"-A -u 192.0.2.2:53 -s rr":                        10,
			"--set 0 60 60":                                   11,
		}},
		{"start()", start(), map[string]int{
			"-E -t 192.0.2.1:80 -s lc -p 300":                 5,
			"-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 5": 6,
			"-d -u 192.0.2.2:53 -r 198.51.100.3:8080":         0,
			"--set 0 60 60": 11,
		}},
	} {
		if diff := cmp.Diff(c.want, lines(reconcile.DiffTable(c.current, desired))); diff != "" {
			t.Errorf("lines of a plan from %s (-want +got):\n%s", c.name, diff)
		}
	}
}

// TestAppendOneByOne: steps appended one at a time cost amortized O(1):
// the plan's array grows as append grows a slice, not by one step each
// time (which made a plain -R of 110,000 lines quadratic).
func TestAppendOneByOne(t *testing.T) {
	step := reconcile.Step{Op: ipvs.CreateDestination(web.Key(), real(1, 1))}
	allocs := testing.AllocsPerRun(3, func() {
		var p reconcile.Plan
		for range 4096 {
			p.Append(step)
		}
	})
	if allocs > 40 {
		t.Errorf("appending 4,096 steps one at a time made %.0f allocations, want at most 40", allocs)
	}
}

// TestDiffTableOutlivesChanges: a plan of DiffTable refers to the desired
// table's objects; changing, deleting and adding to that table afterwards
// leaves the plan as it was, and the table changes as asked.
func TestDiffTableOutlivesChanges(t *testing.T) {
	desired := reconcile.NewTable(reconcile.State{})
	for _, op := range []ipvs.Op{
		ipvs.CreateService(web),
		ipvs.CreateDestination(web.Key(), real(1, 1)),
		ipvs.CreateDestination(web.Key(), real(2, 1)),
		ipvs.CreateService(dns),
	} {
		if err := desired.Apply(op); err != nil {
			t.Fatal(err)
		}
	}
	for _, current := range []reconcile.State{{}, start()} {
		plan := reconcile.DiffTable(current, desired)
		before := plan.String()
		edited := web
		edited.Scheduler = "lc"
		for _, op := range []ipvs.Op{
			ipvs.UpdateService(edited),
			ipvs.UpdateDestination(web.Key(), real(1, 7)),
			ipvs.DeleteDestination(web.Key(), real(2, 0).Key()),
			ipvs.CreateDestination(web.Key(), real(9, 1)),
			ipvs.DeleteService(dns.Key()),
		} {
			if err := desired.Apply(op); err != nil {
				t.Fatal(err)
			}
		}
		if after := plan.String(); after != before {
			t.Errorf("the plan changed with its desired table:\n%s\nnow:\n%s", before, after)
		}
		if err := desired.Apply(ipvs.DeleteDestination(web.Key(), real(2, 0).Key())); err == nil {
			t.Errorf("a destination deleted from the desired table is still there")
		}
		// Put the table back for the next current table.
		for _, op := range []ipvs.Op{
			ipvs.UpdateService(web),
			ipvs.UpdateDestination(web.Key(), real(1, 1)),
			ipvs.DeleteDestination(web.Key(), real(9, 0).Key()),
			ipvs.CreateDestination(web.Key(), real(2, 1)),
			ipvs.CreateService(dns),
		} {
			if err := desired.Apply(op); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDiffTablesOutlivesChanges: a plan of DiffTables is DiffTable's, and
// changing the current table afterwards leaves the plan and its atomic
// undo as they were.
func TestDiffTablesOutlivesChanges(t *testing.T) {
	desired := reconcile.NewTable(reconcile.State{Services: []ipvs.ServiceEntry{
		{Service: web, Destinations: []ipvs.Destination{real(1, 1), real(2, 1)}},
	}})
	current := reconcile.NewTable(start())
	plan := reconcile.DiffTables(current, desired)
	before := plan.String()
	if want := reconcile.DiffTable(start(), desired).String(); before != want {
		t.Fatalf("DiffTables:\n%s\nDiffTable:\n%s", before, want)
	}
	for _, e := range start().Services {
		if err := current.Apply(ipvs.DeleteService(e.Service.Key())); err != nil {
			t.Fatal(err)
		}
	}
	if after := plan.String(); after != before {
		t.Errorf("the plan changed with its current table:\n%s\nnow:\n%s", before, after)
	}
	c, _ := newClient(t)
	if err := reconcile.NewPlan(reconcile.State{}, nil).Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := reconcile.Diff(reconcile.State{}, start()).Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := plan.ApplyAtomic(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := reconcile.Read(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	byAddr := cmpopts.SortSlices(func(a, b ipvs.Destination) bool { return a.Addr.Less(b.Addr) })
	if diff := cmp.Diff(desired.State().Services, got.Services, cmpValues, byAddr); diff != "" {
		t.Errorf("after the plan (-want +got):\n%s", diff)
	}
}

// TestDiffTablesAgain: one current table diffed against one desired table
// after another gives each its own plan (the marks of a diff do not
// outlive it), and a table grown before it is built diffs as one that
// was not.
func TestDiffTablesAgain(t *testing.T) {
	current := reconcile.NewTable(start())
	same := reconcile.NewTable(start())
	if p := reconcile.DiffTables(current, same); p.Len() != 0 {
		t.Fatalf("the same table: %v", p)
	}
	fewer := start()
	fewer.Services = fewer.Services[:1]
	grown := reconcile.NewTable(reconcile.State{})
	grown.Grow(3)
	for _, e := range fewer.Services {
		if err := grown.Apply(ipvs.CreateService(e.Service)); err != nil {
			t.Fatal(err)
		}
		for _, d := range slices.Backward(e.Destinations) {
			if err := grown.Apply(ipvs.CreateDestination(e.Service.Key(), d)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := grown.Apply(ipvs.SetTimeouts(fewer.Timeouts)); err != nil {
		t.Fatal(err)
	}
	want := "-D -u 192.0.2.2:53\n"
	for _, desired := range []*reconcile.Table{reconcile.NewTable(fewer), grown} {
		if got := reconcile.DiffTables(current, desired).String(); got != want {
			t.Errorf("plan:\n%s\nwant:\n%s", got, want)
		}
	}
	grown.Grow(10) // shared with the plans: copies itself first
	if diff := cmp.Diff(reconcile.NewTable(fewer).State(), grown.State(), cmpValues); diff != "" {
		t.Errorf("grown table (-want +got):\n%s", diff)
	}
}

// TestDiffManySteps: a diff of more steps than a chunk of its references
// holds gives them all, in order: each service created with its
// destinations (oldest first), then the services it does not want
// deleted.
func TestDiffManySteps(t *testing.T) {
	var current, desired reconcile.State
	var want []ipvs.Op
	for i := range 3000 {
		svc := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 8, byte(i >> 8), byte(i)}), Port: 80, Scheduler: "wlc"}
		e := ipvs.ServiceEntry{Service: svc}
		for j := range 3 {
			e.Destinations = append(e.Destinations, ipvs.Destination{Addr: netip.AddrFrom4([4]byte{172, 21, byte(j), 1}), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: uint32(j)})
		}
		desired.Services = append(desired.Services, e)
		want = append(want, ipvs.CreateService(svc))
		for _, d := range slices.Backward(e.Destinations) {
			want = append(want, ipvs.CreateDestination(svc.Key(), d))
		}
		svc.Port = 81
		current.Services = append(current.Services, ipvs.ServiceEntry{Service: svc})
	}
	for _, e := range current.Services {
		want = append(want, ipvs.DeleteService(e.Service.Key()))
	}
	p := reconcile.Diff(current, desired)
	var got []ipvs.Op
	for _, s := range stepsOf(p) {
		got = append(got, s.Op)
	}
	if p.Len() != len(want) {
		t.Errorf("Len %d, want %d", p.Len(), len(want))
	}
	if diff := cmp.Diff(want, got, cmpValues); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

// TestDiffSameDestinations: services whose destinations are the same, in
// the same order, differ only in the weights that changed; in another
// order they are the same table.
func TestDiffSameDestinations(t *testing.T) {
	desired := start()
	desired.Services[0].Destinations = []ipvs.Destination{real(2, 1), real(1, 4)}
	if got, want := reconcile.Diff(start(), desired).String(), "-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 4\n"; got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	desired.Services[0].Destinations = []ipvs.Destination{real(1, 1), real(2, 1)}
	if p := reconcile.Diff(start(), desired); p.Len() != 0 {
		t.Errorf("the same destinations in another order: %v", p)
	}
	// In another order, weights that match pair by pair but not by key.
	current := start()
	current.Services[0].Destinations = []ipvs.Destination{real(2, 1), real(1, 5)}
	desired.Services[0].Destinations = []ipvs.Destination{real(1, 1), real(2, 5)}
	want := "-e -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 5\n-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1\n"
	if got := reconcile.Diff(current, desired).String(); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

// TestReadTable: ReadTable holds what NewTable of Read's State holds.
func TestReadTable(t *testing.T) {
	c, _ := newClient(t)
	load(t, c, start())
	got, err := reconcile.ReadTable(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reconcile.Read(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reconcile.NewTable(s).State(), got.State(), cmpValues); diff != "" {
		t.Errorf("ReadTable (-Read +ReadTable):\n%s", diff)
	}
	if got.State().Timeouts != start().Timeouts {
		t.Errorf("timeouts %v", got.State().Timeouts)
	}
}
