package mailin

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	pngenc "image/png"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// The delivery tests speak SMTP to the real listener on 127.0.0.1 with
// Go's net/smtp client, on a real database.

const domain = "blog.example.com"

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	db    *store.DB
	users *users.Service
	posts *posts.Service
	mail  *Service
	clk   *testClock
	addr  string // the SMTP listener

	ada, bob, carol *users.User // owner, member, viewer of "alpha"
	alpha           *posts.Project
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &testClock{t: time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)}
	us, err := users.New(db, users.Options{Now: clk.Now, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := posts.New(db, posts.Options{Now: clk.Now, Mentions: us.ResolveHandles})
	if err != nil {
		t.Fatal(err)
	}
	opts.Domain, opts.BaseURL, opts.Now = domain, "https://"+domain, clk.Now
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := New(db, ps, us, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, users: us, posts: ps, mail: m, clk: clk}
	f.ada = f.user("ada@example.com", "Ada Lovelace")
	f.bob = f.user("bob@example.com", "Bob Martin")
	f.carol = f.user("carol@example.com", "Carol Viewer")
	f.user("dave@example.com", "Dave Outsider")
	f.alpha, err = ps.CreateProject(f.ada.Actor(), posts.ProjectInput{Slug: "alpha", Name: "Alpha", Visibility: access.Private}, 0)
	if err != nil {
		t.Fatal(err)
	}
	must(t, ps.SetMember(f.ada.Actor(), "alpha", f.bob.ID, access.Member))
	must(t, ps.SetMember(f.ada.Actor(), "alpha", f.carol.ID, access.Viewer))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := m.SMTPServer()
	done := make(chan error, 1)
	go func() { done <- m.ServeSMTP(srv, ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("smtp server: %v", err)
		}
	})
	f.addr = ln.Addr().String()
	return f
}

