package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/users"
)

const tokenUsage = `Usage:
  projblog token add EMAIL --scope read|write [--name NAME]
  projblog token list EMAIL
  projblog token revoke EMAIL ID

Personal API tokens for the JSON API (docs/API.md). add prints the new token
once; only its hash is stored. People can also manage their own tokens under
Settings -> API tokens while the server runs; these commands open the
database themselves, so the server must be stopped.

Run projblog token SUB-COMMAND --help for its flags.
`

// defaultTokenName names a token made on the command line without --name.
const defaultTokenName = "command line"

// cmdToken creates, lists and revokes a person's API tokens.
func cmdToken(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("token needs a sub-command: add, list or revoke")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, tokenUsage)
		return nil
	}
	cfg := defaults()
	switch args[0] {
	case "add":
		fs := newFlagSet("token add", "token add EMAIL --scope read|write [--name NAME]", stderr)
		cfg.dataFlag(fs)
		scope := fs.String("scope", "", "what the token may do: read, or write (read and write) (required)")
		name := fs.String("name", defaultTokenName, "a `NAME` that says where the token is used")
		pos, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("token add needs exactly one EMAIL")
		}
		if *scope == "" {
			return usagef("token add needs --scope read or --scope write")
		}
		if !users.APIScope(*scope).Valid() {
			return usagef("--scope %q must be read or write", *scope)
		}
		a, err := open(cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.user("", pos[0])
		if err != nil {
			return err
		}
		token, t, err := a.users.CreateAPIToken(u.ID, *name, users.APIScope(*scope))
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created API token %d %q (%s) for %s; it is shown this once:\n", t.ID, t.Name, t.Scope, u.Email)
		fmt.Fprintln(stdout, token)
		return nil
	case "list":
		fs := newFlagSet("token list", "token list EMAIL", stderr)
		cfg.dataFlag(fs)
		pos, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("token list needs exactly one EMAIL")
		}
		a, err := open(cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.user("", pos[0])
		if err != nil {
			return err
		}
		list, err := a.users.APITokens(u.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED")
		for _, t := range list {
			last := "never"
			if !t.LastUsedAt.IsZero() {
				last = t.LastUsedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.CreatedAt.UTC().Format(time.RFC3339), last)
		}
		return tw.Flush()
	case "revoke":
		fs := newFlagSet("token revoke", "token revoke EMAIL ID", stderr)
		cfg.dataFlag(fs)
		pos, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usagef("token revoke needs an EMAIL and a token ID (see projblog token list EMAIL)")
		}
		id, err := strconv.ParseUint(pos[1], 10, 64)
		if err != nil || id == 0 {
			return usagef("token revoke: %q is not a token ID (a number from projblog token list)", pos[1])
		}
		a, err := open(cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.user("", pos[0])
		if err != nil {
			return err
		}
		if err := a.users.RevokeAPIToken(u.ID, id); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return fmt.Errorf("%s has no API token %d (see projblog token list %s)", u.Email, id, u.Email)
			}
			return err
		}
		fmt.Fprintf(stdout, "revoked API token %d of %s\n", id, u.Email)
		return nil
	}
	return usagef("unknown token sub-command %q (want add, list or revoke)", args[0])
}
