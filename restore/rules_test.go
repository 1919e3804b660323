package restore_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
	"github.com/goipvsadm/goipvsadm/internal/cmdgen"
	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// compactRules parses text with ParseRules, keeping the texts and reading
// them again (Options.Reread), and checks that it gives what Parse gives
// (rules, or the same error), and the same plans.
func compactRules(t *testing.T, text string, current reconcile.State) *restore.Rules {
	t.Helper()
	compactRulesFrom(t, strings.NewReader(text), text, current, restore.Options{})
	return compactRulesFrom(t, strings.NewReader(text), text, current, restore.Options{Reread: true})
}

// compactRulesFrom is compactRules of what in reads, text.
func compactRulesFrom(t *testing.T, in io.Reader, text string, current reconcile.State, opts restore.Options) *restore.Rules {
	t.Helper()
	opts.Resolver = cmdline.StaticResolver{}
	return compactRulesWith(t, text, current, opts, func() (*restore.Rules, error) { return restore.ParseRules(in, opts) })
}

// compactRulesWith is compactRules of text, whose compact rules parse gives.
func compactRulesWith(t *testing.T, text string, current reconcile.State, opts restore.Options, parse func() (*restore.Rules, error)) *restore.Rules {
	t.Helper()
	opts.Resolver = cmdline.StaticResolver{}
	want, werr := restore.Parse(strings.NewReader(text), opts)
	rs, err := parse()
	if werr != nil || err != nil {
		if diff := cmp.Diff(werr, err, cmpValues); diff != "" {
			t.Fatalf("ParseRules's error is not Parse's (-Parse +ParseRules):\n%s", diff)
		}
		return nil
	}
	for i := range want {
		if want[i].Op.Kind != 0 {
			want[i].Args = nil // a change's rule keeps no words
		}
	}
	got := slices.Collect(rs.All())
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = reflect.DeepEqual(got[i], want[i]) || len(got[i].Args) == 0 && len(want[i].Args) == 0 && cmp.Equal(got[i], want[i], cmpValues, cmpopts.EquateEmpty())
	}
	if !same {
		t.Fatalf("ParseRules's rules are not Parse's (-Parse +ParseRules):\n%s", cmp.Diff(want, got, cmpValues, cmpopts.EquateEmpty()))
	}
	if rs.Len() != len(want) {
		t.Fatalf("Len %d, want %d", rs.Len(), len(want))
	}
	for i, o := range restore.WrittenOps(rs) {
		if !cmp.Equal(o, want[i].Op, cmpValues) {
			t.Fatalf("line %d: WriteOp writes %+v, want %+v", want[i].Num, o, want[i].Op)
		}
	}
	// Every line of a small input; of a big one, a prime stride of them
	// (Line reads the input again from a window that starts at the line).
	stride := 1
	if len(want) > 2000 {
		stride = 61
	}
	for i := 0; i < len(want); i += stride {
		r := want[i]
		if l, ok := rs.Line(r.Num); !ok || l.Num != r.Num || l.Text != r.Text {
			t.Fatalf("Line(%d) = %+v, %v; want the text %q", r.Num, l, ok, r.Text)
		}
	}
	samePlan := func(name string, a, b *reconcile.Plan, aerr, berr error) {
		t.Helper()
		if (aerr == nil) != (berr == nil) || aerr != nil && aerr.Error() != berr.Error() {
			t.Fatalf("%s: errors differ: %v, %v", name, aerr, berr)
		}
		if aerr != nil {
			return
		}
		if a.String() != b.String() || a.Len() != b.Len() {
			t.Fatalf("%s: plans differ:\n%s\n%s", name, a, b)
		}
		for i, s := range a.All() {
			if s != b.Step(i) {
				t.Fatalf("%s: step %d is %+v, from the compact rules %+v", name, i, s, b.Step(i))
			}
		}
	}
	a, aerr := restore.NewPlan(want, current)
	b, berr := rs.NewPlan(current)
	samePlan("NewPlan", a, b, aerr, berr)
	a, aerr = restore.SyncPlan(want, current)
	b, berr = rs.SyncPlan(current)
	samePlan("SyncPlan", a, b, aerr, berr)
	return rs
}

func TestParseRulesIsParse(t *testing.T) {
	for name, text := range parseRulesInputs() {
		t.Run(name, func(t *testing.T) { compactRules(t, text, reconcile.State{}) })
	}
}

// parseRulesInputs returns rules inputs of every kind of line, big and
// small, valid and not.
func parseRulesInputs() map[string]string {
	long := "-A -t 10.0.0.1:80 " + strings.Repeat("x", 2<<20) + "\n"
	inputs := map[string]string{
		"bench":       string(benchrules.Rules(3000, 10)), // texts over several chunks
		"rules200":    rules200(),
		"long word":   "-A -t 10.0.0.1:80\n" + long + "-a -t 10.0.0.1:80 -r 10.0.1.1\n",
		"others":      "-C\n-L -n\n-A -t 1.2.3.4:80 -b\n--set 5 0 9\n-A -f 7\n-d -f 7 -r 10.0.1.1\n-E -f 7 -s rr\n-D -f 7\n-h\n-L\n",
		"syntax":      "-A -t 1.2.3.4:80\n-A -t 1.2.3.4:80 -p 0\n",
		"nested":      "-A -t 1.2.3.4:80\n-R\n",
		"ipv6 and -e": "-A -t [2001:db8::1]:80 -s rr\n-a -t [2001:db8::1]:80 -r [2001:db8::2]:81 -w 3 -x 5 -y 1\n-e -t [2001:db8::1]:80 -r [2001:db8::2]:81 -m\n",
		"empty":       "\n  \n",
	}
	g := cmdgen.New(7)
	for i := range 30 {
		inputs["generated "+string(rune('a'+i))] = g.Rules(nil)
	}
	return inputs
}

