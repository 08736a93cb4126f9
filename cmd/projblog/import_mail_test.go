package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
)

// mailProject seeds a data directory for mail imports: Ann (ann@example.com,
// who writes in the archives) and Olga (the owner), and the project
// "launch". Everyone else in the archives is unknown to the database.
func mailProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	seed(t, dir, func(s *services) {
		s.addUser(t, "ann@example.com", "Ann Lee", false)
		owner := s.addUser(t, "olga@example.com", "Olga Owner", false)
		if _, err := s.posts.CreateProject(owner.Actor(), posts.ProjectInput{Slug: "launch", Name: "Launch", Visibility: access.Internal}, owner.ID); err != nil {
			t.Fatal(err)
		}
	})
	return dir
}

// mailState describes everything an import may have written: the
// accounts, the event log's head, and the project's posts (oldest first)
// with their bodies, files and comments. Attachment ids are written N.
func mailState(t *testing.T, dir string) string {
	t.Helper()
	s := mustOpenDB(t, dir)
	defer s.Close()
	var b strings.Builder
	us, err := s.users.List()
	if err != nil {
		t.Fatal(err)
	}
	emails := map[uint64]string{}
	for _, u := range us {
		emails[u.ID] = u.Email
		kind := "account"
		if u.External {
			kind = "external"
		}
		fmt.Fprintf(&b, "user %s %q %s active=%v\n", u.Email, u.Name, kind, u.Active)
	}
	fmt.Fprintf(&b, "events %d\n", s.db.Head())
	_, page, err := s.posts.ProjectPosts(systemActor, "launch", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(page.Posts) - 1; i >= 0; i-- {
		p := page.Posts[i]
		fmt.Fprintf(&b, "post %q by %s at %s, published %s\n", p.Title, emails[p.AuthorID], p.CreatedAt.Format(time.RFC3339), p.PublishedAt.Format(time.RFC3339))
		fmt.Fprintf(&b, "  body %q\n", fileLinks.ReplaceAllString(p.Body, "/files/N/"))
		files, err := s.posts.Attachments(systemActor, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			fmt.Fprintf(&b, "  file %s %s %d bytes\n", f.Name, f.ContentType, f.Size)
		}
		cs, err := s.posts.Comments(systemActor, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		num := map[uint64]int{}
		for k, c := range cs {
			num[c.ID] = k + 1
			reply := ""
			if c.ParentID != 0 {
				reply = fmt.Sprintf(" (in the thread of %d)", num[c.ParentID])
			}
			fmt.Fprintf(&b, "  comment %d by %s at %s%s: %q\n", k+1, emails[c.AuthorID], c.CreatedAt.Format(time.RFC3339), reply, c.Body)
		}
	}
	return b.String()
}

// wantMailState is the database after importing testdata/mail/list.mbox.
const wantMailState = `user ann@example.com "Ann Lee" account active=true
user bob@partner.example "Bob Martin" external active=false
user celine@example.fr "Céline Dupré" external active=false
user olga@example.com "Olga Owner" account active=true
events 9
post "Launch plan for v2" by ann@example.com at 2025-03-03T09:00:00Z, published 2025-03-03T09:00:00Z
  body "Hi all,\n\nHere is the plan for the v2 launch: code freeze on the 10th, QA the\nweek after, release on the 24th.\n\nFrom now on we ship on Tuesdays."
  comment 1 by bob@partner.example at 2025-03-03T11:00:00Z: "Sounds good. Can we move QA to Monday?"
  comment 2 by ann@example.com at 2025-03-03T14:00:00Z (in the thread of 1): "Yes, Monday works."
  comment 3 by bob@partner.example at 2025-03-04T10:00:00Z: "One more thing: the release notes need a French version."
post "Budget 2025" by bob@partner.example at 2025-03-03T10:00:00Z, published 2025-03-03T10:00:00Z
  body "Please find the budget attached.\n\n[budget.csv](/p/launch/files/N/budget.csv)"
  file budget.csv text/plain; charset=utf-8 40 bytes
  comment 1 by ann@example.com at 2025-03-03T12:00:00Z: "Approved."
  comment 2 by ann@example.com at 2025-03-05T09:00:00Z (in the thread of 1): "Filed with finance."
post "Réunion de lancement" by celine@example.fr at 2025-03-04T08:00:00Z, published 2025-03-04T08:00:00Z
  body "Bonjour à tous,\n\nLa réunion de lancement aura lieu jeudi à 10h, salle Grévin.\n\nCéline"
  comment 1 by ann@example.com at 2025-03-04T11:00:00Z: "Merci, j'y serai."
`

const (
	listSummary = "mbox: 12 messages read (1 refused, 1 auto-reply), 3 threads → 3 posts created, 0 already imported, 6 comments, 1 file, 2 new external authors\n" +
		"1 reply without new text left out\n" +
		"not imported:\n" +
		"  message 12 (line 174): The message has no From address.\n"
	listAgainSummary = "mbox: 12 messages read (1 refused, 1 auto-reply), 3 threads → 0 posts created, 3 already imported, 0 comments, 0 files, 0 new external authors\n" +
		"1 reply without new text left out\n" +
		"not imported:\n" +
		"  message 12 (line 174): The message has no From address.\n"
	laterSummary = "mbox: 13 messages read (0 refused, 1 auto-reply), 3 threads → 0 posts created, 3 already imported, 2 comments, 0 files, 0 new external authors\n" +
		"1 reply without new text left out\n"
)

// TestImportMbox imports a mailing list's archive: three interleaved
// threads, one French in Latin-1 quoted-printable, replies found by
// In-Reply-To, by References alone and by subject, an out-of-office
// reply, a reply without new text, a file, an mboxrd ">From " line, a
// message without a sender; a known author and unknown ones. The first
// message is copied to Olga, who has an account: an import mentions
// nobody, so the post's text is the message's, exactly.
func TestImportMbox(t *testing.T) {
	t.Parallel()
	dir := mailProject(t)
	mbox := filepath.Join("testdata", "mail", "list.mbox")
	before := mailState(t, dir)

	r := mustRun(t, "", "import", "mbox", mbox, "--project", "launch", "--data", dir)
	if r.stdout != listSummary {
		t.Errorf("summary:\n%s\nwant:\n%s", r.stdout, listSummary)
	}
	if !strings.Contains(r.stderr, "importing threads: 3/3 (100%)") {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}
	got := mailState(t, dir)
	if got != wantMailState {
		t.Errorf("database after the import:\n%s\nwant:\n%s\n(before: %s)", got, wantMailState, before)
	}
	s := mustOpenDB(t, dir)
	if _, err := s.users.ByEmail("carol@example.com"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the out-of-office reply's sender got an account: %v", err)
	}
	// The file is the post's, and none is left pending.
	_, page, _ := s.posts.ProjectPosts(systemActor, "launch", "", 10)
	for _, p := range page.Posts {
		if p.Title != "Budget 2025" {
			continue
		}
		files, _ := s.posts.Attachments(systemActor, p.ID)
		if len(files) != 1 || files[0].PostID != p.ID {
			t.Fatalf("files of the budget post: %+v", files)
		}
		_, data, err := s.posts.Attachment(systemActor, files[0].ID)
		if err != nil || string(data) != "item,amount\nservers,12000\nlicences,3000\n" {
			t.Errorf("the attachment's bytes: %q, %v", data, err)
		}
	}
	s.Close()

	t.Run("AgainIsANoOp", func(t *testing.T) {
		r := mustRun(t, "", "import", "mbox", mbox, "--project", "launch", "--data", dir)
		if r.stdout != listAgainSummary {
			t.Errorf("summary:\n%s\nwant:\n%s", r.stdout, listAgainSummary)
		}
		if again := mailState(t, dir); again != got {
			t.Errorf("a second import changed the database:\n%s\nbefore:\n%s", again, got)
		}
	})

	t.Run("LaterArchiveAddsNewReplies", func(t *testing.T) {
		later := filepath.Join("testdata", "mail", "list-later.mbox")
		// A dry run first: it tells, and writes nothing.
		r := mustRun(t, "", "import", "mbox", later, "--project", "launch", "--data", dir, "--dry-run")
		if !strings.Contains(r.stdout, "\ndry run — mbox: 13 messages read (0 refused, 1 auto-reply), 3 threads → 0 posts to create, 3 already imported, 2 comments, 0 files, 0 new external authors; nothing written\n") {
			t.Errorf("dry run of the later archive:\n%s", r.stdout)
		}
		for _, want := range []string{
			"existing 2025-03-03  “Launch plan for v2”: 6 messages, imported before, 1 new comment",
			"existing 2025-03-03  “Budget 2025”: 4 messages, imported before, 0 new comments",
			"existing 2025-03-04  “Réunion de lancement”: 3 messages, imported before, 1 new comment",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("the dry run does not say %q:\n%s", want, r.stdout)
			}
		}
		if st := mailState(t, dir); st != got {
			t.Fatalf("the dry run changed the database:\n%s", st)
		}

		r = mustRun(t, "", "import", "mbox", later, "--project", "launch", "--data", dir)
		if r.stdout != laterSummary {
			t.Errorf("summary:\n%s\nwant:\n%s", r.stdout, laterSummary)
		}
		want := strings.Replace(wantMailState, "events 9\n", "events 11\n", 1)
		want = strings.Replace(want, `  comment 3 by bob@partner.example at 2025-03-04T10:00:00Z: "One more thing: the release notes need a French version."
`, `  comment 3 by bob@partner.example at 2025-03-06T09:00:00Z (in the thread of 1): "Great, Monday it is."
  comment 4 by bob@partner.example at 2025-03-04T10:00:00Z: "One more thing: the release notes need a French version."
`, 1)
		want += `  comment 2 by celine@example.fr at 2025-03-06T10:00:00Z (in the thread of 1): "Parfait, à jeudi."
`
		if st := mailState(t, dir); st != want {
			t.Errorf("database after the later archive:\n%s\nwant:\n%s", st, want)
		}
		// And that one again: nothing.
		r = mustRun(t, "", "import", "mbox", later, "--project", "launch", "--data", dir)
		if !strings.Contains(r.stdout, "0 posts created, 3 already imported, 0 comments") {
			t.Errorf("the later archive again:\n%s", r.stdout)
		}
	})
}

// TestImportMailDryRun reads, threads and tells, and writes nothing: no
// post, no external author, no event.
func TestImportMailDryRun(t *testing.T) {
	t.Parallel()
	dir := mailProject(t)
	before := mailState(t, dir)
	r := mustRun(t, "", "import", "mbox", filepath.Join("testdata", "mail", "list.mbox"), "--project", "launch", "--data", dir, "--dry-run")
	want := "new      2025-03-03  “Launch plan for v2”: 5 messages, a new post with 3 comments\n" +
		"new      2025-03-03  “Budget 2025”: 4 messages, a new post with 2 comments\n" +
		"new      2025-03-04  “Réunion de lancement”: 2 messages, a new post with 1 comment\n" +
		"dry run — mbox: 12 messages read (1 refused, 1 auto-reply), 3 threads → 3 posts to create, 0 already imported, 6 comments, 1 file, 2 new external authors; nothing written\n" +
		"1 reply without new text left out\n" +
		"not imported:\n" +
		"  message 12 (line 174): The message has no From address.\n"
	if r.stdout != want {
		t.Errorf("dry run:\n%s\nwant:\n%s", r.stdout, want)
	}
	if after := mailState(t, dir); after != before {
		t.Errorf("the dry run wrote:\n%s\nbefore:\n%s", after, before)
	}
}

// TestImportMaildirAndEML imports the same small thread from a maildir
// and from a directory of .eml files.
func TestImportMaildirAndEML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ kind, path string }{
		{"maildir", filepath.Join("testdata", "mail", "maildir")},
		{"eml", filepath.Join("testdata", "mail", "eml")},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			dir := mailProject(t)
			r := mustRun(t, "", "import", tc.kind, tc.path, "--project", "launch", "--data", dir)
			want := tc.kind + ": 3 messages read (0 refused, 0 auto-replies), 1 thread → 1 post created, 0 already imported, 2 comments, 0 files, 1 new external author\n"
			if r.stdout != want {
				t.Errorf("summary:\n%s\nwant:\n%s", r.stdout, want)
			}
			st := mailState(t, dir)
			for _, line := range []string{
				`post "Office move" by ann@example.com at 2025-04-01T08:00:00Z, published 2025-04-01T08:00:00Z`,
				`  comment 1 by dan@elsewhere.example at 2025-04-01T09:30:00Z: "Which floor?"`,
				`  comment 2 by ann@example.com at 2025-04-01T10:00:00Z (in the thread of 1): "The third."`,
			} {
				if !strings.Contains(st, line+"\n") {
					t.Errorf("the database lacks %s:\n%s", line, st)
				}
			}
			// One .eml file alone is a thread of one.
			if tc.kind == "eml" {
				r := mustRun(t, "", "import", "eml", filepath.Join(tc.path, "1-office-move.eml"), "--project", "launch", "--data", dir)
				if !strings.HasPrefix(r.stdout, "eml: 1 message read (0 refused, 0 auto-replies), 1 thread → 0 posts created, 1 already imported") {
					t.Errorf("one file again:\n%s", r.stdout)
				}
			}
		})
	}
}

