// Package e2e boots Debian kernels under QEMU with a small initramfs to run
// goipvsadm's tests against real IPVS. fetch.sh prepares the kernels and the
// guest userland in a cache; this package assembles the initramfs, boots the
// guest and reads its serial console. See README.md.
package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Console markers printed by guest/init and guest/run-tests.sh.
const (
	markerUp      = "E2E-GUEST-UP"
	markerDone    = "E2E-DONE rc="
	markerInitErr = "E2E-INIT-FAILED"
)

// guestFiles are copied to the guest's root: /init, /etc/hosts, ...
//
//go:embed guest
var guestFiles embed.FS

// powerOffGrace is how long QEMU may run on after the guest reported its
// result; a variable for the tests.
var powerOffGrace = 30 * time.Second

// TestRunner is the guest script that runs the Go test binaries of a payload
// built by build-payload.sh; set it as a Guest's ScriptData.
//
//go:embed run-tests.sh
var TestRunner []byte

// DefaultCache is where fetch.sh keeps its downloads and prepared trees:
// $E2E_CACHE, else $XDG_CACHE_HOME/goipvsadm-e2e, else ~/.cache/goipvsadm-e2e.
func DefaultCache() string {
	if c := os.Getenv("E2E_CACHE"); c != "" {
		return c
	}
	if c := os.Getenv("XDG_CACHE_HOME"); c != "" {
		return filepath.Join(c, "goipvsadm-e2e")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "goipvsadm-e2e")
}

// A Kernel is a kernel prepared by fetch.sh.
type Kernel struct {
	Name    string // short name: "6.1", "6.12"
	Release string // uname -r
	Vmlinuz string // host path of the kernel image
	Modules string // host directory holding lib/modules/<release>
}

// LoadKernel finds the kernel called name in the cache.
func LoadKernel(cache, name string) (Kernel, error) {
	dir := filepath.Join(cache, "kernels", name)
	release, err := os.ReadFile(filepath.Join(dir, "release"))
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel %s is not prepared (run make e2e-fetch): %w", name, err)
	}
	k := Kernel{
		Name:    name,
		Release: strings.TrimSpace(string(release)),
		Vmlinuz: filepath.Join(dir, "vmlinuz"),
		Modules: filepath.Join(dir, "modules"),
	}
	if _, err := os.Stat(k.Vmlinuz); err != nil {
		return Kernel{}, fmt.Errorf("kernel %s is not prepared (run make e2e-fetch): %w", name, err)
	}
	return k, nil
}

// A Guest describes what goes into the initramfs.
type Guest struct {
	Kernel Kernel
	RootFS string // userland from fetch.sh: busybox, ipvsadm, iproute2, libraries

	// Overlays are host directories copied over the root, in order.
	Overlays []string
	// Script is the host path of the shell script the guest runs as
	// /e2e/run.sh once the system is ready. ScriptData, if not nil, is
	// that script's text instead.
	Script     string
	ScriptData []byte
	// Env holds variables exported to the script, as KEY=value.
	Env []string
}

// WriteInitramfs writes the guest's initramfs to w.
func (g *Guest) WriteInitramfs(w io.Writer) error {
	a := NewInitramfs(w)
	if err := a.Tree("/", g.RootFS); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := a.Tree("/", g.Kernel.Modules); err != nil {
		return fmt.Errorf("modules: %w", err)
	}
	// The committed guest files: /init, /etc/hosts, ...
	err := fs.WalkDir(guestFiles, "guest", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := guestFiles.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "guest")
		perm := fs.FileMode(0o644)
		if name == "/init" || strings.HasSuffix(name, ".sh") {
			perm = 0o755
		}
		return a.File(name, perm, data)
	})
	if err != nil {
		return fmt.Errorf("guest files: %w", err)
	}
	for _, dir := range []string{"/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/var/run"} {
		if err := a.Dir(dir, 0o755); err != nil {
			return err
		}
	}
	for _, dir := range g.Overlays {
		if err := a.Tree("/", dir); err != nil {
			return fmt.Errorf("overlay %s: %w", dir, err)
		}
	}
	switch {
	case g.ScriptData != nil:
		if err := a.File("/e2e/run.sh", 0o755, g.ScriptData); err != nil {
			return fmt.Errorf("script: %w", err)
		}
	case g.Script != "":
		if err := a.HostFile("/e2e/run.sh", g.Script); err != nil {
			return fmt.Errorf("script: %w", err)
		}
	}
	var env strings.Builder
	for _, kv := range g.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !validEnvName.MatchString(k) {
			return fmt.Errorf("bad environment entry %q", kv)
		}
		fmt.Fprintf(&env, "export %s=%s\n", k, shellQuote(v))
	}
	if err := a.File("/e2e/env", 0o644, []byte(env.String())); err != nil {
		return err
	}
	return a.Close()
}

var validEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// RunOptions control a boot.
type RunOptions struct {
	// Timeout bounds the whole boot; IdleTimeout bounds the time without
	// any console output, to detect a hung guest early.
	Timeout, IdleTimeout time.Duration
	// Console, if set, receives each console line as it arrives.
	Console func(line string)
	// QEMU is the emulator binary; default qemu-system-x86_64.
	QEMU string
	// MemoryMiB is the guest's memory; default 1024.
	MemoryMiB int
	// CPUs is the guest's number of virtual CPUs; default 1.
	CPUs int
	// PowerOffGrace is how long the guest may run on after E2E-DONE before
	// QEMU is stopped; default 30s.
	PowerOffGrace time.Duration
}

// A Result describes a finished boot.
type Result struct {
	ExitCode int           // the payload's exit status from the E2E-DONE marker, or -1
	Done     bool          // the guest printed E2E-DONE
	Panic    bool          // the kernel panicked
	BootTime time.Duration // from starting QEMU to the guest's init running
	Elapsed  time.Duration
	Console  []string // every console line
}

// Err reports why a boot failed, or nil if the payload ran and exited 0.
func (r *Result) Err() error {
	switch {
	case r.Panic:
		return errors.New("guest kernel panicked")
	case !r.Done:
		return errors.New("guest stopped without reporting a result")
	case r.ExitCode != 0:
		return fmt.Errorf("guest payload exited with status %d", r.ExitCode)
	}
	return nil
}

// QEMUArgs returns the emulator arguments booting kernel with initrd.
// TCG only: KVM is not usable where the tests run (nested virtualisation),
// and -nic none means the guest cannot send traffic anywhere. no_timer_check
// skips the kernel's IO-APIC timer test, which a slow emulated CPU on a busy
// host can fail ("IO-APIC + timer doesn't work"), panicking the boot.
func QEMUArgs(vmlinuz, initrd string) []string {
	return append(baseQEMUArgs(vmlinuz), "-initrd", initrd, "-append", guestCmdline)
}

// guestCmdline is the kernel command line of every guest.
const guestCmdline = "console=ttyS0 panic=-1 quiet no_timer_check"

// baseQEMUArgs are the emulator arguments every guest boots with.
func baseQEMUArgs(vmlinuz string) []string {
	return []string{
		"-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "1",
		"-nic", "none", "-nographic", "-no-reboot",
		"-kernel", vmlinuz,
	}
}

// Run boots the guest once and waits for it to power off. Its error is about
// running QEMU (including timeouts); what happened inside is in the Result.
func (g *Guest) Run(ctx context.Context, opts RunOptions) (*Result, error) {
	tmp, err := os.MkdirTemp("", "goipvsadm-e2e-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	initrd := filepath.Join(tmp, "initrd.cpio")
	f, err := os.Create(initrd)
	if err != nil {
		return nil, err
	}
	if err := g.WriteInitramfs(f); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}

	return runQEMU(ctx, QEMUArgs(g.Kernel.Vmlinuz, initrd), opts)
}

