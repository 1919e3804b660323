package restore

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/save"
)

// BenchmarkParse parses 10,000 services with 10 destinations each
// (110,000 lines), as goipvsadm -R does before applying anything.
func BenchmarkParse(b *testing.B) {
	in := benchrules.Rules(10000, 10)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rules, err := Parse(bytes.NewReader(in), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rules) != 110000 {
			b.Fatalf("%d rules", len(rules))
		}
	}
}

// BenchmarkParseRules parses the same lines into the compact Rules, as
// goipvsadm -R does (keeping no texts: Options.Reread).
func BenchmarkParseRules(b *testing.B) { benchmarkParseRules(b, 10000, 10) }

// BenchmarkParseRulesServices parses 100,000 services without real
// servers: what a table of many services costs besides its lines.
func BenchmarkParseRulesServices(b *testing.B) { benchmarkParseRules(b, 100000, 0) }

func benchmarkParseRules(b *testing.B, services, dests int) {
	in := benchrules.Rules(services, dests)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rules, err := ParseRules(bytes.NewReader(in), Options{Reread: true})
		if err != nil {
			b.Fatal(err)
		}
		if want := services * (1 + dests); rules.Len() != want {
			b.Fatalf("%d rules, want %d", rules.Len(), want)
		}
	}
}

// BenchmarkTokenize splits the same 110,000 lines into words only.
func BenchmarkTokenize(b *testing.B) {
	in := benchrules.Rules(10000, 10)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		lines, err := Tokenize(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		if len(lines) != 110000 {
			b.Fatalf("%d lines", len(lines))
		}
	}
}

// BenchmarkSyncPlan plans a sync of 10,000 services with 10 destinations
// each against a kernel that holds them already (a boot restore of an
// unchanged file).
func BenchmarkSyncPlan(b *testing.B) {
	in := benchrules.Rules(10000, 10)
	rules, err := Parse(bytes.NewReader(in), Options{})
	if err != nil {
		b.Fatal(err)
	}
	current, err := SyncPlan(rules, reconcile.State{})
	if err != nil {
		b.Fatal(err)
	}
	t := reconcile.NewTable(reconcile.State{})
	for _, s := range current.All() {
		if err := t.Apply(s.Op); err != nil {
			b.Fatal(err)
		}
	}
	state := t.State()
	b.ReportAllocs()
	for b.Loop() {
		plan, err := SyncPlan(rules, state)
		if err != nil || plan.Len() != 0 {
			b.Fatal(plan, err)
		}
	}
}

// BenchmarkParseRulesSaved is BenchmarkParseRules of ipvsadm -Sn's output
// of the same table: every line in the forms -S writes, with a worker a
// CPU as goipvsadm -R parses (-cpu 1,2,4 shows how it scales).
func BenchmarkParseRulesSaved(b *testing.B) {
	rules, err := Parse(bytes.NewReader(benchrules.Rules(10000, 10)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	t := reconcile.NewTable(reconcile.State{})
	for _, r := range rules {
		if err := t.Apply(r.Op); err != nil {
			b.Fatal(err)
		}
	}
	var in bytes.Buffer
	if err := save.Write(&in, t.State().Services, save.Options{Numeric: true}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(in.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rules, err := ParseRules(bytes.NewReader(in.Bytes()), Options{Reread: true, Workers: runtime.GOMAXPROCS(0)})
		if err != nil {
			b.Fatal(err)
		}
		if rules.Len() != 110000 {
			b.Fatalf("%d rules", rules.Len())
		}
	}
}

// BenchmarkSyncPlanTable plans -R --sync as goipvsadm does: the parsed
// Rules against the kernel's table in a Table, which holds them already.
func BenchmarkSyncPlanTable1kx100(b *testing.B) { benchmarkSyncPlanTable(b, 1000, 100) }
func BenchmarkSyncPlanTable100kx0(b *testing.B) { benchmarkSyncPlanTable(b, 100000, 0) }

func benchmarkSyncPlanTable(b *testing.B, services, dests int) {
	rules, err := ParseRules(bytes.NewReader(benchrules.Rules(services, dests)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	current := reconcile.NewTable(reconcile.State{})
	for r := range rules.All() {
		if err := current.Apply(r.Op); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		plan, err := rules.SyncPlanTable(current)
		if err != nil || plan.Len() != 0 {
			b.Fatal(plan, err)
		}
	}
}
