package cmdgen

import (
	"slices"
	"strings"
	"testing"
)

func TestSameSeedSameCases(t *testing.T) {
	a, b := New(7), New(7)
	for i := 0; i < 200; i++ {
		if x, y := a.Args(nil), b.Args(nil); !slices.Equal(x, y) {
			t.Fatalf("case %d: %q and %q from one seed", i, x, y)
		}
		if x, y := a.Rules(nil), b.Rules(nil); x != y {
			t.Fatalf("rules %d differ from one seed", i)
		}
	}
	if slices.Equal(New(1).Args(nil), New(2).Args(nil)) && slices.Equal(New(1).Args(nil), New(3).Args(nil)) {
		t.Error("different seeds give the same command line")
	}
}

// TestEveryOptionInEveryForm: a few thousand lines use every command and
// option of ipvsadm's table, long and (where it has one) short.
func TestEveryOptionInEveryForm(t *testing.T) {
	g := New(1)
	seen := map[string]bool{}
	for i := 0; i < 5000; i++ {
		for _, w := range g.Args(nil) {
			if strings.HasPrefix(w, "--") {
				name, _, _ := strings.Cut(w[2:], "=")
				seen["--"+name] = true
			} else if strings.HasPrefix(w, "-") && len(w) > 1 {
				seen["-"+w[1:2]] = true
			}
		}
	}
	for _, c := range allCommands {
		want := []string{"--" + c.opt.long}
		if c.opt.short != "" {
			want = append(want, "-"+c.opt.short)
		}
		for _, w := range want {
			if !seen[w] {
				t.Errorf("command %s never generated", w)
			}
		}
	}
	for _, o := range allOptions {
		if !seen["--"+o.long] {
			t.Errorf("option --%s never generated", o.long)
		}
		if o.short != "" && !seen["-"+o.short] {
			t.Errorf("option -%s never generated", o.short)
		}
	}
	if !seen["-l"] {
		t.Error("-l never generated")
	}
}

func TestRulesAreLines(t *testing.T) {
	g := New(3)
	lines, crlf := 0, false
	for i := 0; i < 300; i++ {
		r := g.Rules(nil)
		lines += strings.Count(r, "\n")
		crlf = crlf || strings.Contains(r, "\r\n")
	}
	if lines < 300*5 || !crlf {
		t.Errorf("300 rules files have %d lines (CRLF: %v)", lines, crlf)
	}
}
