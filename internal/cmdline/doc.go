// Package cmdline interprets an ipvsadm command line exactly as ipvsadm 1.31
// does: the same options, the same value syntax, the same error messages in
// the same order, and the same exit codes.
//
// # Why pflag and a front end of our own
//
// The options are defined once, in a table (options.go): long name,
// shorthands, whether a value is taken, the help text, and beside them the
// handler that applies the option. That table is the single registry of
// option names; Flags gives it as a pflag.FlagSet, from which shell
// completion and documentation can be generated.
//
// pflag's own parser cannot be used to read the command line, because
// ipvsadm 1.31 parses with popt, and popt differs from pflag (and from
// getopt) in ways that change what users see:
//
//   - the option argument of -p is optional and is taken from the next word
//     only if that word does not start with '-';
//   - a required argument takes the next word even if it starts with '-'
//     ("-w -1" is a weight of -1, not an unknown option);
//   - "-t=VIP" and "-p=50" are a short option followed by its argument, and
//     "-n=5" is "option does not take an argument";
//   - words that are not options may appear anywhere and are collected in
//     order ("foo -L" is the list command with a stray argument);
//   - the error messages name argv tokens in a particular way
//     (poptBadOption: the last word consumed, e.g. "-LA" or "master").
//
// So a small popt-compatible front end (popt.go) walks argv in order and asks
// the table which option a name or shorthand stands for and whether it takes
// a value. It then hands each option, one at a time and in argv order, to its
// handler, and the result to the same checks ipvsadm's process_options
// makes.
//
// # goipvsadm's own options
//
// --json (with -L), --sync, --atomic and --dry-run (with -R; --dry-run only
// with --sync) and --lossless (with -S) are not ipvsadm's. They are long options without a value and
// are checked after every check ipvsadm makes, in the same style ("Illegal
// 'json' option with the 'add-service' command", "You need to supply the
// 'sync' option for the 'dry-run' option", exit status 2), so a command line
// that does not use them is parsed, and refused, exactly as by ipvsadm.
// They set Format.JSON, Format.Lossless and Command.Restore. Parser.IpvsadmOnly turns them
// into unknown options, as they are to ipvsadm; -R input lines are parsed
// that way, since these options are for the command line of a whole run.
//
// # Name lookups
//
// Host names and service (port) names are resolved through a Resolver, so
// tests can supply fixed tables. NamesResolver uses package names, which
// reads /etc/hosts and /etc/services as glibc's "files" NSS module does and
// falls back to DNS for host names; the listings print with the same
// tables.
package cmdline