func TestParseRulesSyntaxError(t *testing.T) {
	_, err := restore.ParseRules(strings.NewReader("-A -t 1.2.3.4:80\n-A -t 1.2.3.4:80 -p 0\n-Z\n"), restore.Options{})
	var se *restore.SyntaxError
	if !errors.As(err, &se) || se.Line.Num != 2 || se.Exit != 2 {
		t.Fatalf("got %v, want a syntax error on line 2", err)
	}
}

// rulesFile writes a line "prefix" and text to a file and opens it, read
// up to text.
func rulesFile(t *testing.T, text string) (*os.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(path, []byte("prefix\n"+text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(int64(len("prefix\n")), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f, path
}

// TestParseRulesReread reads the texts again from where the rules started
// in a file, keeps them from a pipe, and gives no text, rather than a
// wrong one, from a file closed too early.
func TestParseRulesReread(t *testing.T) {
	text := string(benchrules.Rules(3000, 3)) + "-A -t 10.9.9.9:80 -b\n-L -n\n"
	reread := restore.Options{Reread: true}

	f, path := rulesFile(t, text)
	rs := compactRulesFrom(t, f, text, reconcile.State{}, reread)
	f.Close()
	if l, _ := rs.Line(1); l.Text != "" {
		t.Fatalf("Line(1) of a closed file = %+v: the texts of a file were kept", l)
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		io.WriteString(pw, text)
		pw.Close()
	}()
	rs = compactRulesFrom(t, pr, text, reconcile.State{}, reread)
	pr.Close()
	if l, _ := rs.Line(1); !strings.HasPrefix(text, l.Text+"\n") {
		t.Fatalf("Line(1) of a pipe = %+v: the texts were not kept", l)
	}

	f2, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rs, err = restore.ParseRules(io.NewSectionReader(f2, int64(len("prefix\n")), int64(len(text))), reread)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := rs.Line(1); !ok || !strings.HasPrefix(text, l.Text+"\n") {
		t.Fatalf("Line(1) = %+v, %v; want the first line", l, ok)
	}
	f2.Close()
	for r := range rs.All() {
		if r.Op.Kind != 0 && r.Text != "" {
			t.Fatalf("line %d: text %q from a closed file", r.Num, r.Text)
		}
	}
	if l, ok := rs.Line(2); !ok || l.Num != 2 || l.Text != "" {
		t.Fatalf("Line(2) from a closed file = %+v, %v; want line 2 without its text", l, ok)
	}
}

// TestRulesBatches: Batches gives every rule of All once, in order: the
// changes in plans of at most n consecutive ones (fewer only before
// another rule or at the end), every other rule on its own.
func TestRulesBatches(t *testing.T) {
	text := "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1\n-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1\n" +
		"-A -t 10.0.0.1:81 --foo\n--set 5 0 9\n-a -t 10.0.0.1:80 -r 10.0.1.3:80 -m -w 1\n-C\n-L -n\n" +
		"-A -t [2001:db8::1]:80\n-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1\n-e -t 10.0.0.1:80 -r 10.0.1.3:80 -g\n"
	rs, err := restore.ParseRules(strings.NewReader(text), restore.Options{Resolver: cmdline.StaticResolver{}})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Collect(rs.All())
	for n := 1; n <= 5; n++ {
		var got []restore.Rule
		var sizes []int
		for plan, r := range rs.Batches(n) {
			if plan == nil {
				got = append(got, r)
				sizes = append(sizes, 0)
				continue
			}
			if plan.Len() < 1 || plan.Len() > n {
				t.Fatalf("n=%d: a plan of %d steps", n, plan.Len())
			}
			sizes = append(sizes, plan.Len())
			for _, s := range plan.All() {
				got = append(got, restore.Rule{Line: restore.Line{Num: s.Line}, Op: s.Op})
			}
		}
		if len(got) != len(want) {
			t.Fatalf("n=%d: %d rules, want %d", n, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if w.Op.Kind != 0 {
				w = restore.Rule{Line: restore.Line{Num: w.Num}, Op: w.Op}
			}
			if !cmp.Equal(g, w, cmpValues, cmpopts.EquateEmpty()) {
				t.Fatalf("n=%d: rule %d is %+v, want %+v", n, i, g, w)
			}
		}
		for i, size := range sizes {
			if size > 0 && size < n && i+1 < len(sizes) && sizes[i+1] > 0 {
				t.Fatalf("n=%d: a plan of %d steps before another plan: %v", n, size, sizes)
			}
		}
	}
}
