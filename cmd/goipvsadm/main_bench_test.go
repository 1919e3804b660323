package main

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/benchrules"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

// goipvsadm's -R, -Sn and -Ln in-process against the in-memory kernel:
// parsing, the library and formatting, without process start-up or a
// real kernel (make bench measures those in a guest).

type benchApp struct {
	k *ipvstest.Kernel
}

func (f benchApp) run(b *testing.B, stdin []byte, stdout io.Writer, args ...string) {
	var errb bytes.Buffer
	a := &app{
		argv0:    "ipvsadm",
		stdin:    bytes.NewReader(stdin),
		stdout:   bufio.NewWriterSize(stdout, 64<<10),
		stderr:   &errb,
		open:     func() (*ipvs.Client, error) { return ipvs.New(&ipvs.Config{Dial: f.k.Dial}) },
		procRoot: b.TempDir(),
		names:    testNames(),
	}
	code := a.main(args)
	a.stdout.Flush()
	if code != 0 || errb.Len() > 0 {
		b.Fatalf("goipvsadm %q: exit %d: %s", args, code, errb.String())
	}
}

func benchmarkRestore(b *testing.B, n, m int, args ...string) {
	in := benchrules.Rules(n, m)
	f := benchApp{k: ipvstest.New()}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		f.run(b, nil, io.Discard, "-C")
		b.StartTimer()
		f.run(b, in, io.Discard, append([]string{"-R"}, args...)...)
	}
}

// BenchmarkRestore10kx10 restores 110,000 lines.
func BenchmarkRestore10kx10(b *testing.B) { benchmarkRestore(b, 10000, 10) }
func BenchmarkRestore1kx10(b *testing.B)  { benchmarkRestore(b, 1000, 10) }

// -R --atomic and -R --sync of 110,000 lines into an empty table.
func BenchmarkRestoreAtomic10kx10(b *testing.B) { benchmarkRestore(b, 10000, 10, "--atomic") }
func BenchmarkRestoreSync10kx10(b *testing.B)   { benchmarkRestore(b, 10000, 10, "--sync") }

// BenchmarkRestore100kx10 restores 1,100,000 lines.
func BenchmarkRestore100kx10(b *testing.B) { benchmarkRestore(b, 100000, 10) }

// -R --sync of the rules of the table already there: the table read,
// diffed and left alone.
func BenchmarkRestoreSyncUnchanged10kx0(b *testing.B)  { benchmarkSyncUnchanged(b, 10000, 0) }
func BenchmarkRestoreSyncUnchanged10kx10(b *testing.B) { benchmarkSyncUnchanged(b, 10000, 10) }
func BenchmarkRestoreSyncUnchanged100kx0(b *testing.B) { benchmarkSyncUnchanged(b, 100000, 0) }
func BenchmarkRestoreSyncUnchanged1kx100(b *testing.B) { benchmarkSyncUnchanged(b, 1000, 100) }

func benchmarkSyncUnchanged(b *testing.B, n, m int) {
	in := benchrules.Rules(n, m)
	f := benchApp{k: ipvstest.New()}
	f.run(b, in, io.Discard, "-R")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		f.run(b, in, io.Discard, "-R", "--sync")
	}
}

func benchmarkList(b *testing.B, n, m int, args ...string) {
	f := benchApp{k: ipvstest.New()}
	f.run(b, benchrules.Rules(n, m), io.Discard, "-R")
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		f.run(b, nil, &out, args...)
	}
	b.SetBytes(int64(out.Len()))
}

func BenchmarkSaveNumeric10kx10(b *testing.B) { benchmarkList(b, 10000, 10, "-Sn") }
func BenchmarkListNumeric10kx10(b *testing.B) { benchmarkList(b, 10000, 10, "-Ln") }
func BenchmarkSaveNumeric16kx1(b *testing.B)  { benchmarkList(b, 16000, 1, "-Sn") }
func BenchmarkListNumeric16kx1(b *testing.B)  { benchmarkList(b, 16000, 1, "-Ln") }

// Ten times the services should cost goipvsadm at most eleven times the
// time (the in-memory kernel's own cost per request does not grow with its
// table, unlike a real kernel's).
func BenchmarkListNumeric10kx0(b *testing.B)  { benchmarkList(b, 10000, 0, "-Ln") }
func BenchmarkListNumeric100kx0(b *testing.B) { benchmarkList(b, 100000, 0, "-Ln") }
func BenchmarkSaveNumeric10kx1(b *testing.B)  { benchmarkList(b, 10000, 1, "-Sn") }
func BenchmarkSaveNumeric100kx1(b *testing.B) { benchmarkList(b, 100000, 1, "-Sn") }
