package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"projblog/internal/access"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// maxBody is the most a command reads from standard input; the posts
// package refuses anything over its own 1 MiB limit with a clear message.
const maxBody = 1<<20 + 1

func cmdUser(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("user needs a sub-command: add, passwd or list")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	cfg := defaults()
	switch args[0] {
	case "add":
		fs := newFlagSet("user add", "user add EMAIL --name NAME [--admin] [--password-stdin]", stderr)
		cfg.dataFlag(fs)
		name := fs.String("name", "", "display `NAME` (required)")
		admin := fs.Bool("admin", false, "make the user an admin")
		pwStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of generating one")
		pos, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("user add needs exactly one EMAIL")
		}
		if *name == "" {
			return usagef("user add needs --name NAME")
		}
		password, generated, err := readPassword(*pwStdin, stdin)
		if err != nil {
			return err
		}
		a, err := open(cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.users.Create(users.NewUser{Email: pos[0], Name: *name, Password: password, Admin: *admin})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s (%s)\n", u.Email, u.Name)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", password)
		}
		return nil
	case "passwd":
		fs := newFlagSet("user passwd", "user passwd EMAIL [--password-stdin]", stderr)
		cfg.dataFlag(fs)
		pwStdin := fs.Bool("password-stdin", false, "read the new password from standard input instead of generating one")
		pos, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("user passwd needs exactly one EMAIL")
		}
		password, generated, err := readPassword(*pwStdin, stdin)
		if err != nil {
			return err
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
		if err := a.users.SetPassword(u.ID, password); err != nil {
			return err
		}
		if u.External {
			// An author known from mail becomes an account.
			if err := a.users.SetActive(u.ID, true); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s was an external author (known from mail); it is now an active account\n", u.Email)
		}
		fmt.Fprintf(stdout, "password changed for %s; their sessions were ended\n", u.Email)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", password)
		}
		return nil
	case "list":
		fs := newFlagSet("user list", "user list", stderr)
		cfg.dataFlag(fs)
		pos, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return usagef("user list takes no arguments, got %q", pos)
		}
		a, err := open(cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		list, err := a.users.List()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tHANDLE\tADMIN\tACTIVE")
		for _, u := range list {
			active := yesNo(u.Active)
			if u.External {
				active = "no (external author)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\n", u.Email, u.Name, u.Handle, yesNo(u.Admin), active)
		}
		return tw.Flush()
	}
	return usagef("unknown user sub-command %q (want add, passwd or list)", args[0])
}

const userUsage = `Usage:
  projblog user add EMAIL --name NAME [--admin] [--password-stdin]
  projblog user passwd EMAIL [--password-stdin]
  projblog user list

Run projblog user SUB-COMMAND --help for its flags.
`

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// readPassword reads one line from stdin, or generates a random password.
func readPassword(fromStdin bool, stdin io.Reader) (pw string, generated bool, err error) {
	if !fromStdin {
		return rand.Text(), true, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("read password from standard input: %w", err)
	}
	pw = strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", false, usagef("--password-stdin: standard input held no password")
	}
	return pw, false, nil
}

