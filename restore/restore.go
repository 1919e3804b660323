// Package restore reads the rules of ipvsadm -R: it splits the input into
// lines and words exactly as ipvsadm 1.31 does, parses every line as an
// ipvsadm command line into a typed change (an ipvs.Op) with its line
// number, and turns the rules into a reconcile.Plan: the changes they make
// (NewPlan), or the fewest changes that make the table equal to the one
// they describe (SyncPlan). ParseRules parses into Rules, a compact form
// for inputs of a million lines, with the same plans (Rules.NewPlan,
// Rules.SyncPlan); goipvsadm -R uses it. Package save writes a table in
// this format.
//
// # Parse everything first
//
// ipvsadm -R executes each line as soon as it has read it, so a syntax error
// on line 10 leaves lines 1 to 9 applied. goipvsadm parses the whole input
// first (Parse) and applies nothing if any line has an error that makes
// ipvsadm stop. This is an intentional difference. What stays the same:
//
//   - A line whose error ipvsadm reports with fail() (exit status 2) or with
//     the "Try ..." hint (exit status 255) stops the restore: Parse
//     returns a *SyntaxError and no rules.
//   - A line with a popt error after its command ("-A -t VIP --foo") is,
//     as in ipvsadm, reported and skipped, and the lines after it still
//     run: Parse returns it as a Rule with Skipped set, in its place,
//     so that its message is printed in order when the rules are applied;
//     it counts as a failed line (status 255) for the exit status.
//   - A -h or -v line prints the help or version and ends the restore with
//     status 0: Parse stops reading after it (ipvsadm never parses the
//     lines after it either).
//   - A nested -R is the "Try ..." error, as in ipvsadm.
package restore

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// maxToken is the longest token ipvsadm reads at once (MAX_LINE_LENGTH);
// a longer run of non-blank bytes becomes several tokens.
const maxToken = 4096

// Line is one input line that has at least one word left after ipvsadm's
// filtering.
type Line struct {
	Num  int      // 1-based line number in the input
	Text string   // the line as read, without its newline
	Args []string // the words, without argv[0]
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Tokenize reads ipvsadm -R input and splits it as ipvsadm's
// config_stream_read does: words are runs of bytes other than space, TAB, CR
// and LF; a line ends at LF; there is no quoting and no comment syntax; a
// word longer than 4096 bytes is split into pieces of 4096; a word stops at
// a NUL byte (C strings); every word equal to "ipvsadm" is dropped; lines
// left without words are skipped. One quirk is kept: a last line without a
// newline that ends in two or more blanks is dropped entirely.
func Tokenize(r io.Reader) ([]Line, error) {
	var lines []Line
	lr := newLineReader(r)
	for {
		l, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return lines, nil
		}
		l.Args = slices.Clone(l.Args)
		lines = append(lines, l)
	}
}

// lineReader reads ipvsadm -R input one line at a time, as Tokenize
// splits it, without holding more of the input than the line.
type lineReader struct {
	br   *bufio.Reader
	long []byte   // a line longer than br's buffer
	args []string // the words of the line read last, reused
	num  int      // the number of the line read last
	pos  int64    // how much of the input was read
	at   int64    // where the line read last starts in the input
	done bool
	// take, if not nil, is offered each line first, with its newline,
	// its number and where it starts; a line it takes is not returned.
	take func(raw []byte, num int, at int64) bool
	// abort, if not nil, ends the input before the next line once set.
	abort *atomic.Bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), args: make([]string, 0, 16)}
}

