package restore_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
)

// lineStarts returns the offsets of text's lines but the first.
func lineStarts(text string) []int64 {
	var starts []int64
	for i := range len(text) - 1 {
		if text[i] == '\n' {
			starts = append(starts, int64(i+1))
		}
	}
	return starts
}

// compactRulesInParts checks that text parsed in parts that start at
// starts gives what Parse gives, keeping the texts and reading them again.
func compactRulesInParts(t *testing.T, text string, starts []int64) {
	t.Helper()
	for _, reread := range []bool{false, true} {
		opts := restore.Options{Reread: reread, Resolver: cmdline.StaticResolver{}}
		compactRulesWith(t, text, reconcile.State{}, opts, func() (*restore.Rules, error) {
			return restore.ParseRulesInParts([]byte(text), starts, opts)
		})
	}
}

// TestParseRulesInParts: rules parsed in parts, cut at any line, are the
// rules of the whole: line numbers, texts, services, other rules, the
// first error that stops the restore, a -h line that ends it.
func TestParseRulesInParts(t *testing.T) {
	for name, text := range parseRulesInputs() {
		starts := lineStarts(text)
		if len(starts) > 1000 {
			continue // TestParseRulesWorkers cuts the big ones
		}
		t.Run(name, func(t *testing.T) {
			if len(starts) > 200 {
				starts = starts[:200] // and the rest in one part
			}
			compactRulesInParts(t, text, starts) // a line a part
			step := max(len(starts)/10, 1)
			for i := 0; i < len(starts); i += step {
				compactRulesInParts(t, text, starts[i:i+1])
			}
		})
	}
}

// TestParseRulesWorkers: ParseRules with Workers cuts a big input into
// that many parts after newlines, and gives what Parse gives.
func TestParseRulesWorkers(t *testing.T) {
	defer restore.SetMinPartSize(1)()
	for name, text := range parseRulesInputs() {
		workerCounts := []int{2, 3, 7}
		if len(text) > 1<<20 {
			workerCounts = []int{3}
		}
		for _, workers := range workerCounts {
			t.Run(fmt.Sprintf("%s/%d", name, workers), func(t *testing.T) {
				bounds := restore.SplitInput(strings.NewReader(text), workers)
				if len(bounds) > workers+1 {
					t.Fatalf("%d parts (%v) for %d workers", len(bounds)-1, bounds, workers)
				}
				for i := 1; i < len(bounds)-1; i++ {
					if at := bounds[i]; at <= bounds[i-1] || text[at-1] != '\n' {
						t.Fatalf("parts %v: part %d does not start after a newline", bounds, i)
					}
				}
				for _, reread := range []bool{false, true} {
					in := strings.NewReader(text)
					compactRulesFrom(t, in, text, reconcile.State{}, restore.Options{Workers: workers, Reread: reread})
				}
			})
		}
	}
}

// TestParseRulesWorkersFile parses a regular file in parts from where it
// is read, and leaves it at its end; a small input, a pipe and one worker
// in one part.
func TestParseRulesWorkersFile(t *testing.T) {
	defer restore.SetMinPartSize(4096)()
	text := string(benchrules.Rules(2000, 2)) + "-A -t 10.9.9.9:80 -b\n-L -n\n"
	f, _ := rulesFile(t, text)
	defer f.Close()
	seek := func() {
		if _, err := f.Seek(int64(len("prefix\n")), io.SeekStart); err != nil {
			t.Fatal(err)
		}
	}
	bounds := restore.SplitInput(f, 4)
	if len(bounds) != 5 || bounds[0] != int64(len("prefix\n")) || bounds[4] != int64(len("prefix\n")+len(text)) {
		t.Fatalf("a file of %d bytes after 7 in parts %v, want 4", len(text), bounds)
	}
	for _, workers := range []int{1, 4} {
		seek()
		compactRulesFrom(t, f, text, reconcile.State{}, restore.Options{Workers: workers, Reread: true})
		if at, _ := f.Seek(0, io.SeekCurrent); at != bounds[4] {
			t.Fatalf("Workers %d: the file is at %d after parsing, want its end %d", workers, at, bounds[4])
		}
	}
	seek()
	if b := restore.SplitInput(f, 1); b != nil {
		t.Fatalf("one worker: parts %v", b)
	}
	if b := restore.SplitInput(strings.NewReader("-A -t 10.0.0.1:80\n-C\n"), 8); b != nil {
		t.Fatalf("a small input in parts %v", b)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	pw.Close()
	if b := restore.SplitInput(pr, 8); b != nil {
		t.Fatalf("a pipe in parts %v", b)
	}
}

// FuzzParseRulesInParts: any text, parsed in parts cut at lines that cuts
// picks, gives what Parse gives.
func FuzzParseRulesInParts(f *testing.F) {
	for _, text := range parseRulesInputs() {
		if len(text) < 4096 {
			f.Add(text, uint64(0x5555))
		}
	}
	f.Fuzz(func(t *testing.T, text string, cuts uint64) {
		var starts []int64
		r := rand.New(rand.NewPCG(cuts, 0))
		for _, at := range lineStarts(text) {
			if r.IntN(3) == 0 {
				starts = append(starts, at)
			}
		}
		compactRulesInParts(t, text, starts)
	})
}
