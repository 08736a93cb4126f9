package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"projblog/internal/apperr"
	"projblog/internal/mailin"
	"projblog/internal/store"
)

// importMailHelp is the help of "projblog import mbox|eml|maildir".
const importMailHelp = `it reads an archive of a team's messages —
an mbox file (mboxo or mboxrd), a single .eml file or a directory of
them, or a maildir (cur/ and new/) — and makes each conversation a post
of the project named by --project, which must exist. Messages are
grouped into threads by their Message-ID, In-Reply-To and References
headers, and a "Re:" without them joins the thread with the same
subject. The first message of a thread becomes the post (its subject the
title), the others its comments, answering what they answer, with what
they quote and their signatures left out; files become attachments;
out-of-office replies, bounces and replies with no new text are skipped.
Senders are matched to accounts by address; a sender without one becomes
an external author (no password, cannot sign in, is sent nothing).
Nobody is notified. Running the same import again adds nothing;
importing a later archive of the same list adds only the new replies. A
message that cannot be read is reported and skipped. --dry-run reads and
threads everything and tells what would be imported, writing nothing.`

// cmdImportMail runs "projblog import mbox|eml|maildir PATH --project SLUG".
func cmdImportMail(kind string, args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	fs := newFlagSet("import "+kind, "import "+kind+" PATH --project SLUG [--data DIR] [--dry-run]", stderr)
	cfg.dataFlag(fs)
	slug := fs.String("project", "", "`SLUG` of the project the threads go to (required; it must exist)")
	dry := fs.Bool("dry-run", false, "read and thread everything, tell what would be imported, write nothing")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import %s needs exactly one PATH", kind)
	}
	if *slug == "" {
		return usagef("import %s needs --project SLUG", kind)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	path := pos[0]
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no such file or directory (give the %s to import)", path, map[string]string{"mbox": "mbox file", "eml": ".eml file or a directory of them", "maildir": "maildir directory"}[kind])
	} else if err != nil {
		return err // names the path
	}
	// Without a database there is no project: say so without making one.
	if _, err := os.Stat(filepath.Join(cfg.DataDir, store.FileName)); os.IsNotExist(err) {
		return errNoProject(*slug, cfg.DataDir)
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.posts.Project(systemActor, *slug); apperr.Is(err, apperr.NotFound) {
		return errNoProject(*slug, cfg.DataDir)
	} else if err != nil {
		return err
	}

	rd, err := readMail(kind, path, *dry, stderr)
	if rd != nil {
		defer rd.cleanup()
	}
	if err != nil {
		return err
	}
	threads := mailin.Threads(rd.msgs)
	kept, auto := 0, 0
	for _, th := range threads {
		kept += len(th.Messages)
		for _, m := range th.Messages {
			if m.Auto != "" {
				auto++
			}
		}
	}

	im := &mailin.Importer{Posts: a.posts, Users: a.users, Actor: systemActor, Project: *slug, DryRun: *dry, Files: rd.files}
	bar := newProgress(stderr, "importing threads", len(threads))
	sum, err := im.Import(threads, bar.Set)
	bar.Done()
	if err != nil {
		return fmt.Errorf("%s: %w (what was imported before this stays; running the import again goes on from there)", path, err)
	}

	if *dry {
		for _, r := range sum.Results {
			printThreadResult(stdout, r)
		}
	}
	read := fmt.Sprintf("%s read (%d refused, %s", plural(len(rd.msgs)+len(rd.refused), "message", "messages"), len(rd.refused), plural(auto, "auto-reply", "auto-replies"))
	if dup := len(rd.msgs) - kept; dup > 0 {
		read += fmt.Sprintf(", %s", plural(dup, "duplicate", "duplicates"))
	}
	read += ")"
	created := plural(sum.Posts, "post created", "posts created")
	if *dry {
		created = plural(sum.Posts, "post to create", "posts to create")
	}
	line := fmt.Sprintf("%s: %s, %s → %s, %d already imported, %s, %s, %s",
		kind, read, plural(len(threads), "thread", "threads"), created, sum.Skipped,
		plural(sum.Comments, "comment", "comments"), plural(sum.Files, "file", "files"),
		plural(sum.NewAuthors, "new external author", "new external authors"))
	if *dry {
		line = "dry run — " + line + "; nothing written"
	}
	fmt.Fprintln(stdout, line)
	if n := sum.SkippedMessages - auto; n > 0 {
		fmt.Fprintf(stdout, "%s without new text left out\n", plural(n, "reply", "replies"))
	}
	refused := append(rd.refused, sum.Refused...)
	if len(refused) > 0 {
		fmt.Fprintln(stdout, "not imported:")
		for _, r := range refused {
			fmt.Fprintf(stdout, "  %s\n", r)
		}
	}
	return nil
}