func cmdProject(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		args = []string{"add", "--help"}
	}
	if len(args) == 0 || args[0] != "add" {
		return usagef("project needs a sub-command: add")
	}
	cfg := defaults()
	fs := newFlagSet("project add", "project add SLUG --name NAME --visibility public|internal|private --owner EMAIL", stderr)
	cfg.dataFlag(fs)
	name := fs.String("name", "", "project `NAME` (required)")
	vis := fs.String("visibility", "internal", "who may read it: public, internal or private")
	owner := fs.String("owner", "", "`EMAIL` of the owner (required)")
	desc := fs.String("description", "", "one-paragraph `DESCRIPTION`")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("project add needs exactly one SLUG")
	}
	if *name == "" || *owner == "" {
		return usagef("project add needs --name NAME and --owner EMAIL")
	}
	if !access.Visibility(*vis).Valid() {
		return usagef("--visibility %q must be public, internal or private", *vis)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.user("--owner", *owner)
	if err != nil {
		return err
	}
	p, err := a.posts.CreateProject(u.Actor(), posts.ProjectInput{Slug: pos[0], Name: *name, Description: *desc, Visibility: access.Visibility(*vis)}, u.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s/p/%s\n", cfg.BaseURL, p.Slug)
	return nil
}

func cmdPost(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		args = []string{"add", "--help"}
	}
	if len(args) == 0 || args[0] != "add" {
		return usagef("post needs a sub-command: add")
	}
	cfg := defaults()
	fs := newFlagSet("post add", "post add --project SLUG --author EMAIL --title TITLE [--tag TAG]... [--draft] [--health H] < body.md", stderr)
	cfg.dataFlag(fs)
	project := fs.String("project", "", "project `SLUG` (required)")
	author := fs.String("author", "", "author's `EMAIL` (required)")
	title := fs.String("title", "", "post `TITLE` (required)")
	var tags strList
	fs.Var(&tags, "tag", "a `TAG` (repeatable)")
	draft := fs.Bool("draft", false, "save as a draft instead of publishing")
	health := fs.String("health", "", "make it a status update: on_track, at_risk or off_track")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("post add takes no positional arguments (the body comes on standard input), got %q", pos)
	}
	if *project == "" || *author == "" || *title == "" {
		return usagef("post add needs --project SLUG, --author EMAIL and --title TITLE")
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	body, err := io.ReadAll(io.LimitReader(stdin, maxBody))
	if err != nil {
		return fmt.Errorf("read body from standard input: %w", err)
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.user("--author", *author)
	if err != nil {
		return err
	}
	if !posts.Health(*health).Valid() {
		return usagef("--health %q must be on_track, at_risk or off_track", *health)
	}
	p, err := a.posts.CreatePost(u.Actor(), *project, posts.PostInput{Title: *title, Body: string(body), Tags: tags, Draft: *draft, Health: posts.Health(*health)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s/p/%s/%s\n", cfg.BaseURL, *project, p.Slug)
	return nil
}

func cmdRerender(args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	fs := newFlagSet("rerender", "rerender [--all]", stderr)
	cfg.dataFlag(fs)
	all := fs.Bool("all", false, "render every post again, not only those made by an older renderer")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("rerender takes no arguments, got %q", pos)
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	report, finish := reporter(stderr, "rendering posts")
	n, err := a.posts.Rerender(context.Background(), *all, report)
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d posts rendered again\n", n)
	return nil
}

// cmdDigest prints a person's digest for a week without sending it.
func cmdDigest(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "preview" {
		return usagef("digest needs a sub-command: preview")
	}
	cfg := defaults()
	fs := newFlagSet("digest preview", "digest preview --user EMAIL [--week 2026-W48 | --day 2026-11-30] [--html]", stderr)
	cfg.dataFlag(fs)
	email := fs.String("user", "", "whose digest (`EMAIL`, required)")
	week := fs.String("week", "", "ISO `WEEK` of the window's start, e.g. 2026-W48 (default: the last complete window)")
	day := fs.String("day", "", "the daily digest of the local `DATE`, e.g. 2026-11-30, instead of a weekly one")
	asHTML := fs.Bool("html", false, "print the HTML part instead of the text part")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 || *email == "" {
		return usagef("digest preview needs --user EMAIL and no other arguments")
	}
	if *week != "" && *day != "" {
		return usagef("digest preview takes --week or --day, not both")
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.user("--user", *email)
	if err != nil {
		return err
	}
	st, err := a.notify.Settings(u.ID)
	if err != nil {
		return err
	}
	w := notify.WeeklyWindow(time.Now(), u.Location(), st.WeeklyDay, st.DigestHour)
	switch {
	case *week != "":
		if w, err = notify.WindowForLabel(*week, u.Location(), st.WeeklyDay, st.DigestHour); err != nil {
			return err
		}
	case *day != "":
		if w, err = notify.DayWindowForLabel(*day, u.Location(), st.DigestHour); err != nil {
			return err
		}
	}
	d, err := a.notify.BuildDigest(u.ID, w)
	if err != nil {
		return err
	}
	if d.Empty() {
		fmt.Fprintf(stdout, "The digest of %s for %s is empty: nothing would be sent.\n", u.Email, w.Label)
		return nil
	}
	m, err := a.notify.ComposeDigest(d)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "To: %s\nSubject: %s\n\n", m.To, m.Subject)
	if *asHTML {
		fmt.Fprintln(stdout, m.HTML)
	} else {
		fmt.Fprintln(stdout, m.Text)
	}
	return nil
}

// cmdNotify lists what did not go out: e-mail that is waiting or failed,
// then webhook deliveries that failed (each kept until a project owner
// sends it again or deletes the webhook).
func cmdNotify(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "failures" {
		return usagef("notify needs a sub-command: failures")
	}
	cfg := defaults()
	fs := newFlagSet("notify failures", "notify failures", stderr)
	cfg.dataFlag(fs)
	if _, err := parseArgs(fs, args[1:]); err != nil {
		return err
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	items, err := a.notify.Outbox()
	if err != nil {
		return err
	}
	failures, err := a.notify.WebhookFailures()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tATTEMPTS\tTO\tSUBJECT\tLAST ERROR")
	for _, it := range items {
		state := "waiting"
		if it.Failed {
			state = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", state, it.Attempts, it.To, it.Subject, oneLine(it.LastError))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nWebhook deliveries that failed (%d):\n", len(failures))
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tWEBHOOK\tEVENT\tQUEUED\tLAST TRY\tATTEMPTS\tLAST ERROR")
	names := map[uint64]string{}
	for _, f := range failures {
		name, ok := names[f.ProjectID]
		if !ok {
			name = fmt.Sprintf("#%d", f.ProjectID)
			if pv, err := a.posts.ProjectByID(access.Actor{Admin: true}, f.ProjectID); err == nil {
				name = pv.Slug
			}
			names[f.ProjectID] = name
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s\t%s\t%d\t%s\n", name, f.Host, f.Format, f.Event,
			f.CreatedAt.UTC().Format(time.RFC3339), f.LastAttemptAt.UTC().Format(time.RFC3339), f.Attempts, oneLine(f.LastError))
	}
	return tw.Flush()
}

// oneLine keeps an error message on one line of a table.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
