// Package restore reads the rules of ipvsadm -R: it splits the input into
// lines and words exactly as ipvsadm 1.31 does and parses every line as an
// ipvsadm command line.
//
// # Parse everything first
//
// ipvsadm -R executes each line as soon as it has read it, so a syntax error
// on line 10 leaves lines 1 to 9 applied. goipvsadm parses the whole input
// first (ParseAll) and applies nothing if any line has an error that makes
// ipvsadm stop. This is an intentional difference. What stays the same:
//
//   - A line whose error ipvsadm reports with fail() (exit status 2) or with
//     the "Try ..." hint (exit status 255) stops the restore: ParseAll
//     returns a *LineError and no rules.
//   - A line with a popt error after its command ("-A -t VIP --foo") is,
//     as in ipvsadm, reported and skipped, and the lines after it still
//     run: ParseAll returns it as a Rule with Skipped set, in its place,
//     so that its message is printed in order when the rules are applied;
//     it counts as a failed line (status 255) for the exit status.
//   - A -h or -v line prints the help or version and ends the restore with
//     status 0: ParseAll stops reading after it (ipvsadm never parses the
//     lines after it either).
//   - A nested -R is the "Try ..." error, as in ipvsadm.
package restore

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
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
	raw, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	// One string for the whole input: words and line texts are substrings
	// of it, not copies (a boot restore can have 100,000 lines).
	data := string(raw)
	lines := make([]Line, 0, strings.Count(data, "\n")+1)
	pos, num := 0, 1
	for pos < len(data) {
		start := pos
		args, next, complete := readLine(data, pos)
		if !complete {
			// ipvsadm reached the end of the input inside the
			// blanks at the end of a line and gives the line up.
			break
		}
		if len(args) > 0 {
			lines = append(lines, Line{Num: num, Text: strings.TrimSuffix(data[start:next], "\n"), Args: args})
		}
		num += strings.Count(data[start:next], "\n")
		pos = next
	}
	if len(lines) == 0 {
		return nil, nil
	}
	return lines, nil
}

// readLine reads the words of the line at pos as ipvsadm's fscanf loop
// does, and returns where the next line starts. complete is false when the
// input ends inside the blanks at the end of a line.
func readLine(data string, pos int) (args []string, next int, complete bool) {
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
					return nil, pos, false
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
			if args == nil {
				args = make([]string, 0, 12)
			}
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

// Rule is one parsed line of restore input.
type Rule struct {
	Line
	// Cmd is the parsed command, or nil if the line is skipped.
	Cmd *cmdline.Command
	// Skipped is set for a line ipvsadm reports and skips (a popt error
	// after the command): print Skipped.Msg to stderr when the line's
	// turn comes, and count the line as failed (status Skipped.Exit).
	Skipped *cmdline.Error
}

// LineError is a line that stops the restore.
type LineError struct {
	Line Line
	Err  *cmdline.Error // print Err.Msg, exit with Err.Exit
}

func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line.Num, e.Err.Msg)
}

func (e *LineError) Unwrap() error { return e.Err }

// ParseAll parses every line of ipvsadm -R input with cmdline.Parse before
// anything is applied. It returns the rules in input order, or the first
// line that stops the restore as a *LineError (and no rules). See the
// package comment for how each kind of line is treated.
func ParseAll(argv0 string, r io.Reader) ([]Rule, error) {
	return ParseAllWith(cmdline.NewParser(), argv0, r)
}

// ParseAllWith is ParseAll with the given command-line parser.
func ParseAllWith(p *cmdline.Parser, argv0 string, r io.Reader) ([]Rule, error) {
	lines, err := Tokenize(r)
	if err != nil {
		return nil, err
	}
	rules := make([]Rule, 0, len(lines))
	for _, l := range lines {
		cmd, err := p.Parse(argv0, l.Args)
		if err != nil {
			e, ok := err.(*cmdline.Error)
			if !ok {
				return nil, err
			}
			if e.Kind == cmdline.PoptError {
				rules = append(rules, Rule{Line: l, Skipped: e})
				continue
			}
			return nil, &LineError{Line: l, Err: e}
		}
		if cmd.Kind == cmdline.Restore {
			// ipvsadm refuses -R inside -R (it would read the
			// same input again).
			return nil, &LineError{Line: l, Err: cmdline.TryHelpError(argv0)}
		}
		rules = append(rules, Rule{Line: l, Cmd: cmd})
		if cmd.Kind == cmdline.Help || cmd.Kind == cmdline.Version {
			break
		}
	}
	return rules, nil
}
