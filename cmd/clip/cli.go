package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// This file is the command line shared by every command: one flag parser
// that accepts flags anywhere (as git, docker and kubectl do), one help
// layout, one kind of usage error.

// errHelp is returned by cmdFlags.parse after -h or --help printed the
// command's help; run turns it into a successful exit.
var errHelp = flag.ErrHelp

// usageError is a command line the command cannot run: main exits with
// status 2 after printing it.
type usageError struct {
	cmd, msg string
}

func (e *usageError) Error() string {
	if e.cmd == "" {
		return e.msg + " (see: clip help)"
	}
	return e.msg + " (see: clip help " + e.cmd + ")"
}

// cmdFlags is the flag set of one command with its help text.
type cmdFlags struct {
	*flag.FlagSet
	name string
	help string // synopsis ("usage: clip name …" lines), a blank line, the description and the positional arguments
}

// newCmdFlags returns the flag set of command name. help starts with the
// synopsis; the flags are appended to it by writeHelp.
func newCmdFlags(name, help string) *cmdFlags {
	fs := flag.NewFlagSet("clip "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, help is printed by parse
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, name: name, help: strings.TrimSpace(help)}
}

// writeHelp prints the full help: synopsis, description, positional
// arguments and every flag with its default.
func (c *cmdFlags) writeHelp(w io.Writer) {
	fmt.Fprintln(w, c.help)
	fmt.Fprintln(w, "\nflags:")
	c.SetOutput(w)
	c.PrintDefaults()
	c.SetOutput(io.Discard)
}

// usage returns a usageError of this command.
func (c *cmdFlags) usage(format string, args ...any) error {
	return &usageError{cmd: c.name, msg: fmt.Sprintf(format, args...)}
}

// parse parses flags anywhere among args and returns the positional
// arguments in order. "--" ends the flags: everything after it is
// positional. -h or --help prints the help to stdout and returns errHelp.
// It is the std flag package run repeatedly: parse, take the positional
// argument it stopped at, parse the rest.
func (c *cmdFlags) parse(args []string, stdout io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := c.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.writeHelp(stdout)
				return nil, errHelp
			}
			return nil, c.usage("%v", err)
		}
		rest := c.Args()
		if endedByDashDash(c.FlagSet, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// endedByDashDash reports whether the flag package stopped parsing the
// tokens it consumed at a "--" terminator (rather than "--" being the value
// of a flag such as --text --). It replays the flag package's rules on
// tokens it already accepted.
func endedByDashDash(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		tok := consumed[i]
		if tok == "--" {
			return true
		}
		name := strings.TrimLeft(tok, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // -h, --help
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++ // the flag's value
	}
	return false
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
