package listing

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goipvsadm/goipvsadm/internal/listing/testtable"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

var update = flag.Bool("update", false, "rewrite golden files")

// servicesOnly resolves port names from the test services table and no
// host names at all, like the machine the captures were taken on.
func servicesOnly() *names.Resolver {
	return &names.Resolver{ServicesPath: "testdata/services"}
}

func namedResolver() *names.Resolver {
	return &names.Resolver{HostsPath: "testdata/hosts", ServicesPath: "testdata/services"}
}

// compareText fails the test with a line diff when got and want differ.
func compareText(t *testing.T, name, want, got string) {
	t.Helper()
	if diff := cmp.Diff(strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// golden compares got with testdata/<name>.golden, rewriting it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	compareText(t, path, string(want), got)
}

func table(opts Options, r *names.Resolver, entries []ipvs.ServiceEntry) string {
	var buf bytes.Buffer
	w := NewWriter(&buf, opts, r)
	w.Table(testtable.Info, entries)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.String()
}

// TestCaptures reproduces every -L capture of the reference byte for byte
// from the kernel values behind it. The captures are ipvsadm's real
// output and are never regenerated.
func TestCaptures(t *testing.T) {
	tests := []struct {
		file string
		opts Options
	}{
		{"Ln", Options{Numeric: true}},
		{"L", Options{}},
		{"Ln-stats", Options{Numeric: true, Stats: true}},
		{"Ln-stats-exact", Options{Numeric: true, Stats: true, Exact: true}},
		{"Ln-rate", Options{Numeric: true, Rate: true}},
		{"Ln-thresholds", Options{Numeric: true, Thresholds: true}},
		{"Ln-persistent-conn", Options{Numeric: true, PersistentConn: true}},
		{"Ln-tun-info", Options{Numeric: true, TunInfo: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "captures", tt.file+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			got := table(tt.opts, servicesOnly(), testtable.Capture(false))
			compareText(t, tt.file, string(want), got)
		})
	}
}

// TestFull64 shows the one intended difference: destination counters
// keep all 64 bits.
func TestFull64(t *testing.T) {
	for _, name := range []string{"stats", "stats-exact", "rate", "rate-exact"} {
		t.Run(name, func(t *testing.T) {
			opts := Options{Numeric: true, Stats: strings.HasPrefix(name, "stats"), Rate: strings.HasPrefix(name, "rate"),
				Exact: strings.HasSuffix(name, "exact")}
			golden(t, "full64-"+name, table(opts, nil, testtable.Capture(true)))
		})
	}
}

func TestFormatPrecedence(t *testing.T) {
	tests := []struct {
		opts Options
		want Format
	}{
		{Options{}, FormatDefault},
		{Options{TunInfo: true}, FormatTunInfo},
		{Options{TunInfo: true, PersistentConn: true}, FormatPersistentConn},
		{Options{TunInfo: true, PersistentConn: true, Thresholds: true}, FormatThresholds},
		{Options{TunInfo: true, PersistentConn: true, Thresholds: true, Rate: true}, FormatRate},
		{Options{TunInfo: true, PersistentConn: true, Thresholds: true, Rate: true, Stats: true}, FormatStats},
		{Options{Stats: true, Exact: true, Numeric: true}, FormatStats},
	}
	for _, tt := range tests {
		if got := tt.opts.Format(); got != tt.want {
			t.Errorf("%+v: Format() = %d, want %d", tt.opts, got, tt.want)
		}
	}
}

func TestLargeNum(t *testing.T) {
	tests := []struct {
		v            uint64
		scaled, full string
	}{
		{0, "        0", "        0"},
		{99999999, " 99999999", " 99999999"},
		{100000000, "  100000K", " 100000000"},
		{999999999, "  999999K", " 999999999"},
		{1000000000, "    1000M", " 1000000000"},
		{99999999999, "   99999M", " 99999999999"},
		{100000000000, "     100G", " 100000000000"},
		{99999999999999, "   99999G", " 99999999999999"},
		{100000000000000, "     100T", " 100000000000000"},
		{18446744073709551615, "18446744T", " 18446744073709551615"},
	}
	for _, tt := range tests {
		if got := string(AppendLargeNum(nil, tt.v, false)); got != tt.scaled {
			t.Errorf("AppendLargeNum(%d) = %q, want %q", tt.v, got, tt.scaled)
		}
		if got := string(AppendLargeNum(nil, tt.v, true)); got != tt.full {
			t.Errorf("AppendLargeNum(%d, exact) = %q, want %q", tt.v, got, tt.full)
		}
	}
}

func TestLargeNumWidths(t *testing.T) {
	// Without --exact every number takes 9 columns (%9llu or %8llu and
	// the unit), so a 9-digit T value (max uint64) leaves no blank before
	// it.
	for _, v := range []uint64{0, 1, 99999999, 100000000, 999999999, 1e9, 1e11 - 1, 1e11, 1e14 - 1, 1e14, 9999999e12, 18446744073709551615} {
		if got := AppendLargeNum(nil, v, false); len(got) != 9 {
			t.Errorf("AppendLargeNum(%d) = %q: %d columns, want 9", v, got, len(got))
		}
	}
}
