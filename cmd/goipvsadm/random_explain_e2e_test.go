//go:build e2e

package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
)

// explainDifference says whether goipvsadm's run of c (got, leaving
// ourState) may differ from ipvsadm's (want, refState), both started from
// before. Each intentional difference of README.md is recognised by what
// exactly it changes, and everything else must be equal. It returns the
// class of the difference ("" when there is none), and false with a class
// for the tally when the difference is not explained.
func explainDifference(c randomCase, want, got result, before, refState, ourState kernelState) (string, bool) {
	same := refState.equal(ourState)
	if want == got && same {
		return "", true
	}
	norm := got
	norm.stdout = compatHelp(norm.stdout)
	if norm == want && same {
		return "-h and -v name goipvsadm", true
	}
	if isRestore(c) {
		if class, ok := explainRestore(want, norm, before, refState, ourState); ok {
			return class, true
		}
	} else if onlyCommasFlag(want, norm) && same {
		return "-b with only commas: ipvsadm crashes", true
	}
	if same && want.exit == got.exit && want.stderr == got.stderr && expiryTicked(want.stdout, got.stdout) {
		return "a connection's expiry counted down between the two runs", true
	}
	class := fmt.Sprintf("ipvsadm exit %d %q / goipvsadm exit %d %q", want.exit, firstLine(want.stderr), got.exit, firstLine(got.stderr))
	if !same {
		class += " / tables differ"
	}
	return class, false
}

// connExpiry is the expiry column (mm:ss) of a -c listing line.
var connExpiry = regexp.MustCompile(`^(\S+ +)(\d\d):(\d\d)( .*)$`)

// expiryTicked says whether two -c listings differ only in connections'
// expiry countdowns, by at most two seconds each: the connections are
// live kernel state, and the two tools list them a moment apart.
func expiryTicked(want, got string) bool {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		return false
	}
	for i := range wl {
		if wl[i] == gl[i] {
			continue
		}
		w, g := connExpiry.FindStringSubmatch(wl[i]), connExpiry.FindStringSubmatch(gl[i])
		if w == nil || g == nil || w[1] != g[1] || w[4] != g[4] {
			return false
		}
		if d := seconds(w[2], w[3]) - seconds(g[2], g[3]); d < -2 || d > 2 {
			return false
		}
	}
	return true
}

func seconds(mm, ss string) int {
	m, _ := strconv.Atoi(mm)
	s, _ := strconv.Atoi(ss)
	return 60*m + s
}

// compatHelp puts ipvsadm's version line in place of goipvsadm's in -h and
// -v output: the only part of them that differs on purpose (with the
// paragraph on goipvsadm's own options that ends its -h).
func compatHelp(stdout string) string {
	stdout = strings.Replace(stdout, cmdline.Usage("ipvsadm"), cmdline.UsageWithVersion(cmdline.CompatVersionLine, "ipvsadm"), 1)
	return strings.Replace(stdout, cmdline.VersionLine()+"\n", cmdline.CompatVersionLine+"\n", 1)
}

func isRestore(c randomCase) bool {
	return len(c.args) > 0 && (c.args[0] == "-R" || c.args[0] == "--restore") && c.stdin != ""
}

// restoreNote is the line goipvsadm adds when a syntax error stopped -R
// before anything was applied.
var restoreNote = regexp.MustCompile(`(?m)^line \d+: .*\(nothing was restored\)\n\z`)

// explainRestore recognises -R's two intentional differences: the whole
// input is parsed first, so a line that stops ipvsadm applies nothing (and
// its message is followed by the line); and the exit status is 255 when any
// line failed, not the last line's status.
func explainRestore(want, got result, before, refState, ourState kernelState) (string, bool) {
	if loc := restoreNote.FindStringIndex(got.stderr); loc != nil {
		msg := got.stderr[:loc[0]]
		if got.stdout != "" || !ourState.equal(before) || msg == "" {
			return "", false
		}
		if want.exit == 139 && onlyCommasFlag(want, result{stderr: msg, exit: 2}) {
			return "-R parses all first; -b with only commas: ipvsadm crashes", got.exit == 2
		}
		if want.exit == 1 {
			// ipvsadm ended at a listing that failed, before the line
			// goipvsadm found first.
			return "-R parses all first (ipvsadm ended at a failed listing)", true
		}
		return "-R parses all first", strings.HasSuffix(want.stderr, msg) && want.exit == got.exit
	}
	norm := got
	norm.exit = want.exit
	if got.exit == 255 && want.stderr != "" && norm == want && refState.equal(ourState) {
		return "-R exits 255 when any line failed", true
	}
	return "", false
}

var commasMessage = regexp.MustCompile("^invalid scheduler flag `(,+)'\n$")

// onlyCommasFlag: ipvsadm crashed (SIGSEGV) where goipvsadm refused a -b
// value of only commas.
func onlyCommasFlag(want, got result) bool {
	return want.exit == 128+11 && got.exit == 2 && commasMessage.MatchString(got.stderr)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// negativeMarkError is ipvsadm refusing a negative mark that goipvsadm's
// -R reads as the 32-bit mark ipvsadm -S prints negative.
var negativeMarkError = regexp.MustCompile("(?m)^invalid fwmark value `-[0-9]+' specified\n\\z")

// markOption is -f or --fwmark-service with a negative value in one word
// or two.
var markOption = regexp.MustCompile(`(^|\s)(-f|--fwmark-service)(=|\s+|)(-[0-9]+)(\s|$)`)

// unsignedMarks writes each negative mark of rules text as the unsigned
// 32-bit number it stands for, where it is one.
func unsignedMarks(text string) string {
	return markOption.ReplaceAllStringFunc(text, func(m string) string {
		sub := markOption.FindStringSubmatch(m)
		n, err := strconv.ParseInt(sub[4], 10, 64)
		if err != nil || n < -(1<<31) {
			return m
		}
		return sub[1] + sub[2] + sub[3] + strconv.FormatInt(n+(1<<32), 10) + sub[5]
	})
}

func TestExpiryTicked(t *testing.T) {
	const head = "IPVS connection entries\npro expire state       source             virtual            destination\n"
	want := head + "UDP 04:48  UDP         10.0.0.1:42206     10.0.0.1:53        10.1.0.1:53\n"
	for _, c := range []struct {
		got  string
		same bool
	}{
		{head + "UDP 04:47  UDP         10.0.0.1:42206     10.0.0.1:53        10.1.0.1:53\n", true},
		{head + "UDP 04:50  UDP         10.0.0.1:42206     10.0.0.1:53        10.1.0.1:53\n", true},
		{head + "UDP 04:44  UDP         10.0.0.1:42206     10.0.0.1:53        10.1.0.1:53\n", false},
		{head + "UDP 04:48  UDP         10.0.0.1:42207     10.0.0.1:53        10.1.0.1:53\n", false},
		{head + "TCP 04:48  UDP         10.0.0.1:42206     10.0.0.1:53        10.1.0.1:53\n", false},
		{head, false},
	} {
		if got := expiryTicked(want, c.got); got != c.same {
			t.Errorf("expiryTicked(%q) = %v, want %v", c.got, got, c.same)
		}
	}
}
