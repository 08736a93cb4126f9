package mailin

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// impEnv is a real database with a project "hist" owned by Olga, and Ann,
// a member, who writes in the archives.
type impEnv struct {
	t     *testing.T
	db    *store.DB
	posts *posts.Service
	users *users.Service
	olga  *users.User
	ann   *users.User
}

var impT0 = time.Date(2024, time.June, 3, 9, 0, 0, 0, time.UTC)

func newImpEnv(t *testing.T) *impEnv {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	us, err := users.New(db, users.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := posts.New(db, posts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &impEnv{t: t, db: db, posts: ps, users: us}
	for _, u := range []struct {
		dst         **users.User
		email, name string
	}{{&e.olga, "olga@example.com", "Olga Owner"}, {&e.ann, "ann@example.com", "Ann Lee"}} {
		if *u.dst, err = us.Create(users.NewUser{Email: u.email, Name: u.name, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ps.CreateProject(e.olga.Actor(), posts.ProjectInput{Slug: "hist", Name: "History"}, e.olga.ID); err != nil {
		t.Fatal(err)
	}
	if err := ps.SetMember(e.olga.Actor(), "hist", e.ann.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *impEnv) importer() *Importer {
	return &Importer{Posts: e.posts, Users: e.users, Actor: e.olga.Actor(), Project: "hist"}
}

// run threads msgs and imports them.
func (e *impEnv) run(msgs ...*Message) ImportSummary {
	e.t.Helper()
	sum, err := e.importer().Import(Threads(msgs), nil)
	if err != nil {
		e.t.Fatalf("Import: %v", err)
	}
	return sum
}

// post returns the post imported under a message's key, with its comments.
func (e *impEnv) post(key string) (*posts.Post, []*posts.Comment) {
	e.t.Helper()
	id, err := e.posts.ImportedAs(e.olga.Actor(), "hist", key)
	if err != nil || id == 0 {
		e.t.Fatalf("no post under %s: %v", key, err)
	}
	p, _, err := e.posts.Post(e.olga.Actor(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := e.posts.Comments(e.olga.Actor(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p, cs
}

// pendingFiles counts the files of the project in no post (ids 1..max).
func (e *impEnv) pendingFiles(max uint64) int {
	n := 0
	for id := uint64(1); id <= max; id++ {
		if a, err := e.posts.AttachmentInfo(e.olga.Actor(), id); err == nil && a.PostID == 0 {
			n++
		}
	}
	return n
}

// mailMsg is a message: id, sender address, subject, hours after impT0,
// the text it adds; parent ids as In-Reply-To.
func mailMsg(id, from, subject string, hours int, reply string, parents ...string) *Message {
	return &Message{
		MessageID: id, From: Address{Email: from, Name: strings.ToUpper(from[:1]) + from[1:strings.IndexByte(from, '@')]},
		Subject: subject, Date: impT0.Add(time.Duration(hours) * time.Hour),
		Body: reply, Reply: reply, InReplyTo: parents, References: parents,
	}
}

func summaryCounts(s ImportSummary) string {
	return fmt.Sprintf("threads=%d posts=%d comments=%d skipped=%d skippedMessages=%d newAuthors=%d files=%d refused=%d",
		s.Threads, s.Posts, s.Comments, s.Skipped, s.SkippedMessages, s.NewAuthors, s.Files, len(s.Refused))
}

// TestImportRefusesOnlyTheBadThread: a thread posts refuses (here a
// Message-ID longer than a source key may be) fails its batch; the batch
// is tried again thread by thread, so the others are stored and the bad
// one is reported with posts' reason, its uploaded file discarded.
func TestImportRefusesOnlyTheBadThread(t *testing.T) {
	t.Parallel()
	e := newImpEnv(t)
	long := strings.Repeat("x", posts.MaxSourceKeyBytes) + "@example.com"
	bad := mailMsg("bad-root", "ann@example.com", "Second", 1, "fine")
	badReply := mailMsg(long, "zed@example.com", "Re: Second", 2, "my id is too long", "bad-root")
	badReply.Files = []File{{Name: "notes.txt", ContentType: "text/plain", Data: []byte("notes\n")}}
	sum := e.run(
		mailMsg("a", "ann@example.com", "First", 0, "one"),
		mailMsg("a2", "bob@example.net", "Re: First", 1, "two", "a"),
		bad, badReply,
		mailMsg("c", "ann@example.com", "Third", 3, "three"),
	)
	if got, want := summaryCounts(sum), "threads=3 posts=2 comments=1 skipped=0 skippedMessages=0 newAuthors=2 files=0 refused=1"; got != want {
		t.Errorf("summary %s\nwant    %s", got, want)
	}
	if len(sum.Refused) == 1 && (!strings.Contains(sum.Refused[0], "“Second”") || !strings.Contains(sum.Refused[0], "source key")) {
		t.Errorf("refusal %q should name the thread and posts' reason", sum.Refused[0])
	}
	if st := []ThreadStatus{sum.Results[0].Status, sum.Results[1].Status, sum.Results[2].Status}; fmt.Sprint(st) != "[new refused new]" {
		t.Errorf("statuses %v", st)
	}
	if id, _ := e.posts.ImportedAs(e.olga.Actor(), "hist", "mail:bad-root"); id != 0 {
		t.Error("the refused thread's post was stored")
	}
	e.post("mail:a")
	e.post("mail:c")
	if n := e.pendingFiles(5); n != 0 {
		t.Errorf("%d uploaded files were left in no post", n)
	}
}

// TestImportLimits: texts longer than posts keeps are cut at a paragraph
// with a note, titles at posts.MaxTitleRunes, control characters dropped.
func TestImportLimits(t *testing.T) {
	t.Parallel()
	e := newImpEnv(t)
	para := strings.Repeat("word ", 199) + "end.\n\n" // 1 KB a paragraph
	bigPost := strings.Repeat(para, posts.MaxBodyBytes/len(para)+30)
	bigComment := strings.Repeat(para, posts.MaxCommentBytes/len(para)+5)
	root := mailMsg("big", "ann@example.com", strings.Repeat("é", posts.MaxTitleRunes+50), 0, bigPost)
	reply := mailMsg("big-reply", "ann@example.com", "Re: x", 1, "page one\fpage two\x1b[0m\n\n"+bigComment, "big")
	untitled := mailMsg("untitled", "ann@example.com", "  Re:  ", 2, "no subject at all")
	sum := e.run(root, reply, untitled)
	if sum.Posts != 2 || sum.Comments != 1 || len(sum.Refused) != 0 {
		t.Fatalf("summary %s %q", summaryCounts(sum), sum.Refused)
	}
	p, cs := e.post("mail:big")
	if n := utf8.RuneCountInString(p.Title); n != posts.MaxTitleRunes || !strings.HasSuffix(p.Title, "…") {
		t.Errorf("title of %d runes ending %q", n, p.Title[len(p.Title)-5:])
	}
	for _, tc := range []struct {
		what, body, source string
		limit              int
	}{{"post", p.Body, bigPost, posts.MaxBodyBytes}, {"comment", cs[0].Body, bigComment, posts.MaxCommentBytes}} {
		kept, note, ok := strings.Cut(tc.body, "\n\n_(The rest of this message was longer than projblog keeps; ")
		if !ok || len(tc.body) > tc.limit {
			t.Errorf("%s of %d bytes (limit %d) without the note: …%q", tc.what, len(tc.body), tc.limit, tc.body[max(0, len(tc.body)-120):])
			continue
		}
		if !strings.HasSuffix(kept, "end.") {
			t.Errorf("%s not cut at a paragraph's end: …%q", tc.what, kept[len(kept)-20:])
		}
		left := len(strings.TrimPrefix(tc.source, "page one\fpage two\x1b[0m\n\n")) - len(strings.TrimPrefix(kept, "page onepage two[0m\n\n"))
		if want := fmt.Sprintf("%d KB left out.)_", (left+1023)/1024); note != want {
			t.Errorf("%s note %q, want %q", tc.what, note, want)
		}
	}
	if !strings.HasPrefix(cs[0].Body, "page onepage two[0m\n\n") {
		t.Errorf("control characters kept: %q", cs[0].Body[:30])
	}
	if p, _ := e.post("mail:untitled"); p.Title != "(no subject)" {
		t.Errorf("title of an empty subject: %q", p.Title)
	}
}

// TestImportContinuesAnEarlierThread: an archive whose thread starts with
// replies to messages imported before (an earlier archive) adds them
// under the post made then, answering the comment they answer; a second
// run adds nothing.
func TestImportContinuesAnEarlierThread(t *testing.T) {
	t.Parallel()
	e := newImpEnv(t)
	e.run(
		mailMsg("r", "ann@example.com", "Roadmap", 0, "The roadmap."),
		mailMsg("r1", "bob@example.net", "Re: Roadmap", 1, "Looks good.", "r"),
	)
	c := mailMsg("r2", "ann@example.com", "Re: Roadmap", 30, "Thanks Bob.", "r1")
	c.References = []string{"r", "r1"}
	d := mailMsg("r3", "bob@example.net", "Re: Roadmap", 31, "You are welcome.", "r2")
	d.References = []string{"r", "r1", "r2"}
	top := mailMsg("r4", "cyd@example.org", "Re: Roadmap", 32, "Late to the party.", "r")
	// top is found by its subject in the archive, but its headers name
	// the post: it answers the post.
	for run, want := range []string{
		"threads=1 posts=0 comments=3 skipped=1 skippedMessages=0 newAuthors=1 files=0 refused=0",
		"threads=1 posts=0 comments=0 skipped=1 skippedMessages=0 newAuthors=0 files=0 refused=0",
	} {
		sum := e.run(c, d, top)
		if got := summaryCounts(sum); got != want {
			t.Errorf("run %d: %s\nwant   %s", run+1, got, want)
		}
		_, cs := e.post("mail:r")
		if len(cs) != 4 {
			t.Fatalf("%d comments", len(cs))
		}
		byBody := map[string]*posts.Comment{}
		for _, cm := range cs {
			byBody[cm.Body] = cm
		}
		looks := byBody["Looks good."]
		if looks == nil || byBody["Thanks Bob."].ParentID != looks.ID || byBody["You are welcome."].ParentID != looks.ID || byBody["Late to the party."].ParentID != 0 {
			for _, cm := range cs {
				t.Errorf("comment %d %q in the thread of %d", cm.ID, cm.Body, cm.ParentID)
			}
		}
	}
}

// TestImportLeavesOutMachinesAndEmptyReplies: an auto-reply that roots a
// thread gives way to the first person's message; a reply with no new
// text is skipped and its replies answer what it answered; a message
// without a sender is refused by itself.
func TestImportLeavesOutMachinesAndEmptyReplies(t *testing.T) {
	t.Parallel()
	e := newImpEnv(t)
	bounce := mailMsg("bounce", "mailer-daemon@example.com", "Undeliverable: plan", 0, "Delivery failed.")
	bounce.Auto = "delivery failure"
	person := mailMsg("p", "ann@example.com", "Re: Undeliverable: plan", 1, "Who got this?", "bounce")
	empty := mailMsg("q", "bob@example.net", "Re: plan", 2, "", "p")
	empty.Body = "> Who got this?"
	under := mailMsg("s", "ann@example.com", "Re: plan", 3, "Never mind.", "q")
	nobody := mailMsg("n", "x@example.com", "Re: plan", 4, "anonymous", "p")
	nobody.From = Address{}
	sum := e.run(bounce, person, empty, under, nobody)
	if got, want := summaryCounts(sum), "threads=1 posts=1 comments=1 skipped=0 skippedMessages=2 newAuthors=0 files=0 refused=1"; got != want {
		t.Errorf("summary %s\nwant    %s", got, want)
	}
	if len(sum.Refused) != 1 || !strings.Contains(sum.Refused[0], "<n>") || !strings.Contains(sum.Refused[0], "no sender") {
		t.Errorf("refused: %q", sum.Refused)
	}
	p, cs := e.post("mail:p")
	if p.Title != "Undeliverable: plan" || p.AuthorID != e.ann.ID || len(cs) != 1 || cs[0].Body != "Never mind." || cs[0].ParentID != 0 {
		t.Errorf("post %q by %d, comments %+v", p.Title, p.AuthorID, cs)
	}
	if _, err := e.users.ByEmail("mailer-daemon@example.com"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the machine got an account: %v", err)
	}
	if _, err := e.users.ByEmail("bob@example.net"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the sender of a skipped reply got an account: %v", err)
	}
}

// TestImportManyFiles: batches are sent before the importer holds more
// pending files than posts allows, and a thread keeps at most
// posts.MaxAttachmentsPerPost files, the others named in a note.
func TestImportManyFiles(t *testing.T) {
	t.Parallel()
	e := newImpEnv(t)
	files := func(prefix string, n int) []File {
		var out []File
		for i := range n {
			out = append(out, File{Name: fmt.Sprintf("%s-%02d.txt", prefix, i), ContentType: "text/plain", Data: []byte(prefix + " file\n")})
		}
		return out
	}
	a := mailMsg("fa", "ann@example.com", "Files A", 0, "thirty files")
	a.Files = files("a", 30)
	b := mailMsg("fb", "ann@example.com", "Files B", 1, "thirty more")
	b.Files = files("b", 30)
	c := mailMsg("fc", "ann@example.com", "Files C", 2, "thirty again")
	c.Files = files("c", 30)
	c2 := mailMsg("fc2", "ann@example.com", "Re: Files C", 3, "and twenty-five", "fc")
	c2.Files = files("d", 25)
	sum := e.run(a, b, c, c2)
	if got, want := summaryCounts(sum), "threads=3 posts=3 comments=1 skipped=0 skippedMessages=0 newAuthors=0 files=110 refused=0"; got != want {
		t.Fatalf("summary %s\nwant    %s %q", got, want, sum.Refused)
	}
	for key, n := range map[string]int{"mail:fa": 30, "mail:fb": 30, "mail:fc": 50} {
		p, _ := e.post(key)
		got, err := e.posts.Attachments(e.olga.Actor(), p.ID)
		if err != nil || len(got) != n {
			t.Errorf("%s has %d files, want %d (%v)", key, len(got), n, err)
		}
	}
	_, cs := e.post("mail:fc")
	if n := strings.Count(cs[0].Body, "was not kept: a post keeps at most 50 files"); n != 5 || !strings.Contains(cs[0].Body, "d-24.txt") {
		t.Errorf("%d notes for the files left out:\n%s", n, cs[0].Body)
	}
	if n := e.pendingFiles(120); n != 0 {
		t.Errorf("%d files left in no post", n)
	}
	// Again: no file is uploaded a second time.
	sum = e.run(a, b, c, c2)
	if sum.Files != 0 || sum.Skipped != 3 || e.pendingFiles(200) != 0 {
		t.Errorf("again: %s, %d pending", summaryCounts(sum), e.pendingFiles(200))
	}
}

// TestImportDryRun tells what would happen and writes nothing.
func TestImportDryRun(t *testing.T) {
	t.Parallel()
	e := newImpEnv(t)
	msgs := []*Message{
		mailMsg("x", "ann@example.com", "Plan", 0, "plan"),
		mailMsg("x1", "newbie@example.org", "Re: Plan", 1, "hello", "x"),
		mailMsg("x2", "newbie@example.org", "Re: Plan", 2, "again", "x1"),
	}
	msgs[0].Files = []File{{Name: "a.txt", Data: []byte("a\n")}}
	head := e.db.Head()
	im := e.importer()
	im.DryRun = true
	var progress []int
	sum, err := im.Import(Threads(msgs), func(done int) { progress = append(progress, done) })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summaryCounts(sum), "threads=1 posts=1 comments=2 skipped=0 skippedMessages=0 newAuthors=1 files=1 refused=0"; got != want {
		t.Errorf("summary %s\nwant    %s", got, want)
	}
	if fmt.Sprint(progress) != "[1]" {
		t.Errorf("progress %v", progress)
	}
	if e.db.Head() != head {
		t.Error("the dry run appended events")
	}
	if _, err := e.users.ByEmail("newbie@example.org"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the dry run made an account: %v", err)
	}
	if id, _ := e.posts.ImportedAs(e.olga.Actor(), "hist", "mail:x"); id != 0 {
		t.Error("the dry run made a post")
	}
}

// TestImportNeedsAnOwner: a member may not import; a missing project is
// NotFound.
func TestImportNeedsAnOwner(t *testing.T) {
	t.Parallel()
	e := newImpEnv(t)
	ths := Threads([]*Message{mailMsg("x", "ann@example.com", "Plan", 0, "plan")})
	im := e.importer()
	im.Actor = e.ann.Actor()
	if _, err := im.Import(ths, nil); !apperr.Is(err, apperr.Forbidden) {
		t.Errorf("a member's import: %v, want Forbidden", err)
	}
	im = e.importer()
	im.Project = "nope"
	if _, err := im.Import(ths, nil); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("import into a missing project: %v, want NotFound", err)
	}
	if id, _ := e.posts.ImportedAs(e.olga.Actor(), "hist", "mail:x"); id != 0 {
		t.Error("a refused import made a post")
	}
}
