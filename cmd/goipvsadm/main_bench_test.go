package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
)

// goipvsadm's -R, -Sn and -Ln in-process against the in-memory kernel:
// parsing, the library and formatting, without process start-up or a
// real kernel (make bench measures those in a guest).

// benchRules is ipvsadm -R input for n services with m destinations each.
func benchRules(n, m int) []byte {
	var b bytes.Buffer
	scheds := []string{"wlc", "rr", "wrr", "lc", "sh"}
	for i := range n {
		v := i/4 + 1
		port := []int{80, 443, 53, 8080}[i%4]
		proto := "-t"
		if port == 53 {
			proto = "-u"
		}
		svc := fmt.Sprintf("%s 10.%d.%d.%d:%d", proto, 100+v>>16, byte(v>>8), byte(v), port)
		fmt.Fprintf(&b, "-A %s -s %s\n", svc, scheds[i%len(scheds)])
		for j := range m {
			p := v*m + j
			rip := fmt.Sprintf("172.%d.%d.%d", 16+p>>16, byte(p>>8), byte(p))
			if (i+j)%10 < 6 {
				fmt.Fprintf(&b, "-a %s -r %s:%d -m -w %d\n", svc, rip, 8000+port%1000, (i*7+j*3)%11)
			} else {
				fmt.Fprintf(&b, "-a %s -r %s:%d -g -w %d\n", svc, rip, port, (i*7+j*3)%11)
			}
		}
	}
	return b.Bytes()
}

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

func benchmarkRestore(b *testing.B, n, m int) {
	in := benchRules(n, m)
	f := benchApp{k: ipvstest.New()}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		f.run(b, nil, io.Discard, "-C")
		b.StartTimer()
		f.run(b, in, io.Discard, "-R")
	}
}

// BenchmarkRestore10kx10 restores 110,000 lines.
func BenchmarkRestore10kx10(b *testing.B) { benchmarkRestore(b, 10000, 10) }
func BenchmarkRestore1kx10(b *testing.B)  { benchmarkRestore(b, 1000, 10) }

func benchmarkList(b *testing.B, n, m int, args ...string) {
	f := benchApp{k: ipvstest.New()}
	f.run(b, benchRules(n, m), io.Discard, "-R")
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
