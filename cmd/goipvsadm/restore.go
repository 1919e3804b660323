package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/restore"
)

// restore runs -R. Two intentional differences from ipvsadm (README.md):
// the whole input is parsed before anything is applied, so a syntax error
// anywhere applies nothing; and the exit status is 255 when any line
// failed, not just the status of the last line.
func (a *app) restore(ctx context.Context) int {
	rules, err := restore.ParseAllWith(a.parser(), a.argv0, a.stdin)
	if err != nil {
		var le *restore.LineError
		if !errors.As(err, &le) {
			fmt.Fprintf(a.stderr, "%s: reading rules: %v\n", a.argv0, err)
			return 2
		}
		fmt.Fprintln(a.stderr, le.Err.Msg)
		fmt.Fprintf(a.stderr, "line %d: %s\n", le.Line.Num, strings.TrimRight(le.Line.Text, "\r"))
		fmt.Fprintln(a.stderr, "nothing was restored")
		return le.Err.Exit
	}
	status := 0
	for _, r := range rules {
		if r.Skipped != nil {
			// ipvsadm reports a popt error on a line and goes on.
			a.stdout.Flush()
			fmt.Fprintln(a.stderr, r.Skipped.Msg)
			status = 255
			continue
		}
		switch r.Cmd.Kind {
		case cmdline.Help:
			io.WriteString(a.stdout, cmdline.Usage(a.argv0))
			return 0
		case cmdline.Version:
			fmt.Fprintln(a.stdout, cmdline.VersionLine())
			return 0
		}
		if code := a.execute(ctx, r.Cmd); code != 0 {
			status = 255
		}
	}
	return status
}

// saveScript behaves like Debian's ipvsadm-save: "ipvsadm-save [-n]" saves
// the table; any other option prints its usage and exits 1; other words are
// ignored.
func (a *app) saveScript(args []string) int {
	numeric := false
	for _, arg := range args {
		switch {
		case arg == "-n":
			numeric = true
		case strings.HasPrefix(arg, "-"):
			fmt.Fprintf(a.stderr, "%s: Script to save the IPVS table to stdout.\n", filepath.Base(a.argv0))
			fmt.Fprintln(a.stderr, "   With the -n option, prints out the table in numeric format.")
			return 1
		}
	}
	a.argv0 = "ipvsadm"
	saveArgs := []string{"-S"}
	if numeric {
		saveArgs = append(saveArgs, "-n")
	}
	return a.main(saveArgs)
}

// restoreScript behaves like Debian's ipvsadm-restore: lines starting with
// '#' are dropped, the table is cleared, and the rest is restored.
func (a *app) restoreScript() int {
	data, err := io.ReadAll(a.stdin)
	if err != nil {
		fmt.Fprintf(a.stderr, "ipvsadm-restore: %v\n", err)
		return 1
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), len(data)+1)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "#") {
			kept.WriteString(sc.Text())
			kept.WriteByte('\n')
		}
	}
	a.argv0 = "ipvsadm"
	if code := a.main([]string{"-C"}); code != 0 {
		return code
	}
	a.stdin = &kept
	return a.main([]string{"-R"})
}
