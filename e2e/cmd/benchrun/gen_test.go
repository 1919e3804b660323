package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestChangedRules: the changed rules differ from the table's in one line
// in 100, each in a value that -R --sync edits in place (the service or
// real server it names is the same).
func TestChangedRules(t *testing.T) {
	for _, spec := range []tableSpec{{1000, 0}, {100, 10}, {20, 100}} {
		var base, changed bytes.Buffer
		if err := writeRules(&base, spec, false); err != nil {
			t.Fatal(err)
		}
		if err := writeRules(&changed, spec, true); err != nil {
			t.Fatal(err)
		}
		a, b := strings.Split(base.String(), "\n"), strings.Split(changed.String(), "\n")
		if len(a) != len(b) || len(a)-1 != spec.Lines() {
			t.Fatalf("%v: %d and %d lines, want %d", spec, len(a)-1, len(b)-1, spec.Lines())
		}
		diff := 0
		for i := range a {
			if a[i] == b[i] {
				continue
			}
			diff++
			if i%100 != 49 {
				t.Errorf("%v: line %d changed: %q -> %q", spec, i+1, a[i], b[i])
			}
			if named(a[i]) != named(b[i]) {
				t.Errorf("%v: line %d names another object: %q -> %q", spec, i+1, a[i], b[i])
			}
		}
		if want := (spec.Lines() + 50) / 100; diff != want {
			t.Errorf("%v: %d lines changed, want %d", spec, diff, want)
		}
	}
}

// named is what a rules line names: its command, service and real server.
func named(line string) string {
	f := strings.Fields(line)
	if f[0] == "-a" {
		return strings.Join(f[:5], " ")
	}
	return strings.Join(f[:3], " ")
}
