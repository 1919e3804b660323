// Command goipvsadm administers the Linux IP Virtual Server. It is a
// drop-in replacement for ipvsadm 1.31: the same options, the same output
// byte for byte, the same messages and exit codes, the same -S save format
// and -R restore input. Invoked as ipvsadm-save or ipvsadm-restore it
// behaves like Debian's scripts of those names.
//
// Where it differs from ipvsadm on purpose, README.md says so and why.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"golang.org/x/sys/unix"
)

func main() {
	a := &app{
		argv0:    os.Args[0],
		stdin:    os.Stdin,
		stdout:   bufio.NewWriterSize(os.Stdout, 64<<10),
		stderr:   os.Stderr,
		open:     func() (*ipvs.Client, error) { return ipvs.New(nil) },
		modprobe: loadModule,
		procRoot: "/proc",
		names:    names.New(),
		lockPath: restoreLockPath,
	}
	code := a.main(os.Args[1:])
	a.stdout.Flush()
	os.Exit(code)
}

// loadModule runs modprobe as ipvsadm does, its complaints on stderr.
func loadModule() error {
	err := ipvs.LoadModule(context.Background())
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Stderr.Write(ee.Stderr)
	}
	return err
}

// app is one run of the program, with its environment made explicit so
// that tests can run it in-process against ipvstest's kernel.
type app struct {
	argv0  string
	stdin  io.Reader
	stdout *bufio.Writer
	stderr io.Writer

	open     func() (*ipvs.Client, error) // connects to IPVS
	modprobe func() error                 // loads ip_vs after a failed open
	procRoot string                       // where net/ip_vs_conn is read
	names    *names.Resolver
	lockPath string // the restore lock ("": none); see lockRestore
	// holdLimit bounds the destinations a listing holds (walkTable);
	// 0: heldDestinations.
	holdLimit int

	// exitSignal, when set, replaces ending the process by a signal
	// (tests); intr is the all-or-nothing restore's signal handling.
	exitSignal func(os.Signal)
	intr       *interrupts

	client *ipvs.Client
}

// main runs one invocation and returns the exit status.
func (a *app) main(args []string) int {
	switch filepath.Base(a.argv0) {
	case "ipvsadm-save":
		return a.saveScript(args)
	case "ipvsadm-restore":
		return a.restoreScript()
	}
	parser := a.parser()
	cmd, perr := parser.Parse(a.argv0, args)
	if perr == nil {
		// An intentional difference: ipvsadm needs IPVS (and root) even to
		// print its help; we answer -h and -v anywhere.
		switch cmd.Kind {
		case cmdline.Help:
			io.WriteString(a.stdout, cmdline.Usage(a.argv0))
			return 0
		case cmdline.Version:
			fmt.Fprintln(a.stdout, cmdline.VersionLine())
			return 0
		}
	}
	// ipvsadm initialises IPVS before it looks at its arguments, so an
	// unusable IPVS is reported even for a bad command line.
	if code, ok := a.init(); !ok {
		return code
	}
	defer a.client.Close()
	if perr != nil {
		return a.fail(perr)
	}
	return a.execute(context.Background(), cmd)
}

// parser returns a command-line parser that resolves names through the
// run's resolver.
func (a *app) parser() *cmdline.Parser {
	p := cmdline.NewParser()
	p.Resolver = cmdline.NamesResolver{Resolver: a.names}
	return p
}

// init connects to IPVS as ipvsadm's ipvs_init does: on failure it runs
// modprobe once and tries again, then gives up with ipvsadm's message.
func (a *app) init() (int, bool) {
	c, err := a.open()
	if err != nil && a.modprobe != nil && a.modprobe() == nil {
		c, err = a.open()
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "Can't initialize ipvs: %s\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", initMessage(err))
		return 2, false
	}
	a.client = c
	return 0, true
}

// initMessage is the reason ipvsadm gives when IPVS cannot be used: with no
// IPVS family it falls back to the raw-socket interface, which answers
// "Protocol not available" to root and "Permission denied" to others.
func initMessage(err error) string {
	if errors.Is(err, ipvs.ErrUnavailable) {
		if os.Geteuid() != 0 {
			return genericMessages[unix.EPERM]
		}
		return genericMessages[unix.ENOPROTOOPT]
	}
	return kernelMessage(opGeneric, err)
}

// fail prints a command-line error as ipvsadm does and returns its status.
func (a *app) fail(err error) int {
	ce, ok := err.(*cmdline.Error)
	if !ok {
		fmt.Fprintln(a.stderr, err)
		return 2
	}
	a.stdout.Flush()
	fmt.Fprintln(a.stderr, ce.Msg)
	return ce.Exit
}

// kernelFailure prints the message for a failed kernel operation and
// returns ipvsadm's status for it.
func (a *app) kernelFailure(op operation, err error, status int) int {
	a.stdout.Flush()
	fmt.Fprintln(a.stderr, kernelMessage(op, err))
	return status
}
