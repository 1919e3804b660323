package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tgz builds a gzipped tar of the given entries; a name ending in "/" is a
// directory.
func tgz(t *testing.T, entries map[string]string, order ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range order {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(entries[name])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		must(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(entries[name]))
		must(t, err)
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

func TestTestdataRoundTrip(t *testing.T) {
	archive := tgz(t, map[string]string{
		"testdata/":                 "",
		"testdata/scripts/":         "",
		"testdata/scripts/nat.txt":  "new transcript\n",
		"testdata/scripts/same.txt": "unchanged\n",
	}, "testdata/", "testdata/scripts/", "testdata/scripts/nat.txt", "testdata/scripts/same.txt")

	// The guest prints base64 in 76-column lines; a kernel message may
	// land in the middle.
	enc := base64.StdEncoding.EncodeToString(archive)
	console := []string{"--- PASS: TestX (0.00s)", "E2E-TESTDATA-BEGIN cmd/tool"}
	for len(enc) > 76 {
		console = append(console, enc[:76])
		enc = enc[76:]
		if len(console) == 3 {
			console = append(console, "[   22.747840] IPVS: ip_vs_add_dest(): lower threshold is higher than upper threshold")
		}
	}
	console = append(console, enc, "E2E-TESTDATA-END cmd/tool", "E2E-DONE rc=0")

	archives, err := TestdataArchives(console)
	if err != nil {
		t.Fatal(err)
	}
	if len(archives) != 1 || !bytes.Equal(archives["cmd/tool"], archive) {
		t.Fatalf("TestdataArchives = %d archives, cmd/tool intact: %v", len(archives), bytes.Equal(archives["cmd/tool"], archive))
	}

	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "cmd/tool/testdata/scripts"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "cmd/tool/testdata/scripts/nat.txt"), []byte("old\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "cmd/tool/testdata/scripts/same.txt"), []byte("unchanged\n"), 0o644))
	written, err := WriteTestdata(root, "cmd/tool", archives["cmd/tool"])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"cmd/tool/testdata/scripts/nat.txt"}, written); diff != "" {
		t.Errorf("written files (-want +got):\n%s", diff)
	}
	got, err := os.ReadFile(filepath.Join(root, "cmd/tool/testdata/scripts/nat.txt"))
	must(t, err)
	if string(got) != "new transcript\n" {
		t.Errorf("nat.txt = %q", got)
	}
}

func TestWriteTestdataStaysInTestdata(t *testing.T) {
	for _, name := range []string{"../escape.txt", "testdata/../../escape.txt", "go.mod", "/etc/passwd"} {
		root := t.TempDir()
		_, err := WriteTestdata(root, "pkg", tgz(t, map[string]string{name: "x"}, name))
		if err == nil {
			t.Errorf("entry %q accepted", name)
		}
	}
	if _, err := WriteTestdata(t.TempDir(), "../other", tgz(t, nil)); err == nil {
		t.Error("package directory outside the module accepted")
	}
}
