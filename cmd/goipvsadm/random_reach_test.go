package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/cmdgen"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// The random differential test (random_e2e_test.go) finds differences
// only where its cases get to. These tests run its generator on the
// in-memory kernel as it runs there (a starting table, command lines,
// rules files written for the table they meet) and hold the shares of
// cases that get past ipvsadm's checks to the kernel.

// poptMessage is how ipvsadm ends on a word popt does not take.
var poptMessage = regexp.MustCompile("^(Try `|.+: (unknown option|missing argument|option does not take an argument)$)")

// reachRun is one starting table with a few command lines run on it.
func reachRun(t *testing.T, g *cmdgen.Gen) *fakeRun {
	fr := newFakeRun(t)
	fr.run([]string{"-R"}, g.TableRules())
	for i := 0; i < 4; i++ {
		fr.run(g.Args(fr.table(t)), "")
	}
	return fr
}

// table reads the in-memory kernel's table.
func (f *fakeRun) table(t *testing.T) []ipvs.ServiceEntry {
	c, err := ipvs.New(&ipvs.Config{Dial: f.k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	entries, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestGeneratedRulesApply: at least 3 rules files in 4 apply to their
// end without a message; some still hold a line that fails.
func TestGeneratedRulesApply(t *testing.T) {
	const files = 400
	g := cmdgen.New(11)
	applied, stopped := 0, 0
	for i := 0; i < files; i++ {
		fr := reachRun(t, g)
		rules := g.Rules(fr.table(t))
		before := fr.run([]string{"-Sn"}, "").stdout
		switch r := fr.run([]string{"-R"}, rules); {
		case r.exit == 0 && r.stderr == "":
			applied++
		case strings.Contains(r.stderr, "line "):
			stopped++
		default:
			if i-applied-stopped < 3 {
				t.Logf("failed: exit %d: %q\n%s\n--- on\n%s", r.exit, r.stderr, rules, before)
			}
		}
	}
	t.Logf("%d rules files: %d applied, %d stopped by a line", files, applied, stopped)
	if applied < files*3/4 || stopped < files/20 {
		t.Errorf("%d of %d rules files applied, %d stopped by a line: want at least 3 in 4 and 1 in 20", applied, files, stopped)
	}
}

// TestGeneratedLinesReachTheKernel: at least half the command lines pass
// ipvsadm's own checks (the rest are the mistakes the generator makes on
// purpose).
func TestGeneratedLinesReachTheKernel(t *testing.T) {
	const lines = 2000
	g := cmdgen.New(12)
	exits := map[int]int{}
	checked := 0 // stopped by ipvsadm's checks, not by the kernel
	var fr *fakeRun
	for i := 0; i < lines; i++ {
		if i%25 == 0 {
			fr = reachRun(t, g)
		}
		r := fr.run(g.Args(fr.table(t)), "")
		exits[r.exit]++
		if r.exit == 2 || r.exit == 255 && poptMessage.MatchString(r.stderr) {
			checked++
		}
	}
	t.Logf("%d command lines: %d stopped by ipvsadm's checks; by exit status: %v", lines, checked, exits)
	if checked > lines/2 {
		t.Errorf("%d of %d command lines stopped by ipvsadm's checks: want at most half", checked, lines)
	}
}
