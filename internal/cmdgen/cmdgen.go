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

	"github.com/goipvsadm/goipvsadm/ipvs"
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

// Args returns one command line, without argv[0], for a kernel holding
// now: half the lines that name a service or real server name one that
// is there.
func (g *Gen) Args(now []ipvs.ServiceEntry) []string {
	cmd := pick(g, commands)
	if g.chance(0.015) {
		cmd = pick(g, rareCommands)
		if g.noDaemons && (cmd.opt == cmdStartDaemon.opt || cmd.opt == cmdStopDaemon.opt) {
			cmd = pick(g, []command{cmdHelp, cmdVersion})
		}
	}
	t := g.randomTarget(cmd)
	if known, ok := g.changeTarget(newTable(now), cmd); ok && g.chance(0.5) {
		known.svcText, known.destText = t.svcText, t.destText
		t = known
	}
	return g.lineFor(cmd, t).render(g)
}
