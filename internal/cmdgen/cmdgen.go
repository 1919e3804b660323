// Package cmdgen generates random ipvsadm 1.31 command lines and -R rules
// files for differential testing: every command and option of ipvsadm's
// option table, in every form popt accepts, with values at and past their
// edges, legal and illegal combinations, services that exist and that do
// not, host and service names and numbers.
//
// It is written from ipvsadm's documented behaviour, not from goipvsadm's
// parser, so that the two do not share blind spots. The same seed always
// gives the same sequence.
package cmdgen

import (
	"math/rand/v2"
	"strings"
)

// Gen is a seeded generator.
type Gen struct {
	r *rand.Rand
	// mutate is the chance, per command line, of each kind of mistake
	// (an illegal or missing option, a value past its edge, ...).
	mutate float64
	// noDaemons leaves --start-daemon and --stop-daemon out of Args.
	noDaemons bool
}

// WithoutDaemons makes Args leave out --start-daemon and --stop-daemon
// (a second command added by mistake may still name one: such a line
// never reaches the kernel).
func (g *Gen) WithoutDaemons() *Gen {
	g.noDaemons = true
	return g
}

// New returns a generator for seed.
func New(seed uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, 0x1905a11)), mutate: 0.12}
}

func (g *Gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *Gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// Args returns one command line, without argv[0].
func (g *Gen) Args() []string {
	cmd := pick(g, commands)
	if g.chance(0.015) {
		cmd = pick(g, rareCommands)
		if g.noDaemons && (cmd.opt == cmdStartDaemon.opt || cmd.opt == cmdStopDaemon.opt) {
			cmd = pick(g, []command{cmdHelp, cmdVersion})
		}
	}
	return g.commandLine(cmd).render(g)
}

// TableRules returns -R input for a starting table: up to a dozen services
// and real servers from the generator's pools, without mistakes (some
// lines still fail in the kernel, e.g. a real server of a service that
// does not exist).
func (g *Gen) TableRules() string {
	saved := g.mutate
	g.mutate = 0
	defer func() { g.mutate = saved }()
	var b strings.Builder
	for n := g.r.IntN(13); n > 0; n-- {
		cmd := cmdAddService
		if g.chance(0.6) {
			cmd = cmdAddServer
		}
		b.WriteString(strings.Join(g.commandLine(cmd).render(g), " ") + "\n")
	}
	return b.String()
}

// Rules returns the text of one -R input: mostly table changes that
// parse, with listings, blank lines, ipvsadm's odd tokens, and now and
// then a line that stops the restore.
func (g *Gen) Rules() string {
	saved := g.mutate
	g.mutate = 0.005
	defer func() { g.mutate = saved }()
	var b strings.Builder
	n := g.r.IntN(16)
	for i := 0; i < n; i++ {
		b.WriteString(g.rulesLine())
		b.WriteString(pick(g, []string{"\n", "\n", "\n", "\n", "\n", "\n", "\r\n", " \n", "\t\n"}))
	}
	text := b.String()
	if n > 0 && g.chance(0.1) {
		// The last line without its newline, sometimes ending in blanks
		// (ipvsadm drops such a line if it ends in two or more).
		text = strings.TrimRight(text, "\r\n") + pick(g, []string{"", " ", "  ", "\t\t"})
	}
	return text
}

// rulesLine is one line of rules input.
func (g *Gen) rulesLine() string {
	switch x := g.r.Float64(); {
	case x < 0.04:
		return pick(g, []string{"", "   ", "\t", "ipvsadm", "ipvsadm ipvsadm"})
	case x < 0.05:
		return pick(g, []string{"# a comment", "#", "/sbin/ipvsadm -C", "-R", "-L -c", "-h", "-v"})
	case x < 0.14:
		return strings.Join(g.commandLine(pick(g, []command{cmdList, cmdSave, cmdZero, cmdFlush})).render(g), " ")
	}
	cmd := pick(g, []command{cmdAddService, cmdAddService, cmdEditService, cmdDeleteService,
		cmdAddServer, cmdAddServer, cmdAddServer, cmdEditServer, cmdDeleteServer, cmdSet})
	words := g.commandLine(cmd).render(g)
	if g.chance(0.05) {
		words = append([]string{"ipvsadm"}, words...)
	}
	return strings.Join(words, " ")
}