func errNoProject(slug, dataDir string) error {
	return fmt.Errorf("no project %q in %s (create it with `projblog project add %s`)", slug, dataDir, slug)
}

// mailRead is an archive read and parsed. The files of its messages wait
// in a temporary directory (not in memory) until they are imported.
type mailRead struct {
	msgs    []*mailin.Message
	refused []string // where: why, for messages Parse refused
	dir     string   // the files, one per file of a message
	spilled map[*mailin.File]string
}

// readMail reads and parses every message of the archive. A message Parse
// refuses is noted and skipped; an archive that cannot be read, or whose
// messages all are refused, is an error.
func readMail(kind, path string, dry bool, stderr io.Writer) (*mailRead, error) {
	rd := &mailRead{spilled: map[*mailin.File]string{}}
	bar := newProgress(stderr, "reading messages", 0)
	defer bar.Done()
	fn := func(raw []byte, where string) error {
		m, err := mailin.Parse(bytes.NewReader(raw), mailin.MaxMessageBytes)
		if err != nil {
			if apperr.CodeOf(err) == apperr.Internal {
				return fmt.Errorf("%s: %w", where, err)
			}
			rd.refused = append(rd.refused, where+": "+apperr.MessageOf(err))
			return nil
		}
		if err := rd.spill(m, dry); err != nil {
			return err
		}
		rd.msgs = append(rd.msgs, m)
		bar.Set(len(rd.msgs))
		return nil
	}
	var err error
	switch kind {
	case "mbox":
		var f *os.File
		if f, err = os.Open(path); err == nil {
			err = mailin.ReadMbox(f, mailin.MaxMessageBytes, fn)
			f.Close()
		}
	case "maildir":
		err = mailin.ReadMaildir(path, mailin.MaxMessageBytes, fn)
	case "eml":
		err = mailin.ReadEML(path, mailin.MaxMessageBytes, fn)
	}
	if err != nil {
		return rd, fmt.Errorf("%s: %w", path, err)
	}
	if len(rd.msgs) == 0 && len(rd.refused) > 0 {
		return rd, fmt.Errorf("%s holds no message projblog can read (%s)", path, rd.refused[0])
	}
	return rd, nil
}

// spill moves the bytes of m's files to the temporary directory (in a dry
// run, drops them: only their number counts).
func (rd *mailRead) spill(m *mailin.Message, dry bool) error {
	for i := range m.Files {
		f := &m.Files[i]
		if dry {
			f.Data = nil
			continue
		}
		if rd.dir == "" {
			dir, err := os.MkdirTemp("", "projblog-import-")
			if err != nil {
				return err
			}
			rd.dir = dir
		}
		name := filepath.Join(rd.dir, strconv.Itoa(len(rd.spilled)))
		if err := os.WriteFile(name, f.Data, 0o600); err != nil {
			return fmt.Errorf("keep an attachment aside: %w", err)
		}
		rd.spilled[f] = name
		f.Data = nil
	}
	return nil
}

// files gives back the bytes of m's files (mailin.Importer.Files).
func (rd *mailRead) files(m *mailin.Message) ([]mailin.File, error) {
	out := make([]mailin.File, len(m.Files))
	for i := range m.Files {
		out[i] = m.Files[i]
		if name, ok := rd.spilled[&m.Files[i]]; ok {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, err
			}
			out[i].Data = data
		}
	}
	return out, nil
}

func (rd *mailRead) cleanup() {
	if rd.dir != "" {
		os.RemoveAll(rd.dir)
	}
}

// printThreadResult prints one line of a dry run's plan.
func printThreadResult(w io.Writer, r mailin.ThreadResult) {
	date := "          "
	if !r.Date.IsZero() {
		date = r.Date.UTC().Format("2006-01-02")
	}
	what := ""
	switch r.Status {
	case mailin.ThreadNew:
		what = fmt.Sprintf("a new post with %s", plural(r.Comments, "comment", "comments"))
	case mailin.ThreadExisting:
		what = fmt.Sprintf("imported before, %s", plural(r.Comments, "new comment", "new comments"))
	case mailin.ThreadEmpty:
		what = "nothing to import"
	default:
		what = string(r.Status)
	}
	fmt.Fprintf(w, "%-8s %s  “%s”: %s, %s\n", r.Status, date, r.Title, plural(r.Messages, "message", "messages"), what)
}

// plural is "1 thing" or "N things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
