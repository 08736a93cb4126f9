package mailin

import (
	"bytes"
	"context"
	"html"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"projblog/internal/notify"
	"projblog/internal/posts"
)

// The whole loop: notify sends a notice through a real SMTP server, the
// test reads its Reply-To, answers it as Gmail, Outlook and Apple Mail
// do, and sends each answer into the bridge's SMTP listener.

type sink struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct{ s *sink }

func (ss *sinkSession) Reset()                               {}
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, b)
	ss.s.mu.Unlock()
	return err
}

func startSink(t *testing.T) (*sink, string) {
	k := &sink{}
	srv := smtp.NewServer(k)
	srv.Domain = "sink.example"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return k, "smtp://" + ln.Addr().String()
}

func TestReplyToANoticeFromCommonClients(t *testing.T) {
	f := newFixture(t, Options{})
	k, url := startSink(t)
	mailer, err := notify.NewSMTPMailer(url, "projblog@"+domain)
	must(t, err)
	n, err := notify.New(f.db, f.posts, f.users, notify.Options{Now: f.clk.Now, BaseURL: "https://" + domain,
		Mailer: mailer, From: "projblog@" + domain, ReplyAddress: f.mail.ReplyAddress})
	must(t, err)
	ctx := context.Background()

	post, err := f.posts.CreatePost(f.ada.Actor(), "alpha", posts.PostInput{Title: "Réunion de lundi", Body: "Ordre du jour : budget."})
	must(t, err)
	bobs, err := f.posts.AddComment(f.bob.Actor(), post.ID, posts.CommentInput{Body: "Le budget est prêt."})
	must(t, err)
	if _, err := n.ConsumeEvents(ctx); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(notify.BundleWindow + time.Second)
	if _, err := n.FlushNotices(ctx); err != nil {
		t.Fatal(err)
	}
	if sent, failed, err := n.DeliverDue(ctx); err != nil || sent != 1 || failed != 0 {
		t.Fatalf("DeliverDue: sent %d failed %d err %v", sent, failed, err)
	}
	k.mu.Lock()
	raw := k.msgs[0]
	k.mu.Unlock()
	notice, err := mail.ReadMessage(bytes.NewReader(raw))
	must(t, err)
	replyTo := notice.Header.Get("Reply-To")
	if replyTo != f.mail.ReplyAddress(f.ada.ID, post.ID, bobs.ID) {
		t.Fatalf("the notice's Reply-To is %q", replyTo)
	}
	if !bytes.Contains(raw, []byte("mailto:"+replyTo)) {
		t.Error("the notice has no reply-by-e-mail link")
	}
	noticeID := notice.Header.Get("Message-Id")

	answers := []struct {
		client, msg, want string
	}{
		{"gmail", "From: Ada Lovelace <ada@example.com>\nTo: " + replyTo + "\nSubject: Re: Bob Martin commented on “Réunion de lundi”\n" +
			"Message-ID: <CAgmail1@mail.gmail.com>\nIn-Reply-To: " + noticeID + "\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/alternative; boundary=\"000000000000abc\"\n\n--000000000000abc\nContent-Type: text/plain; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"Merci, je le valide d=C3=A8s ce soir.\n\nOn Mon, Mar 2, 2026 at 10:02 AM projblog <projblog@" + domain + ">\nwrote:\n\n> Bob Martin commented\n>\n\n" +
			"--000000000000abc\nContent-Type: text/html; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"<div dir=3D\"ltr\">Merci, je le valide d=C3=A8s ce soir.</div><br><div class=3D\"gmail_quote\"><div dir=3D\"ltr\" class=3D\"gmail_attr\">On Mon, Mar 2, 2026 at 10:02 AM projblog wrote:<br></div><blockquote class=3D\"gmail_quote\">Bob Martin commented</blockquote></div>\n--000000000000abc--\n",
			"Merci, je le valide dès ce soir."},
		{"outlook", "From: \"Lovelace, Ada\" <ada@example.com>\nTo: " + replyTo + "\nSubject: RE: Bob Martin commented\n" +
			"Message-ID: <DB9PR01MB@outlook.com>\nIn-Reply-To: " + noticeID + "\nMIME-Version: 1.0\n" +
			"Content-Type: text/html; charset=\"windows-1252\"\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"<html><head><style>p{margin:0}</style></head><body><div>Vu, c=92est not=E9.</div>\n<div id=3D\"appendonsend\"></div><hr style=3D\"display:inline-block;width:98%\">" +
			"<div id=3D\"divRplyFwdMsg\"><b>De :</b> projblog &lt;projblog@" + domain + "&gt;<br><b>Envoy=E9 :</b> lundi 2 mars 2026 10:02<br><b>Objet :</b> Bob Martin commented</div><div>Bob Martin commented</div></body></html>\n",
			"Vu, c’est noté."},
		{"apple", "From: Ada Lovelace <ada@example.com>\nTo: " + replyTo + "\nSubject: Re: Bob Martin commented\n" +
			"Message-Id: <A1B2C3@icloud.com>\nIn-Reply-To: " + noticeID + "\nMime-Version: 1.0 (Mac OS X Mail 16.0)\n" +
			"Content-Type: text/plain; charset=utf-8; format=flowed\nContent-Transfer-Encoding: 8bit\n\n" +
			"Parfait, on en parle \nlundi.\n\n> On 2 Mar 2026, at 10:02, projblog <projblog@" + domain + "> wrote:\n>\n> Bob Martin commented\n",
			"Parfait, on en parle lundi."},
	}
	for i, a := range answers {
		if err := f.send("ada@example.com", []string{replyTo}, a.msg); err != nil {
			t.Fatalf("%s: %v", a.client, err)
		}
		cs := f.comments(post.ID)
		if len(cs) != i+2 {
			t.Fatalf("%s: %d comments", a.client, len(cs))
		}
		c := cs[len(cs)-1]
		if c.Body != a.want || c.AuthorID != f.ada.ID || c.ParentID != bobs.ID {
			t.Errorf("%s: comment %q by %d in thread %d, want %q by Ada in Bob's thread", a.client, c.Body, c.AuthorID, c.ParentID, a.want)
		}
	}
}

func TestDigestEntriesCarryReplyAddresses(t *testing.T) {
	f := newFixture(t, Options{})
	n, err := notify.New(f.db, f.posts, f.users, notify.Options{Now: f.clk.Now, BaseURL: "https://" + domain,
		From: "projblog@" + domain, ReplyAddress: f.mail.ReplyAddress})
	must(t, err)
	post, err := f.posts.CreatePost(f.ada.Actor(), "alpha", posts.PostInput{Title: "Weekly status", Body: "All good."})
	must(t, err)
	f.clk.Advance(7 * 24 * time.Hour)
	d, err := n.BuildDigest(f.bob.ID, notify.WeeklyWindow(f.clk.Now(), time.UTC, time.Monday, 8))
	must(t, err)
	m, err := n.ComposeDigest(d)
	must(t, err)
	want := "mailto:" + f.mail.ReplyAddress(f.bob.ID, post.ID, 0) + "?subject=Re%3A%20Weekly%20status"
	if !strings.Contains(m.Text, want) || !strings.Contains(html.UnescapeString(m.HTML), "href=\""+want+"\"") {
		t.Fatalf("the digest entry has no reply link %s\n%s\n%s", want, m.Text, m.HTML)
	}

	// A site without a mail domain makes no reply addresses.
	off, err := New(f.db, f.posts, f.users, Options{})
	must(t, err)
	if a := off.ReplyAddress(f.bob.ID, post.ID, 0); a != "" {
		t.Errorf("reply address %q without a mail domain", a)
	}
}