func TestImportMailRefusesBadInput(t *testing.T) {
	t.Parallel()
	dir := mailProject(t)
	tmp := t.TempDir()
	png := filepath.Join(tmp, "chart.png")
	text := filepath.Join(tmp, "notes.eml")
	if err := os.WriteFile(png, pngBytes, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(text, []byte("just some notes,\nnot a message\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join("testdata", "mail", "list.mbox")
	before := mailState(t, dir)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"MissingPath", []string{"mbox", filepath.Join(tmp, "gone.mbox"), "--project", "launch"}, 1, []string{"gone.mbox", "no such file"}},
		{"UnknownProject", []string{"mbox", list, "--project", "nope"}, 1, []string{`no project "nope"`, "projblog project add nope"}},
		{"NoProjectFlag", []string{"mbox", list}, 2, []string{"--project SLUG"}},
		{"NoPath", []string{"mbox", "--project", "launch"}, 2, []string{"exactly one PATH"}},
		{"PNGAsMbox", []string{"mbox", png, "--project", "launch"}, 1, []string{"chart.png", "not an mbox file"}},
		{"TextAsEML", []string{"eml", text, "--project", "launch"}, 1, []string{"notes.eml", "no message projblog can read", "no From address"}},
		{"FileAsMaildir", []string{"maildir", list, "--project", "launch"}, 1, []string{"list.mbox", "not a directory"}},
		{"DirectoryNotAMaildir", []string{"maildir", tmp, "--project", "launch"}, 1, []string{"not a maildir"}},
		{"DirectoryWithoutEML", []string{"eml", filepath.Join("testdata", "mail", "maildir"), "--project", "launch"}, 1, []string{"no .eml file"}},
		{"UnknownKind", []string{"pst", list, "--project", "launch"}, 2, []string{"mbox, eml and maildir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"import"}, tc.args...)
			wantFail(t, runCLI(t, "", append(args, "--data", dir)...), tc.code, tc.want...)
		})
	}
	if after := mailState(t, dir); after != before {
		t.Errorf("refused imports wrote:\n%s", after)
	}
	// An unknown project in a data directory without a database: no
	// database is made to say so.
	empty := filepath.Join(t.TempDir(), "data")
	wantFail(t, runCLI(t, "", "import", "mbox", list, "--project", "launch", "--data", empty, "--dry-run"), 1, `no project "launch"`)
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("the data directory was made (stat: %v)", err)
	}
}

func TestImportMailHelp(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "", "import", "--help")
	for _, want := range []string{"import mbox|eml|maildir PATH --project SLUG", "In-Reply-To", "external author", "--dry-run"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import --help does not say %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, "", "import", "mbox", "--help")
	if r.code != 0 || !strings.Contains(r.stderr, "Usage: projblog import mbox PATH --project SLUG") {
		t.Errorf("import mbox --help: %v", r)
	}
}
