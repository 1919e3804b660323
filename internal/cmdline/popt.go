package cmdline

import "strings"

// poptErrorKind is one of the popt errors ipvsadm can report.
type poptErrorKind int

const (
	poptNoArg       poptErrorKind = iota + 1 // "missing argument"
	poptBadOpt                               // "unknown option"
	poptUnwantedArg                          // "option does not take an argument"
)

func (k poptErrorKind) String() string {
	switch k {
	case poptNoArg:
		return "missing argument"
	case poptBadOpt:
		return "unknown option"
	case poptUnwantedArg:
		return "option does not take an argument"
	}
	return "unknown error"
}

// popt walks an argument vector the way popt 1.19's poptGetNextOpt does for
// ipvsadm's option table (no aliases, no exec entries, no callbacks).
type popt struct {
	table *optionTable
	argv  []string // argv[0] is the program name
	next  int      // index of the next word of argv to look at

	// nextChar is the rest of a cluster of short options ("nt" after -L in
	// -Lnt), or empty.
	nextChar string
	// restLeftover is set after "--": every later word is an argument.
	restLeftover bool
	// posixlyCorrect (POSIXLY_CORRECT in the environment) makes the first
	// non-option word end option processing.
	posixlyCorrect bool
	// taken marks words consumed by a "!#:+" expansion; popt skips them.
	taken map[int]bool

	leftovers []string
	nextLeft  int
}

func newPopt(table *optionTable, argv []string, posixlyCorrect bool) *popt {
	return &popt{table: table, argv: argv, next: 1, posixlyCorrect: posixlyCorrect}
}

// nextOpt returns the next option and its argument (nil when it has none).
// It returns a nil spec and a zero error at the end of argv.
func (p *popt) nextOpt() (*optionSpec, *string, poptErrorKind) {
	spec, longArg, kind := p.nextSpec()
	if spec == nil {
		return nil, nil, kind
	}
	return p.optionArg(spec, longArg)
}

// nextSpec finds the next option: the next one of a cluster of short
// options, or that of the next word that is an option (the words that are
// not are leftovers), with the argument a long option carries after '='.
// A nil spec with a zero error is the end of argv.
func (p *popt) nextSpec() (*optionSpec, *string, poptErrorKind) {
	for p.nextChar == "" {
		if p.next == len(p.argv) {
			return nil, nil, 0
		}
		if p.taken[p.next] {
			p.next++
			continue
		}
		word := p.argv[p.next]
		p.next++
		if p.restLeftover || !strings.HasPrefix(word, "-") || word == "-" {
			if p.posixlyCorrect {
				p.restLeftover = true
			}
			p.leftovers = append(p.leftovers, word)
			continue
		}
		if word == "--" {
			p.restLeftover = true
			continue
		}
		if !strings.HasPrefix(word, "--") {
			// No ipvsadm option is a one-dash long option, so this
			// is a cluster of short options.
			p.nextChar = word[1:]
			break
		}
		name := word[2:]
		var longArg *string
		if i := strings.IndexByte(name, '='); i >= 0 {
			arg := name[i+1:]
			longArg = &arg
			name = name[:i]
		}
		spec := p.table.long[name]
		if spec == nil {
			return nil, nil, poptBadOpt
		}
		return spec, longArg, 0
	}
	c := p.nextChar[0]
	p.nextChar = p.nextChar[1:]
	spec := p.table.short[c]
	if spec == nil {
		return nil, nil, poptBadOpt
	}
	return spec, nil, 0
}

// optionArg returns spec with its argument, as popt takes it: longArg
// (given after '='), the rest of a cluster of short options, or the next
// word.
func (p *popt) optionArg(spec *optionSpec, longArg *string) (*optionSpec, *string, poptErrorKind) {
	if spec.arg == argNone {
		if longArg != nil || strings.HasPrefix(p.nextChar, "=") {
			return nil, nil, poptUnwantedArg
		}
		return spec, nil, 0
	}
	var arg *string
	switch {
	case longArg != nil:
		arg = p.expand(longArg)
	case p.nextChar != "":
		v := strings.TrimPrefix(p.nextChar, "=")
		arg = p.expand(&v)
		p.nextChar = ""
	case p.next == len(p.argv):
		if spec.arg != argOptional {
			return nil, nil, poptNoArg
		}
	case spec.arg == argOptional && strings.HasPrefix(p.argv[p.next], "-"):
		// An optional argument is never a word that looks like an
		// option.
	default:
		word := &p.argv[p.next]
		p.next++
		arg = p.expand(word)
	}
	return spec, arg, 0
}

// expand implements popt's expandNextArg: each "!#:+" in an option argument
// is replaced by the next word that does not start with '-', and that word is
// then skipped as an option or argument of its own.
func (p *popt) expand(arg *string) *string {
	const marker = "!#:+"
	s := *arg
	if !strings.Contains(s, marker) {
		return arg // no copy: a restore parses three arguments a line
	}
	var b strings.Builder
	var found *string
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], marker) {
			if found == nil {
				found = p.takeNextArg()
			}
			if found != nil {
				b.WriteString(*found)
				i += len(marker)
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	out := b.String()
	return &out
}

func (p *popt) takeNextArg() *string {
	for i := p.next; i < len(p.argv); i++ {
		if p.taken[i] || strings.HasPrefix(p.argv[i], "-") {
			continue
		}
		if p.taken == nil {
			p.taken = map[int]bool{}
		}
		p.taken[i] = true
		w := p.argv[i]
		return &w
	}
	return nil
}

// badOption is poptBadOption: the last word of argv popt looked at.
func (p *popt) badOption() string { return p.argv[p.next-1] }

// arg returns the next non-option word (poptGetArg).
func (p *popt) arg() (string, bool) {
	if p.nextLeft >= len(p.leftovers) {
		return "", false
	}
	p.nextLeft++
	return p.leftovers[p.nextLeft-1], true
}
