package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cpioEntry is one parsed newc record.
type cpioEntry struct {
	Name string
	Mode uint32
	Data string
}

// parseNewc reads a newc archive the way the kernel does: header, name and
// data, each padded to 4 bytes, up to the trailer.
func parseNewc(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var entries []cpioEntry
	off := 0
	align := func(n int) int { return (n + 3) &^ 3 }
	for {
		if off+110 > len(b) {
			t.Fatalf("truncated header at %d", off)
		}
		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("bad magic %q at %d", h[:6], off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("field %d at %d: %v", i, off, err)
			}
			return int(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		if uid, gid := field(2), field(3); uid != 0 || gid != 0 {
			t.Errorf("entry at %d owned by %d:%d, want root", off, uid, gid)
		}
		nameStart := off + 110
		name := string(b[nameStart : nameStart+namesize-1])
		if b[nameStart+namesize-1] != 0 {
			t.Fatalf("name %q not NUL-terminated", name)
		}
		dataStart := align(nameStart + namesize)
		if name == "TRAILER!!!" {
			if rest := b[dataStart:]; len(rest) != 0 {
				t.Errorf("%d bytes after the trailer", len(rest))
			}
			return entries
		}
		entries = append(entries, cpioEntry{Name: name, Mode: uint32(mode), Data: string(b[dataStart : dataStart+size])})
		off = align(dataStart + size)
	}
}

func TestInitramfs(t *testing.T) {
	// A host tree like fetch.sh's rootfs: merged /usr with a /bin symlink.
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "usr/bin/tool"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(t, os.Symlink("usr/bin", filepath.Join(root, "bin")))
	// An overlay that writes through the symlinked directory and replaces
	// a file.
	overlay := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(overlay, "bin"), 0o700))
	must(t, os.WriteFile(filepath.Join(overlay, "bin/extra"), []byte("x"), 0o644))
	must(t, os.MkdirAll(filepath.Join(overlay, "usr/bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(overlay, "usr/bin/tool"), []byte("new"), 0o700))

	var buf bytes.Buffer
	a := NewInitramfs(&buf)
	must(t, a.Tree("/", root))
	must(t, a.Tree("/", overlay))
	must(t, a.File("/e2e/deep/env", 0o600, []byte("abcde")))
	must(t, a.Symlink("/sbin/modprobe", "/bin/busybox"))
	must(t, a.Close())

	got := parseNewc(t, buf.Bytes())
	want := []cpioEntry{
		{Name: "bin", Mode: 0o120777, Data: "usr/bin"},
		{Name: "usr", Mode: 0o40755},
		{Name: "usr/bin", Mode: 0o40755},
		{Name: "usr/bin/tool", Mode: 0o100755, Data: "#!/bin/sh\necho hi\n"},
		// No "bin" directory: it would replace the symlink in the guest.
		{Name: "bin/extra", Mode: 0o100644, Data: "x"},
		{Name: "usr/bin/tool", Mode: 0o100700, Data: "new"},
		{Name: "e2e", Mode: 0o40755},
		{Name: "e2e/deep", Mode: 0o40755},
		{Name: "e2e/deep/env", Mode: 0o100600, Data: "abcde"},
		{Name: "sbin", Mode: 0o40755},
		{Name: "sbin/modprobe", Mode: 0o120777, Data: "/bin/busybox"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}

	// GNU cpio, where installed, must read the archive too.
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("cpio", "-t", "--quiet")
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cpio -t: %v: %s", err, out)
		}
		var names []string
		for _, e := range want {
			names = append(names, e.Name)
		}
		if diff := cmp.Diff(strings.Join(names, "\n")+"\n", string(out)); diff != "" {
			t.Errorf("cpio -t (-want +got):\n%s", diff)
		}
	}
}

func TestInitramfsRejectsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Skip("cannot make a FIFO:", err)
	}
	a := NewInitramfs(&bytes.Buffer{})
	if err := a.Tree("/", dir); err == nil {
		t.Fatal("Tree accepted a FIFO")
	}
	if err := a.Close(); err == nil {
		t.Fatal("Close after a failed Tree succeeded")
	}
}

func TestGuestInitramfs(t *testing.T) {
	rootfs := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(rootfs, "usr/bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(rootfs, "usr/bin/busybox"), []byte("bb"), 0o755))
	modules := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(modules, "lib/modules/6.1.0-test"), 0o755))
	must(t, os.WriteFile(filepath.Join(modules, "lib/modules/6.1.0-test/modules.dep"), nil, 0o644))

	g := &Guest{
		Kernel:     Kernel{Name: "6.1", Release: "6.1.0-test", Modules: modules},
		RootFS:     rootfs,
		ScriptData: []byte("echo hello\n"),
		Env:        []string{"E2E_RUN=TestA|TestB$", "E2E_NOTE=it's"},
	}
	var buf bytes.Buffer
	must(t, g.WriteInitramfs(&buf))
	files := make(map[string]cpioEntry)
	for _, e := range parseNewc(t, buf.Bytes()) {
		files[e.Name] = e
	}
	for name, mode := range map[string]uint32{
		"init":                               0o100755,
		"etc/hosts":                          0o100644,
		"etc/nsswitch.conf":                  0o100644,
		"usr/bin/busybox":                    0o100755,
		"lib/modules/6.1.0-test/modules.dep": 0o100644,
		"e2e/run.sh":                         0o100755,
		"e2e/env":                            0o100644,
		"proc":                               0o40755,
		"tmp":                                0o40755,
	} {
		if got, ok := files[name]; !ok || got.Mode != mode {
			t.Errorf("%s: mode %o, present %v; want mode %o", name, got.Mode, ok, mode)
		}
	}
	if got := files["e2e/run.sh"].Data; got != "echo hello\n" {
		t.Errorf("run.sh = %q", got)
	}
	wantEnv := "export E2E_RUN='TestA|TestB$'\nexport E2E_NOTE='it'\\''s'\n"
	if got := files["e2e/env"].Data; got != wantEnv {
		t.Errorf("env = %q, want %q", got, wantEnv)
	}
	// The env file must mean the same to a real shell.
	if sh, err := exec.LookPath("sh"); err == nil {
		out, err := exec.Command(sh, "-c", wantEnv+`printf '%s\n%s' "$E2E_RUN" "$E2E_NOTE"`).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "TestA|TestB$\nit's" {
			t.Errorf("shell read env as %q", out)
		}
	}

	g.Env = []string{"1BAD=x"}
	if err := g.WriteInitramfs(&bytes.Buffer{}); err == nil {
		t.Error("WriteInitramfs accepted an invalid variable name")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
