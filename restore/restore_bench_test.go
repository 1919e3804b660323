package restore

import (
	"bytes"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
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