func (f *fixture) user(email, name string) *users.User {
	u, err := f.users.Create(users.NewUser{Email: email, Name: name, Password: "correct horse battery"})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// send speaks SMTP: MAIL FROM, RCPT TO each, DATA. It returns the server's
// refusal, nil when the message was taken.
func (f *fixture) send(from string, to []string, msg string) error {
	return smtp.SendMail(f.addr, nil, from, to, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
}

// wantRefused checks an SMTP refusal's code and words.
func wantRefused(t *testing.T, err error, code int, words string) {
	t.Helper()
	var te *textproto.Error
	if !errors.As(err, &te) {
		t.Fatalf("want SMTP %d %q, got %v", code, words, err)
	}
	if te.Code != code || !strings.Contains(te.Msg, words) {
		t.Fatalf("SMTP answer %d %q, want %d containing %q", te.Code, te.Msg, code, words)
	}
}

func message(from, to, subject, extra, body string) string {
	return fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\nDate: Mon, 02 Mar 2026 10:00:00 +0100\n%sMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n", from, to, subject, extra, body)
}

func (f *fixture) comments(postID uint64) []*posts.Comment {
	f.t.Helper()
	cs, err := f.posts.Comments(f.ada.Actor(), postID)
	must(f.t, err)
	return cs
}

func TestReplyByMailBecomesAComment(t *testing.T) {
	f := newFixture(t, Options{})
	post, err := f.posts.CreatePost(f.ada.Actor(), "alpha", posts.PostInput{Title: "Launch plan", Body: "We launch in April."})
	must(t, err)
	bobs, err := f.posts.AddComment(f.bob.Actor(), post.ID, posts.CommentInput{Body: "April is tight."})
	must(t, err)

	// Ada answers the notice of Bob's comment: the token names the comment.
	reply := f.mail.ReplyAddress(f.ada.ID, post.ID, bobs.ID)
	if !strings.HasPrefix(reply, "reply+") || !strings.HasSuffix(reply, "@"+domain) || len(strings.Split(reply, "@")[0]) > 64 {
		t.Fatalf("reply address %q", reply)
	}
	body := "We can move two features to May.\n\nOn Mon, Mar 2, 2026 at 9:30 AM Bob Martin <bob@example.com>\nwrote:\n> April is tight.\n"
	msg := message("Ada Lovelace <ada@example.com>", reply, "Re: Launch plan", "Message-ID: <r1@mail.example.com>\n", body)
	must(t, f.send("ada@example.com", []string{reply}, msg))

	cs := f.comments(post.ID)
	if len(cs) != 2 {
		t.Fatalf("%d comments, want 2", len(cs))
	}
	got := cs[1]
	if got.AuthorID != f.ada.ID || got.Body != "We can move two features to May." || got.ParentID != bobs.ID {
		t.Fatalf("comment by %d %q parent %d; want Ada's reply in Bob's thread", got.AuthorID, got.Body, got.ParentID)
	}

	// The mail server delivers the same message again: stored once.
	must(t, f.send("ada@example.com", []string{reply}, msg))
	if n := len(f.comments(post.ID)); n != 2 {
		t.Fatalf("a second delivery of the same message made %d comments", n)
	}

	// Someone else using Ada's address: refused after DATA, with why.
	forgedFrom := message("Dave <dave@example.com>", reply, "Re: Launch plan", "Message-ID: <d1@x>\n", "I agree.")
	wantRefused(t, f.send("dave@example.com", []string{reply}, forgedFrom), 550, "made for someone else")

	// A changed token: refused at RCPT.
	local, _, _ := strings.Cut(reply, "@")
	last := local[len(local)-1]
	swap := byte('a')
	if last == 'a' {
		swap = 'b'
	}
	forged := local[:len(local)-1] + string(swap) + "@" + domain
	wantRefused(t, f.send("ada@example.com", []string{forged}, msg), 550, "not valid")
	made := replyToken{UserID: f.ada.ID, PostID: post.ID, Day: 2000}.encode([]byte("not the site's secret"))
	wantRefused(t, f.send("ada@example.com", []string{"reply+" + made + "@" + domain}, msg), 550, "not valid")

	// An out-of-office answer to the reply address: taken, dropped, unanswered.
	ooo := message("Ada Lovelace <ada@example.com>", reply, "Automatic reply: Launch plan", "Auto-Submitted: auto-replied\nMessage-ID: <ooo@x>\n", "I am away until Monday.")
	must(t, f.send("ada@example.com", []string{reply}, ooo))
	if n := len(f.comments(post.ID)); n != 2 {
		t.Fatalf("an auto-reply became a comment (%d comments)", n)
	}

	// A bounce (null envelope sender) to the reply address: dropped too.
	bounce := message("Mail Delivery System <mailer-daemon@example.com>", reply, "Re: Launch plan", "Message-ID: <bounce@x>\n", "Something went wrong.")
	must(t, f.send("", []string{reply}, bounce))
	if n := len(f.comments(post.ID)); n != 2 {
		t.Fatalf("a bounce became a comment (%d comments)", n)
	}

	// Only the quote, nothing new: refused with a reason.
	quoteOnly := message("Ada Lovelace <ada@example.com>", reply, "Re: Launch plan", "Message-ID: <q@x>\n", "> April is tight.")
	wantRefused(t, f.send("ada@example.com", []string{reply}, quoteOnly), 550, "no text of its own")

	// Six months later the address has expired.
	f.clk.Advance(DefaultReplyTTL + 48*time.Hour)
	late := message("Ada Lovelace <ada@example.com>", reply, "Re: Launch plan", "Message-ID: <late@x>\n", "Late thought.")
	wantRefused(t, f.send("ada@example.com", []string{reply}, late), 550, "expired")
	err = f.send("ada@example.com", []string{reply}, late)
	wantRefused(t, err, 550, "https://"+domain+"/p/alpha/launch-plan")
}

func TestMailToTheProjectAddress(t *testing.T) {
	f := newFixture(t, Options{})
	addr := f.mail.ProjectAddress("alpha")
	if addr != "alpha@"+domain {
		t.Fatalf("project address %q", addr)
	}
	first := message("Ada Lovelace <ada@example.com>", addr, "Vendor shortlist", "Cc: Bob Martin <bob@example.com>, Zed <zed@elsewhere.example>\nMessage-ID: <m1@mail.example.com>\n",
		"Three vendors are left: **Acme**, Globex and Initech.\n\n-- \nAda")
	must(t, f.send("ada@example.com", []string{addr}, first))
	page, err := f.posts.Recent(f.ada.Actor(), "", 10)
	must(t, err)
	if len(page.Posts) != 1 {
		t.Fatalf("%d posts after mail to the project, want 1", len(page.Posts))
	}
	p := page.Posts[0]
	if p.Title != "Vendor shortlist" || p.AuthorID != f.ada.ID || p.Draft ||
		p.Body != "Three vendors are left: **Acme**, Globex and Initech.\n\nCC: @bob" || len(p.Mentions) != 1 || p.Mentions[0] != f.bob.ID {
		t.Fatalf("post %q by %d draft %v body %q mentions %v", p.Title, p.AuthorID, p.Draft, p.Body, p.Mentions)
	}

	// Bob answers all: the CC chain goes on as a comment under that post.
	answer := message("Bob Martin <bob@example.com>", "Ada Lovelace <ada@example.com>", "Re: Vendor shortlist",
		"Cc: "+addr+"\nMessage-ID: <m2@mail.example.com>\nIn-Reply-To: <m1@mail.example.com>\nReferences: <m1@mail.example.com>\n",
		"Globex was late last time.\n\nOn Mon, 2 Mar 2026, Ada Lovelace wrote:\n> Three vendors are left")
	must(t, f.send("bob@example.com", []string{addr}, answer))
	cs := f.comments(p.ID)
	if len(cs) != 1 || cs[0].AuthorID != f.bob.ID || cs[0].Body != "Globex was late last time." {
		t.Fatalf("the answer to the thread: %+v", cs)
	}
	// An answer to Bob's message joins his thread.
	third := message("Ada Lovelace <ada@example.com>", addr, "RE: Vendor shortlist",
		"Message-ID: <m3@x>\nIn-Reply-To: <m2@mail.example.com>\nReferences: <m1@mail.example.com> <m2@mail.example.com>\n", "Then Globex is out.")
	must(t, f.send("ada@example.com", []string{addr}, third))
	cs = f.comments(p.ID)
	if len(cs) != 2 || cs[1].ParentID != cs[0].ID {
		t.Fatalf("the answer to Bob's message is not in his thread: %+v", cs)
	}

	// A viewer may read but not post: refused with the reason.
	byViewer := message("Carol <carol@example.com>", addr, "My idea", "Message-ID: <c1@x>\n", "Let us do it.")
	wantRefused(t, f.send("carol@example.com", []string{addr}, byViewer), 550, "Only members")

	// A private project's address does not exist for outsiders, exactly
	// as an address with no project.
	byOutsider := message("Dave <dave@example.com>", addr, "Hello", "Message-ID: <o1@x>\n", "Hi.")
	wantRefused(t, f.send("dave@example.com", []string{addr}, byOutsider), 550, "No such address here: alpha@"+domain)
	wantRefused(t, f.send("dave@example.com", []string{"nothing@" + domain}, byOutsider), 550, "No such address here: nothing@"+domain)
	wantRefused(t, f.send("ada@example.com", []string{"friend@gmail.com"}, first), 550, "relays nothing")

	// Draft mode, then off.
	_, err = f.posts.UpdateProject(f.ada.Actor(), "alpha", posts.ProjectInput{Name: "Alpha", MailPosts: posts.MailDraft})
	must(t, err)
	drafted := message("Bob Martin <bob@example.com>", addr, "Fwd: Budget", "Message-ID: <b1@x>\n", "See the budget below.")
	must(t, f.send("bob@example.com", []string{addr}, drafted))
	drafts, err := f.posts.Drafts(f.bob.Actor(), "alpha")
	must(t, err)
	if len(drafts) != 1 || drafts[0].Title != "Budget" || drafts[0].AuthorID != f.bob.ID {
		t.Fatalf("drafts %+v", drafts)
	}
	_, err = f.posts.UpdateProject(f.ada.Actor(), "alpha", posts.ProjectInput{Name: "Alpha", MailPosts: posts.MailOff})
	must(t, err)
	wantRefused(t, f.send("ada@example.com", []string{addr}, message("Ada <ada@example.com>", addr, "More", "Message-ID: <x9@x>\n", "x")), 550, "takes no mail")
}

func TestMailLimits(t *testing.T) {
	f := newFixture(t, Options{MaxBytes: 4096})
	post, err := f.posts.CreatePost(f.ada.Actor(), "alpha", posts.PostInput{Title: "Plan", Body: "x"})
	must(t, err)
	reply := f.mail.ReplyAddress(f.bob.ID, post.ID, 0)
	big := message("Bob <bob@example.com>", reply, "Re: Plan", "Message-ID: <big@x>\n", strings.Repeat("All work and no play.\n", 400))
	wantRefused(t, f.send("bob@example.com", []string{reply}, big), 552, "")
	// A line longer than the listener takes: refused for good, not "try again".
	long := message("Bob <bob@example.com>", reply, "Re: Plan", "Message-ID: <long@x>\n", strings.Repeat("x", MaxLineBytes+10))
	f2 := newFixture(t, Options{})
	post2, err := f2.posts.CreatePost(f2.ada.Actor(), "alpha", posts.PostInput{Title: "Plan", Body: "x"})
	must(t, err)
	wantRefused(t, f2.send("bob@example.com", []string{f2.mail.ReplyAddress(f2.bob.ID, post2.ID, 0)}, long), 554, "could not be read")
	if n := len(f.comments(post.ID)); n != 0 {
		t.Fatalf("a message over the limit left %d comments", n)
	}
	// Malformed: no From.
	noFrom := "To: " + reply + "\nSubject: x\n\nhello\n"
	wantRefused(t, f.send("bob@example.com", []string{reply}, noFrom), 550, "From")
}

func TestFilesOfMailedReplies(t *testing.T) {
	f := newFixture(t, Options{})
	post, err := f.posts.CreatePost(f.ada.Actor(), "alpha", posts.PostInput{Title: "Report", Body: "Numbers inside."})
	must(t, err)
	withFile := func(from, to, id string) string {
		return "From: " + from + "\nTo: " + to + "\nSubject: Re: Report\nMessage-ID: <" + id + ">\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\nThe sheet is attached.\n" +
			"--b1\nContent-Type: text/csv; name=\"q1.csv\"\nContent-Disposition: attachment; filename=\"q1.csv\"\n\nquarter,total\nQ1,42\n" +
			"--b1\nContent-Type: text/html; name=\"page.html\"\nContent-Disposition: attachment; filename=\"page.html\"\n\n<html><body>hi</body></html>\n--b1--\n"
	}
	bobReply := f.mail.ReplyAddress(f.bob.ID, post.ID, 0)
	must(t, f.send("bob@example.com", []string{bobReply}, withFile("bob@example.com", bobReply, "f1@x")))
	cs := f.comments(post.ID)
	if len(cs) != 1 {
		t.Fatalf("%d comments", len(cs))
	}
	if !strings.Contains(cs[0].Body, "The sheet is attached.") || !strings.Contains(cs[0].Body, "](/p/alpha/files/") || !strings.Contains(cs[0].Body, "“page.html” was not kept") {
		t.Fatalf("comment body %q", cs[0].Body)
	}
	files, err := f.posts.Attachments(f.ada.Actor(), post.ID)
	must(t, err)
	if len(files) != 1 || files[0].Name != "q1.csv" {
		t.Fatalf("the post's files: %+v", files)
	}
	// A viewer's reply keeps its text; the file is named, not kept.
	carolReply := f.mail.ReplyAddress(f.carol.ID, post.ID, 0)
	must(t, f.send("carol@example.com", []string{carolReply}, withFile("carol@example.com", carolReply, "f2@x")))
	cs = f.comments(post.ID)
	if len(cs) != 2 || !strings.Contains(cs[1].Body, "“q1.csv” was not kept") {
		t.Fatalf("viewer's comment: %+v", cs)
	}
}

func TestInlineImagesPointAtTheStoredFile(t *testing.T) {
	f := newFixture(t, Options{})
	var png bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	must(t, pngenc.Encode(&png, img))
	b64 := base64.StdEncoding.EncodeToString(png.Bytes())
	addr := f.mail.ProjectAddress("alpha")
	msg := "From: Ada Lovelace <ada@example.com>\nTo: " + addr + "\nSubject: Burndown\nMessage-ID: <img1@x>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/related; boundary=\"r\"\n\n--r\nContent-Type: text/html; charset=utf-8\n\n" +
		"<p>This week:</p><p><img src=\"cid:chart@x\" alt=\"burndown chart\"></p><p>On track.</p>\n" +
		"--r\nContent-Type: image/png; name=\"burn down.png\"\nContent-ID: <chart@x>\nContent-Disposition: inline; filename=\"burn down.png\"\nContent-Transfer-Encoding: base64\n\n" + b64 + "\n--r--\n"
	must(t, f.send("ada@example.com", []string{addr}, msg))
	page, err := f.posts.Recent(f.ada.Actor(), "", 10)
	must(t, err)
	if len(page.Posts) != 1 {
		t.Fatalf("%d posts", len(page.Posts))
	}
	p := page.Posts[0]
	files, err := f.posts.Attachments(f.ada.Actor(), p.ID)
	must(t, err)
	if len(files) != 1 {
		t.Fatalf("files %+v", files)
	}
	want := "![burndown chart](" + files[0].Path() + ")"
	if !strings.Contains(p.Body, want) || strings.Count(p.Body, files[0].Path()) != 1 {
		t.Fatalf("body %q, want the image in place once: %s", p.Body, want)
	}
	if strings.Index(p.Body, want) > strings.Index(p.Body, "On track.") {
		t.Errorf("the image moved to the end: %q", p.Body)
	}
}

func TestAForwardToTheProjectKeepsTheForwardedMessage(t *testing.T) {
	f := newFixture(t, Options{})
	addr := f.mail.ProjectAddress("alpha")
	// Outlook forwards with the same header block as a reply.
	fwd := "From: Ada Lovelace <ada@example.com>\nTo: " + addr + "\nSubject: FW: Vendor quote\nMessage-ID: <fw1@x>\nMIME-Version: 1.0\n" +
		"Content-Type: text/html; charset=utf-8\n\n<html><body><div>For the record, the quote we accepted.</div>" +
		"<div id=\"divRplyFwdMsg\"><b>From:</b> Vendor &lt;sales@vendor.example&gt;<br><b>Sent:</b> Monday, March 2, 2026 9:00<br><b>Subject:</b> Vendor quote</div>" +
		"<div>The total is 12,400 EUR, valid until April.</div></body></html>\n"
	must(t, f.send("ada@example.com", []string{addr}, fwd))
	page, err := f.posts.Recent(f.ada.Actor(), "", 10)
	must(t, err)
	if len(page.Posts) != 1 {
		t.Fatalf("%d posts", len(page.Posts))
	}
	p := page.Posts[0]
	if p.Title != "Vendor quote" || !strings.Contains(p.Body, "For the record") || !strings.Contains(p.Body, "12,400 EUR") {
		t.Fatalf("post %q: %q; want the forwarded message kept", p.Title, p.Body)
	}
	// A reply (not a forward) still keeps only what it adds.
	re := message("Ada Lovelace <ada@example.com>", addr, "Re: Something else", "Message-ID: <re1@x>\n", "New point.\n\nOn Mon, 2 Mar 2026, Bob wrote:\n> old point")
	must(t, f.send("ada@example.com", []string{addr}, re))
	page, err = f.posts.Recent(f.ada.Actor(), "", 10)
	must(t, err)
	if page.Posts[0].Body != "New point." {
		t.Errorf("a reply's post body %q", page.Posts[0].Body)
	}
}
