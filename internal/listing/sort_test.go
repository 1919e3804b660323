package listing

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

func tcpService(addr string, port uint16) ipvs.Service {
	a := netip.MustParseAddr(addr)
	f := ipvs.IPv4
	if a.Is6() {
		f = ipvs.IPv6
	}
	return ipvs.Service{Family: f, Protocol: ipvs.TCP, Addr: a, Port: port, Scheduler: "wlc"}
}

func serviceKeys(s []ipvs.Service) []string {
	var out []string
	for _, svc := range s {
		out = append(out, svc.Key().String())
	}
	return out
}

func TestSortReferenceExample(t *testing.T) {
	// §4.9: first words 2^31 or more apart compare backwards.
	var s []ipvs.Service
	for _, a := range []string{"200.0.0.1", "10.0.0.1", "100.0.0.1", "150.0.0.1", "1.0.0.1"} {
		s = append(s, tcpService(a, 80))
	}
	SortServices(s)
	want := []string{"TCP 100.0.0.1:80", "TCP 150.0.0.1:80", "TCP 200.0.0.1:80", "TCP 1.0.0.1:80", "TCP 10.0.0.1:80"}
	if diff := cmp.Diff(want, serviceKeys(s)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestSortFWMarkAbove2to31(t *testing.T) {
	s := []ipvs.Service{
		{Family: ipvs.IPv4, FWMark: 7, Scheduler: "rr"},
		tcpService("10.0.0.1", 80),
		{Family: ipvs.IPv4, FWMark: 3000000000, Scheduler: "rr"},
		{Family: ipvs.IPv6, FWMark: 7, Scheduler: "rr"},
		{Family: ipvs.IPv4, Protocol: ipvs.UDP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 53},
		tcpService("2001:db8::1", 80),
		tcpService("10.0.0.1", 22),
	}
	SortServices(s)
	want := []string{
		"FWM 3000000000", // (int)(3000000000 - 0) < 0: before everything
		"TCP 10.0.0.1:22",
		"TCP 10.0.0.1:80",
		"UDP 10.0.0.1:53",
		"TCP [2001:db8::1]:80",
		"FWM 7",
		"FWM 7 IPv6",
	}
	if diff := cmp.Diff(want, serviceKeys(s)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestSortDestinations(t *testing.T) {
	mk := func(a string, port uint16) ipvs.Destination {
		return ipvs.Destination{Addr: netip.MustParseAddr(a), Port: port}
	}
	d := []ipvs.Destination{
		mk("192.168.1.3", 80), mk("2001:db8::1", 80), mk("192.168.1.2", 81), mk("192.168.1.2", 80),
		mk("10.0.0.1", 80), mk("2001:db8::1", 79),
	}
	SortDestinations(d)
	var got []string
	for _, x := range d {
		got = append(got, x.Key().String())
	}
	// 192.168.x.x is 2^31 or more above 10.0.0.1 and 2001:db8::/32, so
	// those compare "below" it; the rest follows the merge order.
	want := []string{"192.168.1.2:80", "192.168.1.2:81", "192.168.1.3:80", "10.0.0.1:80", "[2001:db8::1]:79", "[2001:db8::1]:80"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestPermute(t *testing.T) {
	s := []string{"a", "b", "c", "d", "e"}
	permute(s, []int32{3, 0, 4, 1, 2})
	if diff := cmp.Diff([]string{"d", "a", "e", "b", "c"}, s); diff != "" {
		t.Error(diff)
	}
}

// glibcQsort is a C program that sorts with glibc's own qsort and the
// same truncating comparison; it reads "fwmark af proto w0 w1 w2 w3 port"
// lines and prints the sorted input indexes.
const glibcQsort = `#include <stdio.h>
#include <stdlib.h>
struct svc { unsigned fwmark, af, proto, w[4], port; int idx; };
static int cmp(const void *x, const void *y) {
	const struct svc *a = x, *b = y;
	int r = a->fwmark - b->fwmark;
	if (r) return r;
	r = (int)a->af - (int)b->af;
	if (r) return r;
	r = (int)a->proto - (int)b->proto;
	if (r) return r;
	for (int i = 0; i < (a->af == 10 ? 4 : 1) && !r; i++)
		r = a->w[i] - b->w[i];
	if (r) return r;
	return (int)a->port - (int)b->port;
}
int main(void) {
	static struct svc s[100000];
	int n = 0;
	while (scanf("%u %u %u %u %u %u %u %u", &s[n].fwmark, &s[n].af, &s[n].proto,
		     &s[n].w[0], &s[n].w[1], &s[n].w[2], &s[n].w[3], &s[n].port) == 8) {
		s[n].idx = n;
		n++;
	}
	qsort(s, n, sizeof s[0], cmp);
	for (int i = 0; i < n; i++)
		printf("%d\n", s[i].idx);
	return 0;
}
`

// TestSortMatchesGlibc checks the merge sort against glibc's qsort on
// random tables full of comparisons that are not transitive. It needs a
// C compiler and is skipped without one.
func TestSortMatchesGlibc(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "q.c")
	if err := os.WriteFile(src, []byte(glibcQsort), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "q")
	if out, err := exec.Command(cc, "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Skipf("cannot build the glibc helper: %v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 40 {
		n := 3 + rng.IntN(300)
		s := make([]ipvs.Service, n)
		for i := range s {
			s[i] = randomService(rng)
		}
		var in strings.Builder
		for _, svc := range s {
			k := svc.Key()
			w := addrWords(k.Addr)
			fmt.Fprintf(&in, "%d %d %d %d %d %d %d %d\n", k.FWMark, k.Family, k.Protocol, w[0], w[1], w[2], w[3], k.Port)
		}
		cmd := exec.Command(bin)
		cmd.Stdin = strings.NewReader(in.String())
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			i, _ := strconv.Atoi(sc.Text())
			want = append(want, s[i].Key().String())
		}
		SortServices(s)
		if diff := cmp.Diff(want, serviceKeys(s)); diff != "" {
			t.Fatalf("round %d, %d services: order differs from glibc (-glibc +ours):\n%s", round, n, diff)
		}
	}
}

func randomService(rng *rand.Rand) ipvs.Service {
	switch rng.IntN(6) {
	case 0:
		marks := []uint32{1, 2, 42, 1 << 31, 3000000000, 4294967295}
		f := ipvs.IPv4
		if rng.IntN(2) == 0 {
			f = ipvs.IPv6
		}
		return ipvs.Service{Family: f, FWMark: marks[rng.IntN(len(marks))]}
	case 1:
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(4) * 85)
		}
		return ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Addr: netip.AddrFrom16(b), Port: uint16(rng.IntN(3))}
	default:
		protos := []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP}
		firsts := []byte{1, 10, 100, 127, 128, 150, 200, 255}
		a := netip.AddrFrom4([4]byte{firsts[rng.IntN(len(firsts))], 0, byte(rng.IntN(2)), byte(rng.IntN(3))})
		return ipvs.Service{Family: ipvs.IPv4, Protocol: protos[rng.IntN(3)], Addr: a, Port: uint16(rng.IntN(3) * 40000)}
	}
}