// next returns the next line that has words, or false at the end of the
// input. The line's Args are valid until the next call.
func (lr *lineReader) next() (Line, bool, error) {
	for !lr.done {
		if lr.abort != nil && lr.abort.Load() {
			break
		}
		at := lr.pos
		raw, err := lr.readRaw()
		if err != nil {
			return Line{}, false, err
		}
		if len(raw) == 0 {
			break
		}
		lr.pos += int64(len(raw))
		lr.num++
		if lr.take != nil && lr.take(raw, lr.num, at) {
			continue
		}
		// One string per line: its words and its text are substrings
		// of it.
		text := string(raw)
		args, _, complete := readLine(text, 0, lr.args[:0])
		lr.args = args[:0]
		if !complete {
			// ipvsadm reached the end of the input inside the
			// blanks at the end of a line and gives the line up.
			break
		}
		if len(args) > 0 {
			lr.at = at
			return Line{Num: lr.num, Text: strings.TrimSuffix(text, "\n"), Args: args}, true, nil
		}
	}
	lr.done = true
	return Line{}, false, nil
}

// readRaw returns the next line with its newline (none at the end of the
// input), or nothing at the end; it is valid until the next call.
func (lr *lineReader) readRaw() ([]byte, error) {
	raw, err := lr.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		lr.long = append(lr.long[:0], raw...)
		for err == bufio.ErrBufferFull {
			raw, err = lr.br.ReadSlice('\n')
			lr.long = append(lr.long, raw...)
		}
		raw = lr.long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == io.EOF {
		lr.done = len(raw) == 0
	}
	return raw, nil
}

// readLine reads the words of the line at pos as ipvsadm's fscanf loop
// does, and returns where the next line starts. complete is false when the
// input ends inside the blanks at the end of a line.
func readLine(data string, pos int, args []string) (_ []string, next int, complete bool) {
	for {
		if pos == len(data) {
			return args, pos, true
		}
		if isBlank(data[pos]) {
			// fscanf matched no word: skip blanks up to the end
			// of the line; the end of the input here loses the
			// line.
			for {
				if pos == len(data) {
					return args, pos, false
				}
				c := data[pos]
				pos++
				if c == '\n' {
					return args, pos, true
				}
				if !isBlank(c) {
					pos--
					break
				}
			}
			continue
		}
		start := pos
		for pos < len(data) && !isBlank(data[pos]) && pos-start < maxToken {
			pos++
		}
		word := data[start:pos]
		if i := strings.IndexByte(word, 0); i >= 0 {
			word = word[:i]
		}
		if word != "ipvsadm" {
			args = append(args, word)
		}
		if pos < len(data) && isBlank(data[pos]) {
			// fscanf also consumed one blank after the word.
			pos++
			if data[pos-1] == '\n' {
				return args, pos, true
			}
		}
	}
}

// Rule is one parsed line of rules input. A line that changes the table
// has Op or Flush set; a line ipvsadm reports and skips has Skipped set;
// any other line is a command that does not change the table (-L, -Z, -S,
// a sync daemon, -h, -v), which Args hold.
type Rule struct {
	Line
	// Op is the change of an -A, -E, -D, -a, -e, -d or --set line; its
	// Kind is zero on other lines.
	Op ipvs.Op
	// Flush is set for -C, which deletes every service.
	Flush bool
	// Skipped is set for a line ipvsadm reports and skips (an unknown
	// option after the command, ...): print Skipped.Msg when the line's
	// turn comes, and count the line as failed (exit status
	// Skipped.Exit).
	Skipped *SyntaxError
}

// SyntaxError is a rules line that is not a valid ipvsadm command line.
type SyntaxError struct {
	Line Line
	Msg  string // ipvsadm's exact message, without a final newline
	Exit int    // ipvsadm's exit status for it: 2, or 255
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line.Num, e.Msg)
}

// Resolver looks up the names ipvsadm accepts in place of numbers.
type Resolver interface {
	// LookupIPv4 is gethostbyname(name) restricted to IPv4: the first
	// IPv4 address of the host.
	LookupIPv4(name string) (netip.Addr, bool)
	// LookupPort is getservbyname(name, proto) with proto "tcp", "udp"
	// or "sctp": the port of the first matching service entry.
	LookupPort(name, proto string) (uint16, bool)
}

