package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegularFile: -R parses at GOGC=100 only from a regular file (which
// it can parse in parts), not from a pipe or another reader.
func TestRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(path, []byte("-C\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, c := range []struct {
		name string
		in   io.Reader
		want bool
	}{{"file", f, true}, {"pipe", pr, false}, {"reader", strings.NewReader("-C\n"), false}} {
		if got := regularFile(c.in); got != c.want {
			t.Errorf("%s: regularFile = %v, want %v", c.name, got, c.want)
		}
	}
}
