package main

import (
	"context"
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// snapshot reads the fake kernel's table.
func (f *fakeRun) snapshot(t *testing.T) []ipvs.ServiceEntry {
	t.Helper()
	c, err := ipvs.New(&ipvs.Config{Dial: f.k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	entries, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestRestoreNegativeFWMark: ipvsadm -S writes a mark of 2^31 or more as a
// negative number (-1294967296 for 3000000000); every kind of -R reads it
// back as that mark. (A boot restore of such a table used to restore
// nothing: the mark was refused and the restore is all-or-nothing.)
func TestRestoreNegativeFWMark(t *testing.T) {
	const saved = "-A -f -1294967296 -s rr\n-a -f -1294967296 -r 10.0.0.2:0 -g -w 1\n-A -f -1 -6 -s wlc\n"
	for _, mode := range [][]string{{"-R"}, {"-R", "--sync"}, {"-R", "--atomic"}, {"-R", "--sync", "--atomic"}} {
		f := newFakeRun(t)
		if r := f.run(mode, saved); r.exit != 0 || r.stderr != "" {
			t.Errorf("%q: %+v", mode, r)
			continue
		}
		entries := f.snapshot(t)
		if len(entries) != 2 {
			t.Errorf("%q: %d services, want 2: %+v", mode, len(entries), entries)
			continue
		}
		marks := map[uint32]ipvs.Family{}
		for _, e := range entries {
			marks[e.Service.FWMark] = e.Service.Family
		}
		if marks[3000000000] != ipvs.IPv4 || marks[4294967295] != ipvs.IPv6 {
			t.Errorf("%q: marks %v, want 3000000000 (IPv4) and 4294967295 (IPv6)", mode, marks)
		}
		for _, e := range entries {
			if e.Service.FWMark == 3000000000 && len(e.Destinations) != 1 {
				t.Errorf("%q: mark 3000000000 has %d real servers, want 1", mode, len(e.Destinations))
			}
		}
	}
	// On the command line a negative mark stays refused, as in ipvsadm.
	f := newFakeRun(t)
	r := f.run([]string{"-A", "-f", "-5", "-s", "rr"}, "")
	if r.exit != 2 || r.stderr != "invalid fwmark value `-5' specified\n" {
		t.Errorf("-A -f -5: %+v", r)
	}
}

// TestLosslessSaveKeepsThresholds: the boot cycle (save on stop with
// -S --lossless, restore at boot with -R --atomic --sync) keeps the real
// servers' thresholds, which -S drops.
func TestLosslessSaveKeepsThresholds(t *testing.T) {
	f := newFakeRun(t)
	for _, args := range [][]string{
		{"-A", "-t", "10.0.0.1:80", "-s", "wrr"},
		{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-m", "-w", "3", "-x", "1000", "-y", "500"},
		{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.3:8080", "-m", "-x", "7"},
	} {
		if r := f.run(args, ""); r.exit != 0 {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	before := f.snapshot(t)
	saved := f.run([]string{"-S", "--lossless"}, "")
	if saved.exit != 0 || saved.stderr != "" {
		t.Fatalf("-S --lossless: %+v", saved)
	}
	f.run([]string{"-C"}, "")
	if r := f.run([]string{"-R", "--atomic", "--sync"}, saved.stdout); r.exit != 0 {
		t.Fatalf("-R --atomic --sync of\n%s: %+v", saved.stdout, r)
	}
	after := f.snapshot(t)
	if len(after) != 1 || len(after[0].Destinations) != 2 {
		t.Fatalf("restored %+v", after)
	}
	for i, d := range after[0].Destinations {
		b := before[0].Destinations[i]
		if d.UpperThreshold != b.UpperThreshold || d.LowerThreshold != b.LowerThreshold {
			t.Errorf("%v: thresholds %d/%d after the cycle, want %d/%d\nsaved:\n%s",
				d.Addr, d.UpperThreshold, d.LowerThreshold, b.UpperThreshold, b.LowerThreshold, saved.stdout)
		}
	}
}

// TestLosslessSaveRefusesWhatNoRulesFileHolds: a value only the kernel
// interface sets (here a threshold over 2^31-1, which -x refuses) is saved
// as well as it can be, named on stderr, and the save exits 1, so that
// the boot helper keeps the rules file it had.
func TestLosslessSaveRefusesWhatNoRulesFileHolds(t *testing.T) {
	f := newFakeRun(t)
	c, err := ipvs.New(&ipvs.Config{Dial: f.k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "rr"}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	d := ipvs.Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1, UpperThreshold: 3000000000}
	if err := c.CreateDestination(ctx, svc.Key(), d); err != nil {
		t.Fatal(err)
	}
	r := f.run([]string{"-S", "--lossless"}, "")
	wantOut := "--set 900 120 300\n-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1 -x 3000000000\n"
	wantErr := "ipvsadm: the save is not lossless: \"-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1 -x 3000000000\" cannot restore the kernel's table: illegal u_threshold specified\n"
	if r.exit != 1 || r.stdout != wantOut || r.stderr != wantErr {
		t.Errorf("-S --lossless: %+v\nwant exit 1, stdout %q, stderr %q", r, wantOut, wantErr)
	}
	// Plain -S stays ipvsadm's: it never checks.
	if r := f.run([]string{"-S", "-n"}, ""); r.exit != 0 || r.stderr != "" {
		t.Errorf("-S -n: %+v", r)
	}
}
