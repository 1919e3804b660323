package restore

import (
	"bytes"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
	"github.com/goipvsadm/goipvsadm/reconcile"
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
func BenchmarkParseRules(b *testing.B) {
	in := benchrules.Rules(10000, 10)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rules, err := ParseRules(bytes.NewReader(in), Options{Reread: true})
		if err != nil {
			b.Fatal(err)
		}
		if rules.Len() != 110000 {
			b.Fatalf("%d rules", rules.Len())
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
