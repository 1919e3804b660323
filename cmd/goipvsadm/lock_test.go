package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRestoreLock: -R --sync and --atomic take the lock and free it when
// done; without the lock's directory they warn and go on; a lock that
// cannot be opened otherwise stops the run before any change.
func TestRestoreLock(t *testing.T) {
	dir := t.TempDir()
	rules := "-A -t 10.0.0.1:80 -s rr\n"
	tests := []struct {
		name, path string
		args       []string
		exit       int
		stderr     string
		changed    bool
	}{
		{"sync", filepath.Join(dir, "goipvsadm.lock"), []string{"-R", "--sync"}, 0, "", true},
		{"atomic", filepath.Join(dir, "goipvsadm.lock"), []string{"-R", "--atomic"}, 0, "", true},
		{"no directory", filepath.Join(dir, "nosuch", "goipvsadm.lock"), []string{"-R", "--sync"}, 0,
			"ipvsadm: warning: running without the restore lock: open " + filepath.Join(dir, "nosuch", "goipvsadm.lock") + ": no such file or directory\n", true},
		{"a directory in the way", dir, []string{"-R", "--sync", "--atomic"}, 2,
			"ipvsadm: cannot take the restore lock: open " + dir + ": is a directory; nothing was changed\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRun(t)
			r := f.runWith(tt.args, rules, func(a *app) { a.lockPath = tt.path })
			if r.exit != tt.exit || r.stderr != tt.stderr {
				t.Errorf("%q: %+v, want exit %d, stderr %q", tt.args, r, tt.exit, tt.stderr)
			}
			saved := f.run([]string{"-Sn"}, "")
			if changed := strings.Contains(saved.stdout, "10.0.0.1:80"); changed != tt.changed {
				t.Errorf("%q: table changed %v, want %v", tt.args, changed, tt.changed)
			}
			if lf, err := os.Open(tt.path); err == nil && tt.exit == 0 {
				defer lf.Close()
				if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
					t.Errorf("the lock is still held after the run: %v", err)
				}
			}
		})
	}
}
