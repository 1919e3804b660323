package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeGuest returns a Guest whose "QEMU" is a shell script printing console
// output, so Run's handling of markers, panics and hangs can be tested
// without booting anything.
func fakeGuest(t *testing.T, console string) (*Guest, RunOptions) {
	t.Helper()
	dir := t.TempDir()
	qemu := filepath.Join(dir, "qemu")
	// The script checks that it is given the initramfs Run built.
	script := "#!/bin/sh\n" +
		`while [ $# -gt 0 ]; do [ "$1" = -initrd ] && initrd=$2; shift; done` + "\n" +
		`[ -s "$initrd" ] || { echo "no initrd" >&2; exit 9; }` + "\n" +
		console
	must(t, os.WriteFile(qemu, []byte(script), 0o755))
	rootfs := filepath.Join(dir, "rootfs")
	must(t, os.MkdirAll(filepath.Join(rootfs, "usr/bin"), 0o755))
	g := &Guest{Kernel: Kernel{Name: "fake", Vmlinuz: "/nonexistent", Modules: rootfs}, RootFS: rootfs}
	return g, RunOptions{QEMU: qemu, Timeout: 20 * time.Second, IdleTimeout: 10 * time.Second}
}

func TestRunReportsPayloadResult(t *testing.T) {
	for _, tt := range []struct {
		name     string
		console  string
		exitCode int
		wantErr  string // from Result.Err
	}{
		{
			name:     "pass",
			console:  `printf '\033c\033[2JE2E-GUEST-UP kernel=x\r\nE2E-DONE rc=0\r\n'`,
			exitCode: 0,
		},
		{
			name:     "payload failed",
			console:  `echo E2E-GUEST-UP; echo "E2E-DONE rc=3"`,
			exitCode: 3,
			wantErr:  "exited with status 3",
		},
		{
			name:     "panic",
			console:  `echo E2E-GUEST-UP; echo "[ 1.0] Kernel panic - not syncing: Attempted to kill init!"`,
			exitCode: -1,
			wantErr:  "panicked",
		},
		{
			name:     "no result",
			console:  `echo E2E-GUEST-UP; echo E2E-INIT-FAILED: modprobe ip_vs`,
			exitCode: -1,
			wantErr:  "without reporting",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, opts := fakeGuest(t, tt.console)
			var lines []string
			opts.Console = func(l string) { lines = append(lines, l) }
			res, err := g.Run(context.Background(), opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.ExitCode != tt.exitCode {
				t.Errorf("ExitCode = %d, want %d", res.ExitCode, tt.exitCode)
			}
			if res.BootTime <= 0 {
				t.Errorf("BootTime = %v, want the time of the E2E-GUEST-UP line", res.BootTime)
			}
			if diff := cmp.Diff(res.Console, lines); diff != "" {
				t.Errorf("Console callback saw other lines than Result.Console:\n%s", diff)
			}
			for _, l := range lines {
				if strings.ContainsAny(l, "\r\033") {
					t.Errorf("console line %q keeps terminal control characters", l)
				}
			}
			err = res.Err()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Err() = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Err() = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunDetectsHungGuest(t *testing.T) {
	t.Run("silent", func(t *testing.T) {
		g, opts := fakeGuest(t, "echo E2E-GUEST-UP; sleep 30")
		opts.IdleTimeout = 300 * time.Millisecond
		start := time.Now()
		_, err := g.Run(context.Background(), opts)
		if err == nil || !strings.Contains(err.Error(), "printed nothing") {
			t.Errorf("Run = %v, want an idle timeout", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Run took %v to notice", d)
		}
	})
	t.Run("chatty", func(t *testing.T) {
		g, opts := fakeGuest(t, "while :; do echo tick; sleep 0.05; done")
		opts.Timeout = 500 * time.Millisecond
		opts.IdleTimeout = 5 * time.Second
		_, err := g.Run(context.Background(), opts)
		if err == nil || !strings.Contains(err.Error(), "did not finish") {
			t.Errorf("Run = %v, want an overall timeout", err)
		}
	})
	t.Run("no power off", func(t *testing.T) {
		old := powerOffGrace
		powerOffGrace = 200 * time.Millisecond
		t.Cleanup(func() { powerOffGrace = old })
		g, opts := fakeGuest(t, `echo "E2E-DONE rc=0"; sleep 30`)
		res, err := g.Run(context.Background(), opts)
		if err != nil || res.Err() != nil {
			t.Errorf("Run = %v, %v; a guest that reported its result has finished", err, res.Err())
		}
	})
}

func TestPackageResults(t *testing.T) {
	console := []string{
		"E2E-READY",
		"E2E-PKG-START example.com/a",
		"=== RUN   TestA",
		"--- PASS: TestA (0.00s)",
		"E2E-PKG-RESULT example.com/a PASS rc=0 secs=1",
		"E2E-PKG-START example.com/b",
		"--- FAIL: TestB (0.00s)",
		"E2E-PKG-RESULT example.com/b FAIL rc=1 secs=0",
		"E2E-PKG-START example.com/c",
		"panic: boom",
		"[ 9.9] Kernel panic - not syncing",
	}
	want := []PackageResult{
		{Package: "example.com/a", Finished: true, Passed: true, Output: []string{"=== RUN   TestA", "--- PASS: TestA (0.00s)"}},
		{Package: "example.com/b", Finished: true, Passed: false, Output: []string{"--- FAIL: TestB (0.00s)"}},
		{Package: "example.com/c", Output: []string{"panic: boom", "[ 9.9] Kernel panic - not syncing"}},
	}
	if diff := cmp.Diff(want, PackageResults(console)); diff != "" {
		t.Errorf("PackageResults (-want +got):\n%s", diff)
	}
}
