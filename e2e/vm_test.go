package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2E boots every kernel named in $E2E_KERNELS (default "6.1 6.12") with
// the payload in $E2E_PAYLOAD (built by build-payload.sh) and reports the Go
// test packages that ran in the guest. make e2e sets everything up; plain
// go test skips it.
func TestE2E(t *testing.T) {
	if os.Getenv("GOIPVSADM_E2E_HOST") != "1" {
		t.Skip("boots QEMU guests: run make e2e (or set GOIPVSADM_E2E_HOST=1 and E2E_PAYLOAD)")
	}
	payload := os.Getenv("E2E_PAYLOAD")
	if payload == "" {
		t.Fatal("E2E_PAYLOAD is not set: build one with e2e/build-payload.sh")
	}
	list, err := os.ReadFile(filepath.Join(payload, "e2e", "tests.list"))
	if err != nil {
		t.Fatal(err)
	}
	var wantPkgs []payloadPackage
	for _, line := range strings.Split(string(list), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			wantPkgs = append(wantPkgs, payloadPackage{importPath: f[0], dir: f[1]})
		}
	}
	if len(wantPkgs) == 0 {
		t.Fatal("the payload holds no test package")
	}

	cache := DefaultCache()
	kernels := strings.Fields(os.Getenv("E2E_KERNELS"))
	if len(kernels) == 0 {
		kernels = []string{"6.1", "6.12"}
	}
	timeout := envDuration(t, "E2E_VM_TIMEOUT", 8*time.Minute)
	idle := envDuration(t, "E2E_VM_IDLE", 3*time.Minute)
	// E2E_UPDATE=1 regenerates golden files in the guest and writes them
	// into the repository; one kernel must be the reference for them.
	update := os.Getenv("E2E_UPDATE") == "1"
	if update && len(kernels) != 1 {
		t.Fatalf("E2E_UPDATE=1 needs exactly one kernel (E2E_KERNELS=6.1), not %q", kernels)
	}
	var env []string
	for _, name := range []string{"E2E_RUN", "E2E_TIMEOUT", "E2E_UPDATE", "E2E_RANDOM_SEED", "E2E_RANDOM_LINES", "E2E_RANDOM_FILES", "E2E_RANDOM_DAEMONS"} {
		if v := os.Getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	env = append(env, testSettings(os.Environ())...)

	for _, name := range kernels {
		t.Run(name, func(t *testing.T) {
			// One guest per core: TCG runs each on a host thread.
			t.Parallel()
			k, err := LoadKernel(cache, name)
			if err != nil {
				t.Fatal(err)
			}
			g := &Guest{
				Kernel:     k,
				RootFS:     filepath.Join(cache, "rootfs"),
				Overlays:   []string{payload},
				ScriptData: TestRunner,
				Env:        env,
			}
			res, err := g.Run(context.Background(), RunOptions{
				Timeout:     timeout,
				IdleTimeout: idle,
				Console:     func(line string) { t.Log(line) },
			})
			if res != nil {
				t.Logf("kernel %s: booted in %.1fs, finished in %.1fs",
					k.Release, res.BootTime.Seconds(), res.Elapsed.Seconds())
			}
			if err != nil {
				t.Fatal(err)
			}
			if update {
				writeTestdata(t, res.Console)
			}
			checkPackages(t, wantPkgs, PackageResults(res.Console))
			if err := res.Err(); err != nil {
				t.Error(err)
			}
		})
	}
}

// writeTestdata writes the testdata/ directories the guest sent back into
// the module (the parent of this package's directory).
func writeTestdata(t *testing.T, console []string) {
	t.Helper()
	archives, err := TestdataArchives(console)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for dir, tgz := range archives {
		written, err := WriteTestdata(root, dir, tgz)
		for _, f := range written {
			t.Logf("updated %s", f)
		}
		if err != nil {
			t.Error(err)
		}
	}
}

// A payloadPackage is a line of the payload's tests.list.
type payloadPackage struct {
	importPath string
	dir        string // relative to the module root
}

// checkPackages reports each package as a subtest named by its directory,
// and fails for a package that failed or never reported.
func checkPackages(t *testing.T, want []payloadPackage, got []PackageResult) {
	t.Helper()
	byPkg := make(map[string]PackageResult)
	for _, r := range got {
		byPkg[r.Package] = r
	}
	for _, p := range want {
		pkg := p.importPath
		r, ok := byPkg[pkg]
		t.Run(p.dir, func(t *testing.T) {
			switch {
			case !ok:
				t.Errorf("%s did not run", pkg)
			case !r.Finished:
				t.Errorf("%s did not finish", pkg)
			case !r.Passed:
				// Repeat the failures; the full output is above.
				for _, line := range r.Output {
					if strings.Contains(line, "--- FAIL") || strings.HasPrefix(strings.TrimSpace(line), "panic:") {
						t.Log(line)
					}
				}
				t.Errorf("%s failed in the guest", pkg)
			}
		})
	}
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// testSettings are the host's GOIPVSADM_E2E_* variables that tune guest
// tests (GOIPVSADM_E2E_INTERRUPT_TRIALS, ...), passed on to the guest;
// the harness's own (_HOST, _KERNEL) are not.
func testSettings(environ []string) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GOIPVSADM_E2E_") && name != "GOIPVSADM_E2E_HOST" && name != "GOIPVSADM_E2E_KERNEL" {
			env = append(env, kv)
		}
	}
	return env
}