// Options change how rules are parsed. The zero Options are ipvsadm's;
// as in ipvsadm, POSIXLY_CORRECT in the environment makes the first word
// that is not an option end a line's options.
type Options struct {
	// Argv0 is the program name in messages ("Try `ipvsadm -h' ...");
	// empty means "ipvsadm".
	Argv0 string
	// Resolver resolves host and service names; nil means the system's:
	// /etc/hosts and /etc/services as glibc reads them, then DNS.
	Resolver Resolver
	// Reread lets ParseRules keep no line texts when the input can be
	// read again: an *os.File of a regular file, or another io.ReaderAt
	// that is an io.Seeker. The Rules then read a line's text from the
	// input when they need it (All, Line, a plan's errors), so the input
	// must stay open and unchanged while they are used. It saves about
	// the size of the input.
	Reread bool
	// Workers is how many goroutines ParseRules may parse the input with
	// when it can read it at any offset (as for Reread): each parses a
	// part of at least 256 KiB that starts after a newline, and the
	// parts are joined into the Rules one part alone gives. 0 or 1: one,
	// the caller's. Resolver, if set, must then be safe for concurrent
	// use. A syntax error stops the restore all the same; the lines after
	// it may have been parsed, and their names resolved.
	Workers int
}

// Parse parses every line of ipvsadm -R input, as ipvsadm 1.31 would,
// before anything is applied. It returns the rules in input order, or the
// first line that stops the restore as a *SyntaxError (and no rules). See
// the package comment for how each kind of line is treated. goipvsadm's own
// options (--sync, --json, ...) are unknown options in a rules line; the
// negative firewall marks ipvsadm -S writes for marks of 2^31 and more are
// read back as those marks.
func Parse(r io.Reader, opts Options) ([]Rule, error) {
	rules := make([]Rule, 0)
	_, err := parseEach(newLineReader(r), opts, func(r *Rule, _ int64) {
		r.Args = slices.Clone(r.Args)
		rules = append(rules, *r)
	})
	if err != nil {
		return nil, err
	}
	return rules, nil
}

// parseEach parses the lines lr reads as Parse does and calls fn with each
// rule, in order, as soon as it is parsed, and where its line starts in the
// input; the rule and its Args are valid until fn returns. The lines
// lr.take takes are not parsed. stopped reports a -h or -v line, after
// which it reads no more. When it returns an error, fn has seen some
// rules, but not all: nothing may have been applied.
func parseEach(lr *lineReader, opts Options, fn func(r *Rule, at int64)) (stopped bool, err error) {
	p := cmdline.NewParser()
	p.IpvsadmOnly = true
	p.SavedMarks = true
	if opts.Resolver != nil {
		p.Resolver = opts.Resolver
	}
	argv0 := opts.Argv0
	if argv0 == "" {
		argv0 = "ipvsadm"
	}
	cmd := new(cmdline.Command)
	var r Rule
	for {
		l, ok, err := lr.next()
		if err != nil || !ok {
			return false, err
		}
		if err := p.ParseInto(cmd, argv0, l.Args); err != nil {
			e, ok := err.(*cmdline.Error)
			if !ok {
				return false, err
			}
			// The error keeps the line: its words are its own.
			l.Args = slices.Clone(l.Args)
			se := &SyntaxError{Line: l, Msg: e.Msg, Exit: e.Exit}
			if e.Kind != cmdline.PoptError {
				return false, se
			}
			r = Rule{Line: l, Skipped: se}
			fn(&r, lr.at)
			continue
		}
		if cmd.Kind == cmdline.Restore {
			// ipvsadm refuses -R inside -R (it would read the
			// same input again).
			e := cmdline.TryHelpError(argv0)
			l.Args = slices.Clone(l.Args)
			return false, &SyntaxError{Line: l, Msg: e.Msg, Exit: e.Exit}
		}
		op, _ := cmd.Op()
		r = Rule{Line: l, Op: op, Flush: cmd.Kind == cmdline.Flush}
		fn(&r, lr.at)
		if cmd.Kind == cmdline.Help || cmd.Kind == cmdline.Version {
			return true, nil
		}
	}
}
