package cmdline

import "fmt"

// Extension is one of goipvsadm's own options, which ipvsadm 1.31 does not
// have. They exist in long form only, take no value, and are checked after
// everything ipvsadm checks, so a command line that does not use them is
// parsed (and refused) exactly as ipvsadm parses it.
type Extension uint

// goipvsadm's options, in the order they are checked.
const (
	// ExtJSON is --json: with -L, print the listing as one JSON document
	// (Format.JSON).
	ExtJSON Extension = iota
	// ExtSync is --sync: with -R, make the table equal to the rules
	// (RestoreOptions.Sync).
	ExtSync
	// ExtAtomic is --atomic: with -R, apply all of the rules or none
	// (RestoreOptions.Atomic).
	ExtAtomic
	// ExtDryRun is --dry-run: with -R --sync, print the plan and change
	// nothing (RestoreOptions.DryRun).
	ExtDryRun
	// ExtLossless is --lossless: with -S, save every attribute the
	// kernel keeps, numerically (Format.Lossless).
	ExtLossless
	numExtensions
)

// extensionSpec says where an extension is legal.
type extensionSpec struct {
	name     string
	usage    string // the pflag usage string
	help     string // the -h line's text
	command  Kind   // the one command it is legal with
	requires []Extension
}

var extensions = [numExtensions]extensionSpec{
	ExtJSON: {
		name: "json", command: List,
		usage: "with -L: print the listing as one JSON document",
		help:  "with -L: print the listing as JSON",
	},
	ExtSync: {
		name: "sync", command: Restore,
		usage: "with -R: make the table equal to the rules read",
		help:  "with -R: make the table equal to the rules",
	},
	ExtAtomic: {
		name: "atomic", command: Restore,
		usage: "with -R: apply all of the rules or none of them",
		help:  "with -R: apply all of the rules or none",
	},
	ExtDryRun: {
		name: "dry-run", command: Restore, requires: []Extension{ExtSync},
		usage: "with -R --sync: print the changes and make none",
		help:  "with -R --sync: print the changes, make none",
	},
	ExtLossless: {
		name: "lossless", command: Save,
		usage: "with -S: save every attribute and the timeouts, numerically",
		help:  "with -S: save everything, numerically",
	},
}

// String returns the option's long name, as used in messages.
func (e Extension) String() string {
	if e < numExtensions {
		return extensions[e].name
	}
	return fmt.Sprintf("Extension(%d)", uint(e))
}

// ExtensionSet is a set of Extensions; bit n is Extension n.
type ExtensionSet uint

// Has reports whether e is in the set.
func (s ExtensionSet) Has(e Extension) bool { return s&(1<<e) != 0 }

// RestoreOptions are goipvsadm's options for -R.
type RestoreOptions struct {
	// Sync (--sync) makes the table equal to the rules: whatever the
	// rules do not create is deleted.
	Sync bool
	// Atomic (--atomic) applies all of the rules or none of them.
	Atomic bool
	// DryRun (--dry-run, only with Sync) prints what Sync would change
	// and changes nothing.
	DryRun bool
}

// setExtension records an extension, refusing a second use of it with
// ipvsadm's message for a repeated option.
func (s *state) setExtension(e Extension) *Error {
	if s.ext.Has(e) {
		return failf("multiple '%s' options specified", e)
	}
	s.ext |= 1 << e
	switch e {
	case ExtJSON:
		s.format.JSON = true
	case ExtSync:
		s.restore.Sync = true
	case ExtAtomic:
		s.restore.Atomic = true
	case ExtDryRun:
		s.restore.DryRun = true
	case ExtLossless:
		s.format.Lossless = true
	}
	return nil
}

// checkExtensions checks goipvsadm's options against the command, in the
// style of ipvsadm's option table check. It runs after all of ipvsadm's
// checks.
func checkExtensions(k Kind, set ExtensionSet) *Error {
	for e := Extension(0); e < numExtensions; e++ {
		if !set.Has(e) {
			continue
		}
		spec := &extensions[e]
		if k != spec.command {
			return failf("Illegal '%s' option with the '%s' command", e, k)
		}
		for _, r := range spec.requires {
			if !set.Has(r) {
				return failf("You need to supply the '%s' option for the '%s' option", r, e)
			}
		}
	}
	return nil
}