// runQEMU runs QEMU with args, reads the console and waits for the guest to
// power off.
func runQEMU(ctx context.Context, args []string, opts RunOptions) (*Result, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if opts.MemoryMiB > 0 {
		args[slices.Index(args, "-m")+1] = strconv.Itoa(opts.MemoryMiB)
	}
	if opts.CPUs > 0 {
		args[slices.Index(args, "-smp")+1] = strconv.Itoa(opts.CPUs)
	}
	cmd := exec.CommandContext(ctx, opts.QEMU, args...)
	cmd.Stdin = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	// Kill the whole process group, so that nothing QEMU (or a stand-in
	// script) started keeps the console pipe open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	res := &Result{ExitCode: -1}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", opts.QEMU, err)
	}
	// The idle timer kills a guest that went silent; every console line
	// resets it.
	var (
		mu      sync.Mutex
		idleHit bool
	)
	idle := time.AfterFunc(opts.IdleTimeout, func() {
		mu.Lock()
		idleHit = true
		mu.Unlock()
		cancel()
	})
	defer idle.Stop()
	res.readConsole(out, opts, start, func() {
		idle.Reset(opts.IdleTimeout)
	}, func() {
		// The guest powers off next; if QEMU lingers, stop it.
		time.AfterFunc(opts.PowerOffGrace, cancel)
	})
	waitErr := cmd.Wait()
	res.Elapsed = time.Since(start)
	if res.Done {
		// Finished: however QEMU ended, the payload's result stands.
		return res, nil
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case idleHit:
		return res, fmt.Errorf("guest printed nothing for %v, killed it", opts.IdleTimeout)
	case ctx.Err() != nil:
		return res, fmt.Errorf("guest did not finish within %v", opts.Timeout)
	case waitErr != nil:
		return res, fmt.Errorf("%s: %w: %s", opts.QEMU, waitErr, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

// withDefaults fills in the zero fields of o that have defaults.
func (o RunOptions) withDefaults() RunOptions {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 3 * time.Minute
	}
	if o.QEMU == "" {
		o.QEMU = "qemu-system-x86_64"
	}
	if o.PowerOffGrace == 0 {
		o.PowerOffGrace = powerOffGrace
	}
	return o
}

// readConsole reads the guest's console until it closes, into res: each
// line (also to opts.Console), the boot time (from start), a kernel panic,
// and the payload's exit code. It calls line for every line and done once
// the payload has finished.
func (res *Result) readConsole(out io.Reader, opts RunOptions, start time.Time, line, done func()) {
	scan := bufio.NewScanner(out)
	scan.Buffer(make([]byte, 64*1024), 1024*1024)
	for scan.Scan() {
		line()
		l := cleanConsoleLine(scan.Text())
		res.Console = append(res.Console, l)
		if opts.Console != nil {
			opts.Console(l)
		}
		switch _, code, isDone := strings.Cut(l, markerDone); {
		case strings.Contains(l, markerUp) && res.BootTime == 0:
			res.BootTime = time.Since(start)
		case strings.Contains(l, "Kernel panic"):
			res.Panic = true
		case isDone && !res.Done:
			if n, err := strconv.Atoi(strings.TrimSpace(code)); err == nil {
				res.ExitCode = n
			}
			res.Done = true
			done()
		}
	}
}

// terminalControl matches the escape sequences the firmware prints to reset
// the terminal; they would garble the test log.
var terminalControl = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])`)

func cleanConsoleLine(s string) string {
	return terminalControl.ReplaceAllString(strings.TrimRight(s, "\r"), "")
}

// A PackageResult is the outcome of one Go test binary in the guest.
type PackageResult struct {
	Package  string
	Finished bool     // its result marker was seen
	Passed   bool     // it exited 0
	Output   []string // console lines between its start and result markers
}

// PackageResults extracts the per-package results that guest/run-tests.sh
// reports on the console, in order.
func PackageResults(console []string) []PackageResult {
	var results []PackageResult
	running := false // between a start marker and its result
	for _, line := range console {
		switch {
		case strings.HasPrefix(line, "E2E-PKG-START "):
			pkg := strings.TrimSpace(strings.TrimPrefix(line, "E2E-PKG-START "))
			results = append(results, PackageResult{Package: pkg})
			running = true
		case strings.HasPrefix(line, "E2E-PKG-RESULT "):
			f := strings.Fields(line)
			if running && len(f) >= 3 && f[1] == results[len(results)-1].Package {
				last := &results[len(results)-1]
				last.Finished = true
				last.Passed = f[2] == "PASS"
			}
			running = false
		case running:
			last := &results[len(results)-1]
			last.Output = append(last.Output, line)
		}
	}
	return results
}

// TestdataArchives extracts the testdata/ archives that guest/run-tests.sh
// prints with E2E_UPDATE=1: package directory -> gzipped tar.
func TestdataArchives(console []string) (map[string][]byte, error) {
	archives := make(map[string][]byte)
	var (
		dir string
		b64 strings.Builder
		in  bool
	)
	for _, line := range console {
		switch {
		case strings.HasPrefix(line, "E2E-TESTDATA-BEGIN "):
			dir, in = strings.TrimSpace(strings.TrimPrefix(line, "E2E-TESTDATA-BEGIN ")), true
			b64.Reset()
		case strings.HasPrefix(line, "E2E-TESTDATA-END "):
			if !in {
				continue
			}
			in = false
			data, err := base64.StdEncoding.DecodeString(b64.String())
			if err != nil {
				return nil, fmt.Errorf("testdata of %s: %w", dir, err)
			}
			archives[dir] = data
		case in && isBase64Line(line):
			b64.WriteString(line)
		}
		// Other lines inside a block are kernel messages that got in
		// between; base64 never contains their '[' or spaces.
	}
	return archives, nil
}

func isBase64Line(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=') {
			return false
		}
	}
	return true
}

// WriteTestdata unpacks a testdata archive from TestdataArchives into
// root/dir, replacing files of the same name. Only directories and regular
// files inside testdata/ are accepted. It returns the files written.
func WriteTestdata(root, dir string, tgz []byte) ([]string, error) {
	if !filepath.IsLocal(dir) {
		return nil, fmt.Errorf("package directory %q is not inside the module", dir)
	}
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var written []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return written, nil
		}
		if err != nil {
			return written, err
		}
		name := filepath.FromSlash(strings.TrimPrefix(h.Name, "./"))
		if !filepath.IsLocal(name) || (name != "testdata" && !strings.HasPrefix(name, "testdata"+string(filepath.Separator))) {
			return written, fmt.Errorf("%s: archive entry %q is outside testdata/", dir, h.Name)
		}
		dst := filepath.Join(root, dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return written, err
			}
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				return written, err
			}
			if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return written, err
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return written, err
			}
			written = append(written, filepath.Join(dir, name))
		default:
			return written, fmt.Errorf("%s: archive entry %q is neither a file nor a directory", dir, h.Name)
		}
	}
}
