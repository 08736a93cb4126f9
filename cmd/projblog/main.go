// Command projblog is the whole of projblog in one binary: the web server
// (`serve`) and the admin commands that work on its data directory while
// the server is stopped.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	_ "time/tzdata" // time zones work on machines without a zoneinfo database

	"projblog/internal/apperr"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `projblog — project blogs that replace the reply-all e-mail chain

Usage:
  projblog serve [--listen ADDR] [--data DIR] [--base-url URL] [--theme-dir DIR]
  projblog user add EMAIL --name NAME [--admin] [--password-stdin]
  projblog user passwd EMAIL [--password-stdin]
  projblog user list
  projblog project add SLUG --name NAME --visibility public|internal|private --owner EMAIL
  projblog post add --project SLUG --author EMAIL --title TITLE [--tag TAG]... [--draft] [--health H] < body.md
  projblog rerender [--all]     render posts again after a Markdown renderer upgrade
  projblog reindex              build the search index again from the database (server stopped)
  projblog token add EMAIL --scope read|write [--name NAME]   a personal API token, printed once
  projblog token list EMAIL
  projblog token revoke EMAIL ID
  projblog backup FILE          a consistent copy, also while serve runs
  projblog restore FILE         check a backup, then put it in place (server stopped)
  projblog export DIR           every project as Markdown files with front matter
  projblog import export DIR [--dry-run]   read an export back (nothing twice)
  projblog seed [--posts N] [--seed S]     a realistic generated data set for trials and benchmarks
  projblog digest preview --user EMAIL [--week 2026-W48 | --day 2026-11-30] [--html]
  projblog notify failures
  projblog mail deliver [--from ADDR] [--to ADDR]... < message.eml   inbound mail from a mail server's pipe
  projblog import mbox|eml|maildir PATH --project SLUG [--dry-run]    a team's mail threads as posts
  projblog version

Every command takes --data DIR (default ./data, env PROJBLOG_DATA) and --help.
Flags may stand before or after the positional arguments.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code: 0 on success,
// 1 when the command failed, 2 when it was used wrongly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = cmdServe(rest, stdout, stderr)
	case "user":
		err = cmdUser(rest, stdin, stdout, stderr)
	case "project":
		err = cmdProject(rest, stdout, stderr)
	case "post":
		err = cmdPost(rest, stdin, stdout, stderr)
	case "rerender":
		err = cmdRerender(rest, stdout, stderr)
	case "reindex":
		err = cmdReindex(rest, stdout, stderr)
	case "token":
		err = cmdToken(rest, stdout, stderr)
	case "backup":
		err = cmdBackup(rest, stdout, stderr)
	case "restore":
		err = cmdRestore(rest, stdout, stderr)
	case "export":
		err = cmdExport(rest, stdout, stderr)
	case "import":
		err = cmdImport(rest, stdout, stderr)
	case "seed":
		err = cmdSeed(rest, stdout, stderr)
	case "digest":
		err = cmdDigest(rest, stdout, stderr)
	case "notify":
		err = cmdNotify(rest, stdout, stderr)
	case "mail":
		err = cmdMail(rest, stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "projblog", version)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "projblog: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ue usageError
	var xe exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &xe):
		fmt.Fprintf(stderr, "projblog: %s\n", xe.msg)
		return xe.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "projblog: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "projblog: %s\n", cliMessage(err))
		return 1
	}
}

// cliMessage is the text an admin reads for err: the person-facing message
// of an apperr, with the cause of an internal error.
func cliMessage(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) && e.Code != apperr.Internal {
		if top, ok := err.(*apperr.Error); ok {
			return top.Message
		}
		// Wrapped with context ("file: ..."): keep the context, drop
		// the cause of the innermost message.
		return strings.TrimSuffix(err.Error(), e.Error()) + e.Message
	}
	return err.Error()
}

// exitError ends a command with its own exit code (mail deliver answers
// its mail server with sysexits.h codes).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// usageError is a command used wrongly (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// parseArgs parses flags that may stand before, between or after the
// positional arguments, and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			// An unknown flag or a bad flag value is a command used
			// wrongly: exit code 2, like the checks after parsing.
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a flag set whose errors are returned, not fatal, and
// whose --help prints the command's synopsis.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: projblog %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// isHelp reports whether arg asks for help, as in `projblog user --help`.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// strList is a repeatable string flag (--tag a --tag b).
type strList []string

func (l *strList) String() string     { return strings.Join(*l, ",") }
func (l *strList) Set(v string) error { *l = append(*l, v); return nil }
