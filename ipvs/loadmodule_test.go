package ipvs

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadModuleKeepsStderr: LoadModule writes nothing to the process's
// stderr; modprobe's complaint is in the error.
func TestLoadModuleKeepsStderr(t *testing.T) {
	script := filepath.Join(t.TempDir(), "modprobe")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'modprobe: FATAL: Module ip_vs not found' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := modprobe
	modprobe = script
	defer func() { modprobe = old }()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	err = LoadModule(context.Background())
	os.Stderr = stderr
	w.Close()
	leaked, _ := io.ReadAll(r)
	if len(leaked) != 0 {
		t.Errorf("LoadModule wrote %q to stderr", leaked)
	}
	if err == nil || !strings.Contains(err.Error(), "Module ip_vs not found") {
		t.Errorf("LoadModule error = %v, want modprobe's output in it", err)
	}
}
