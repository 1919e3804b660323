package restore

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	long := strings.Repeat("a", 4096)
	tests := []struct {
		name string
		in   string
		want []Line
	}{
		{"empty", "", nil},
		{"one line", "-C\n", []Line{{1, "-C", []string{"-C"}}}},
		{"no final newline", "-C", []Line{{1, "-C", []string{"-C"}}}},
		{"one trailing blank at EOF is fine", "-C ", []Line{{1, "-C ", []string{"-C"}}}},
		{"two trailing blanks at EOF drop the line", "-Z\n-C  ", []Line{{1, "-Z", []string{"-Z"}}}},
		{"trailing TAB and CR at EOF drop the line", "-C\t\r", nil},
		{"two trailing blanks before a newline are fine", "-C  \n", []Line{{1, "-C  ", []string{"-C"}}}},
		{"CRLF", "-A -t 1.2.3.4:80\r\n-C\r\n", []Line{
			{1, "-A -t 1.2.3.4:80\r", []string{"-A", "-t", "1.2.3.4:80"}},
			{2, "-C\r", []string{"-C"}},
		}},
		{"blank and whitespace lines are skipped but counted", "\n  \t\n-C\n\n-Z\n", []Line{
			{3, "-C", []string{"-C"}},
			{5, "-Z", []string{"-Z"}},
		}},
		{"ipvsadm words are dropped anywhere", "ipvsadm -A ipvsadm -t x ipvsadm\nipvsadm\n/sbin/ipvsadm -C\n", []Line{
			{1, "ipvsadm -A ipvsadm -t x ipvsadm", []string{"-A", "-t", "x"}},
			{3, "/sbin/ipvsadm -C", []string{"/sbin/ipvsadm", "-C"}},
		}},
		{"no quoting, no comments", "# x\n-s \"rr\" 'a b'\n", []Line{
			{1, "# x", []string{"#", "x"}},
			{2, "-s \"rr\" 'a b'", []string{"-s", "\"rr\"", "'a", "b'"}},
		}},
		{"vertical tab and form feed are word bytes", "a\vb\fc\n", []Line{{1, "a\vb\fc", []string{"a\vb\fc"}}}},
		{"long words are split", "x " + long + "bc\n", []Line{{1, "x " + long + "bc", []string{"x", long, "bc"}}}},
		{"a word ends at NUL", "ab\x00cd ef\n\x00x\n", []Line{
			{1, "ab\x00cd ef", []string{"ab", "ef"}},
			{2, "\x00x", []string{""}},
		}},
		{"blanks only at EOF", "-C\n   ", []Line{{1, "-C", []string{"-C"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tokenize(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Tokenize(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func testOptions() Options {
	return Options{Resolver: cmdline.NamesResolver{Resolver: &names.Resolver{
		HostsPath:    filepath.Join("..", "internal", "cmdline", "testdata", "hosts"),
		ServicesPath: filepath.Join("..", "internal", "cmdline", "testdata", "services"),
	}}}
}

// ruleSummary is a compact form of a rule for comparisons.
func ruleSummary(r Rule) string {
	switch {
	case r.Skipped != nil:
		return "skip " + r.Skipped.Msg
	case r.Flush:
		return "flush"
	case r.Op.Kind != 0:
		return r.Op.Kind.String()
	}
	return "command " + r.Args[0]
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []string
		wantErr  string
		wantExit int
		wantLine int
	}{
		{
			name: "commands in order",
			in:   "-C\n-A -t 1.2.3.4:80 -s rr\n-a -t 1.2.3.4:80 -r 10.0.0.1 -m\n-L -n\n",
			want: []string{"flush", "create service", "create destination", "command -L"},
		},
		{
			name: "popt error lines are skipped, the rest goes on",
			in:   "-C\n-L --foo\n-A -t 1.2.3.4:80 -b\n-Z\n",
			want: []string{"flush", "skip --foo: unknown option", "skip -b: missing argument", "command -Z"},
		},
		{
			name:     "fail stops everything",
			in:       "-C\n-A -t 1.2.3.4:80 -p 0\n-Z\n",
			wantErr:  "invalid timeout value `0' specified",
			wantExit: 2,
			wantLine: 2,
		},
		{
			name:     "a comment is not a command",
			in:       "-C\n# saved rules\n",
			wantErr:  "Try `ipvsadm -h' or 'ipvsadm --help' for more information.",
			wantExit: 255,
			wantLine: 2,
		},
		{
			name:     "a trailing comment is an argument",
			in:       "-C # flush\n",
			wantErr:  "unexpected argument #",
			wantExit: 2,
			wantLine: 1,
		},
		{
			name:     "nested restore",
			in:       "-C\n-R\n",
			wantErr:  "Try `ipvsadm -h' or 'ipvsadm --help' for more information.",
			wantExit: 255,
			wantLine: 2,
		},
		{
			name:     "nested restore with an option fails the table check first",
			in:       "-R -n\n",
			wantErr:  "Illegal 'numeric' option with the 'restore' command",
			wantExit: 2,
			wantLine: 1,
		},
		{
			name: "help ends the input",
			in:   "-C\n-h\n-A -t bad\n",
			want: []string{"flush", "command -h"},
		},
		{
			name: "version ends the input",
			in:   "-v\n-C\n",
			want: []string{"command -v"},
		},
		{
			name:     "an absolute program name is an argument",
			in:       "/sbin/ipvsadm -C\n",
			wantErr:  "unexpected argument /sbin/ipvsadm",
			wantExit: 2,
			wantLine: 1,
		},
		{
			name: "ipvsadm-save output",
			in:   "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1\n-A -f 43 -6 -s wlc -p 300 -M 64 -o\n",
			want: []string{"create service", "create destination", "create service"},
		},
		{
			name: "save output with an empty -b is skipped",
			in:   "-A -t 1.2.3.4:97 -s sh -b \n-C\n",
			want: []string{"skip -b: missing argument", "flush"},
		},
		{
			name: "goipvsadm's own options are unknown in a rule",
			in:   "-A -t 1.2.3.4:80 --sync\n-L --json\n",
			want: []string{"skip --sync: unknown option", "skip --json: unknown option"},
		},
		{
			name: "empty input",
			in:   "",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := Parse(strings.NewReader(tt.in), testOptions())
			if tt.wantErr != "" {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("error = %v, want a *SyntaxError", err)
				}
				if se.Msg != tt.wantErr || se.Exit != tt.wantExit || se.Line.Num != tt.wantLine {
					t.Errorf("error = line %d %q exit %d, want line %d %q exit %d",
						se.Line.Num, se.Msg, se.Exit, tt.wantLine, tt.wantErr, tt.wantExit)
				}
				if rules != nil {
					t.Errorf("rules = %v, want none", rules)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rules {
				got = append(got, ruleSummary(r))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKeepsLineNumbers(t *testing.T) {
	rules, err := Parse(strings.NewReader("\n-C\n\n\n-L --bogus\n"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Num != 2 || rules[1].Num != 5 || rules[1].Skipped.Exit != 255 {
		t.Errorf("rules = %+v", rules)
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"-C\n", "-A -t 1.2.3.4:80  ", "ipvsadm\r\n\n", strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		lines, err := Tokenize(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		last := 0
		for _, l := range lines {
			if l.Num <= last || len(l.Args) == 0 {
				t.Fatalf("bad line %+v after %d", l, last)
			}
			last = l.Num
			for _, a := range l.Args {
				if a == "ipvsadm" || len(a) > maxToken || strings.ContainsAny(a, " \t\r\n\x00") {
					t.Fatalf("bad word %q", a)
				}
			}
		}
	})
}
