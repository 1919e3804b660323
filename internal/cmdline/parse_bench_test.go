package cmdline

import "testing"

// One -R line of each kind, parsed with a reused Parser as restore does
// for every line of its input.
func benchmarkParse(b *testing.B, args []string) {
	p := NewParser()
	if _, err := p.Parse("ipvsadm", args); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse("ipvsadm", args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAddService(b *testing.B) {
	benchmarkParse(b, []string{"-A", "-t", "10.100.0.1:80", "-s", "wlc", "-p", "300"})
}

func BenchmarkParseAddDest(b *testing.B) {
	benchmarkParse(b, []string{"-a", "-t", "10.100.0.1:80", "-r", "172.16.0.2:8080", "-m", "-w", "3"})
}

func BenchmarkParseAddDestTunnel(b *testing.B) {
	benchmarkParse(b, []string{"-a", "-u", "[2001:db8::1]:53", "-r", "[2001:db8:200::2]:53", "-i",
		"--tun-type", "gue", "--tun-port", "6080", "-w", "5"})
}

func BenchmarkParseList(b *testing.B) {
	benchmarkParse(b, []string{"-L", "-n"})
}

// BenchmarkParseNewParser includes making the Parser, as a single
// goipvsadm command line does.
func BenchmarkParseNewParser(b *testing.B) {
	args := []string{"-a", "-t", "10.100.0.1:80", "-r", "172.16.0.2:8080", "-m", "-w", "3"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("ipvsadm", args); err != nil {
			b.Fatal(err)
		}
	}
}
