package notify_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// The tests of immediate notices run the real services over a real
// database into the real SMTP sink, on the settable clock. The cast:
//
//	ada    owner of Apollo (internal), English, UTC
//	bob    member of Apollo
//	carol  member of Apollo

// noticeT0 is when the action starts: Wednesday 25 November 2026, 10:00 UTC.
var noticeT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type noticeEnv struct {
	*mailEnv
	t               *testing.T
	sink            *smtpSink
	seen            int // messages of the sink already returned by received
	ada, bob, carol *users.User
	ctx             context.Context
}

func newNoticeEnv(t *testing.T) *noticeEnv {
	t.Helper()
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "Projblog <projblog@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	e := &noticeEnv{mailEnv: newMailEnv(t, mailer), t: t, sink: sink, ctx: context.Background()}
	e.clock.Set(noticeT0.Add(-24 * time.Hour))
	e.ada = e.newUser("ada@example.com", "Ada Lovelace", "", "en")
	e.bob = e.newUser("bob@example.com", "Bob Builder", "", "en")
	e.carol = e.newUser("carol@example.com", "Carol Jones", "", "en")
	if _, err := e.posts.CreateProject(e.ada.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Internal}, 0); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*users.User{e.bob, e.carol} {
		if err := e.posts.SetMember(e.ada.Actor(), "apollo", u.ID, access.Member); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Set(noticeT0)
	return e
}

func (e *noticeEnv) consume() int {
	e.t.Helper()
	n, err := e.n.ConsumeEvents(e.ctx)
	if err != nil {
		e.t.Fatalf("ConsumeEvents: %v", err)
	}
	return n
}

func (e *noticeEnv) flush() int {
	e.t.Helper()
	n, err := e.n.FlushNotices(e.ctx)
	if err != nil {
		e.t.Fatalf("FlushNotices: %v", err)
	}
	return n
}

// round is one scheduler round for notices: read the log, then flush.
func (e *noticeEnv) round() int {
	e.t.Helper()
	e.consume()
	return e.flush()
}

func (e *noticeEnv) pending(u *users.User) []notify.Notice {
	e.t.Helper()
	ns, err := e.n.PendingNotices(u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ns
}

// gotMail is a received message, parsed, with its envelope recipient.
type gotMail struct {
	To string
	*parsedMail
}

// received delivers what is due and returns the messages that arrived
// since the last call.
func (e *noticeEnv) received() []gotMail {
	e.t.Helper()
	if _, failed, err := e.n.DeliverDue(e.ctx); failed != 0 || err != nil {
		e.t.Fatalf("DeliverDue: %d failed, %v", failed, err)
	}
	msgs := e.sink.messages()
	var out []gotMail
	for _, m := range msgs[e.seen:] {
		out = append(out, gotMail{To: m.To[0], parsedMail: parseMail(e.t, m.Data)})
	}
	e.seen = len(msgs)
	return out
}

// receivedOne is received for exactly one message, to want.
func (e *noticeEnv) receivedOne(want *users.User) gotMail {
	e.t.Helper()
	got := e.received()
	if len(got) != 1 || got[0].To != want.Email {
		var to []string
		for _, g := range got {
			to = append(to, g.To+": "+g.Subject)
		}
		e.t.Fatalf("received %v, want one message to %s", to, want.Email)
	}
	return got[0]
}

func (e *noticeEnv) post(by *users.User, project string, in posts.PostInput) *posts.Post {
	e.t.Helper()
	p, err := e.posts.CreatePost(by.Actor(), project, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *noticeEnv) comment(by *users.User, p *posts.Post, parent uint64, body string) *posts.Comment {
	e.t.Helper()
	c, err := e.posts.AddComment(by.Actor(), p.ID, posts.CommentInput{Body: body, ParentID: parent})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *noticeEnv) postURL(p *posts.Post) string { return mailBaseURL + "/p/apollo/" + p.Slug }

func kinds(ns []notify.Notice) []notify.NoticeKind {
	var out []notify.NoticeKind
	for _, n := range ns {
		out = append(out, n.Kind)
	}
	return out
}

func htmlLinks(t *testing.T, m gotMail) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(m.Parts["text/html"]))
	if err != nil {
		t.Fatal(err)
	}
	return attrs(doc, "a", "href")
}

// TestNoticeMention: a mention makes one message to the person mentioned,
// BundleWindow after it, not before; its MIME, headers and parts.
func TestNoticeMention(t *testing.T) {
	e := newNoticeEnv(t)
	p := e.post(e.bob, "apollo", posts.PostInput{Title: "Launch plan",
		Body: "@ada please check the dates.\n\nThe launch moves to **March**."})
	if n := e.consume(); n != 1 {
		t.Fatalf("ConsumeEvents added %d notices, want 1", n)
	}
	ns := e.pending(e.ada)
	if len(ns) != 1 || ns[0].Kind != notify.NoticeMention || ns[0].PostID != p.ID || ns[0].ActorID != e.bob.ID || ns[0].CommentID != 0 {
		t.Fatalf("pending %+v", ns)
	}
	seq := strconv.FormatUint(ns[0].Seq, 10)
	for _, u := range []*users.User{e.bob, e.carol} {
		if ns := e.pending(u); len(ns) != 0 {
			t.Errorf("%s has notices %+v", u.Name, ns)
		}
	}

	if n := e.flush(); n != 0 {
		t.Fatalf("flushed %d at once", n)
	}
	e.clock.Advance(notify.BundleWindow - time.Second)
	if n := e.round(); n != 0 || len(e.outbox()) != 0 {
		t.Fatalf("flushed %d before the bundle window ended", n)
	}
	e.clock.Advance(time.Second)
	if n := e.round(); n != 1 {
		t.Fatalf("flushed %d at the end of the bundle window, want 1", n)
	}
	if ns := e.pending(e.ada); len(ns) != 0 {
		t.Fatalf("still pending after the flush: %+v", ns)
	}
	if items := e.outbox(); len(items) != 1 || items[0].Key != notify.NoticeKey(e.ada.ID, ns[0].Seq) {
		t.Fatalf("outbox %+v, want the key %s", items, notify.NoticeKey(e.ada.ID, ns[0].Seq))
	}
	e.clock.Advance(time.Minute)
	if n := e.round(); n != 0 {
		t.Fatalf("flushed %d again", n)
	}

	m := e.receivedOne(e.ada)
	if want := "Bob Builder mentioned you in “Launch plan”"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if m.Type != "multipart/alternative" || m.Parts["text/plain"] == "" || m.Parts["text/html"] == "" {
		t.Fatalf("type %s with parts %v", m.Type, keysOf(m.Parts))
	}
	postRef := "<post." + strconv.FormatUint(p.ID, 10) + "@blog.example.com>"
	for h, want := range map[string]string{
		"Message-Id":            "<notice." + strconv.FormatUint(e.ada.ID, 10) + "." + seq + "@blog.example.com>",
		"In-Reply-To":           postRef,
		"References":            postRef,
		"List-Id":               "<apollo.blog.example.com>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Auto-Submitted":        "auto-generated",
	} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	unsub := strings.TrimSuffix(strings.TrimPrefix(m.Header.Get("List-Unsubscribe"), "<"+mailBaseURL+"/unsubscribe/"), ">")
	if id, err := e.n.UserForUnsubscribe(unsub); err != nil || id != e.ada.ID {
		t.Errorf("List-Unsubscribe %q leads to %d, %v", m.Header.Get("List-Unsubscribe"), id, err)
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if !contains(htmlLinks(t, m), e.postURL(p)) {
		t.Errorf("HTML part has no link to %s: %v", e.postURL(p), htmlLinks(t, m))
	}
	if !strings.Contains(m.Parts["text/plain"], e.postURL(p)) {
		t.Errorf("text part has no link to %s", e.postURL(p))
	}
	golden(t, "notice_mention_en.txt", m.Subject+"\n\n"+m.Parts["text/plain"])
	golden(t, "notice_mention_en.html", m.Parts["text/html"])
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestNoticeBundle: three events for one person within the bundle window
// make one message that lists all three, grouped by post.
func TestNoticeBundle(t *testing.T) {
	e := newNoticeEnv(t)
	e.clock.Set(noticeT0.Add(-time.Hour))
	bench := e.post(e.ada, "apollo", posts.PostInput{Title: "Test bench", Body: "The bench is ready."})
	e.clock.Advance(time.Hour)

	c := e.comment(e.bob, bench, 0, "Great news: can we book it for **Friday**?")
	e.round()
	e.clock.Advance(40 * time.Second)
	plan := e.post(e.bob, "apollo", posts.PostInput{Title: "Launch plan", Body: "@ada, the dates are in."})
	e.round()
	e.clock.Advance(40 * time.Second)
	budget := e.post(e.bob, "apollo", posts.PostInput{Title: "Budget", Body: "Please confirm the budget.", AckUserIDs: []uint64{e.ada.ID}})
	if n := e.round(); n != 0 {
		t.Fatalf("flushed %d within the window", n)
	}
	if got := kinds(e.pending(e.ada)); len(got) != 3 || got[0] != notify.NoticeComment || got[1] != notify.NoticeMention || got[2] != notify.NoticeAck {
		t.Fatalf("pending kinds %v", got)
	}
	e.clock.Set(noticeT0.Add(notify.BundleWindow))
	if n := e.round(); n != 1 {
		t.Fatalf("flushed %d messages, want 1", n)
	}
	m := e.receivedOne(e.ada)
	if want := "3 updates in Apollo: “Test bench”, “Launch plan”, “Budget”"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if m.Header.Get("In-Reply-To") != "" || m.Header.Get("References") != "" {
		t.Errorf("a message about three posts threads under one: %q", m.Header.Get("References"))
	}
	if got := m.Header.Get("List-Id"); got != "<apollo.blog.example.com>" {
		t.Errorf("List-Id %q", got)
	}
	text := oneLine(m.Parts["text/plain"])
	for _, want := range []string{
		"Bob Builder commented on your post", "can we book it for Friday?",
		"Bob Builder mentioned you in this post", "Bob Builder asked you to acknowledge this post",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, m.Parts["text/plain"])
		}
	}
	links := htmlLinks(t, m)
	for _, want := range []string{
		e.postURL(bench) + "#comment-" + strconv.FormatUint(c.ID, 10),
		e.postURL(plan),
		e.postURL(budget) + "#acks",
	} {
		if !contains(links, want) {
			t.Errorf("HTML part has no link %s: %v", want, links)
		}
	}
	doc, _ := html.Parse(strings.NewReader(m.Parts["text/html"]))
	var titles []string
	for _, h := range findAll(doc, "h2") {
		titles = append(titles, textOf(h))
	}
	if strings.Join(titles, "|") != "Test bench|Launch plan|Budget" {
		t.Errorf("groups %q", titles)
	}
	golden(t, "notice_bundle_en.txt", m.Subject+"\n\n"+m.Parts["text/plain"])
	golden(t, "notice_bundle_en.html", m.Parts["text/html"])
}

// TestNoticeReply: a reply tells the author of the comment answered and
// the post's author, never the one who replied; notices about one post
// thread together; a mention in a comment on your post is one notice.
func TestNoticeReply(t *testing.T) {
	e := newNoticeEnv(t)
	p := e.post(e.ada, "apollo", posts.PostInput{Title: "Vendor choice", Body: "Vendor A or B?"})
	first := e.comment(e.bob, p, 0, "B, they deliver in January.")
	e.clock.Advance(notify.BundleWindow)
	if n := e.round(); n != 1 {
		t.Fatalf("flushed %d, want Ada's", n)
	}
	m1 := e.receivedOne(e.ada)
	if want := "Bob Builder commented on “Vendor choice”"; m1.Subject != want {
		t.Errorf("subject %q, want %q", m1.Subject, want)
	}

	reply := e.comment(e.carol, p, first.ID, "Agreed, and B is cheaper.")
	e.consume()
	if ns := e.pending(e.bob); len(ns) != 1 || ns[0].Kind != notify.NoticeReply || ns[0].CommentID != reply.ID {
		t.Errorf("Bob's pending %+v, want the reply", ns)
	}
	if ns := e.pending(e.ada); len(ns) != 1 || ns[0].Kind != notify.NoticeComment || ns[0].CommentID != reply.ID {
		t.Errorf("Ada's pending %+v, want the comment", ns)
	}
	if ns := e.pending(e.carol); len(ns) != 0 {
		t.Errorf("the replier has notices %+v", ns)
	}
	e.clock.Advance(notify.BundleWindow)
	if n := e.round(); n != 2 {
		t.Fatalf("flushed %d, want 2", n)
	}
	got := map[string]gotMail{}
	for _, m := range e.received() {
		got[m.To] = m
	}
	bob, ada := got[e.bob.Email], got[e.ada.Email]
	if len(got) != 2 || bob.parsedMail == nil || ada.parsedMail == nil {
		t.Fatalf("received mail for %v", keysOf(got))
	}
	if want := "Carol Jones replied to your comment on “Vendor choice”"; bob.Subject != want {
		t.Errorf("Bob's subject %q, want %q", bob.Subject, want)
	}
	if link := e.postURL(p) + "#comment-" + strconv.FormatUint(reply.ID, 10); !contains(htmlLinks(t, bob), link) {
		t.Errorf("Bob's message has no link %s: %v", link, htmlLinks(t, bob))
	}
	if want := "Carol Jones commented on “Vendor choice”"; ada.Subject != want {
		t.Errorf("Ada's subject %q, want %q", ada.Subject, want)
	}
	// Both of Ada's messages thread under the post.
	ref := "<post." + strconv.FormatUint(p.ID, 10) + "@blog.example.com>"
	for _, m := range []gotMail{m1, ada, bob} {
		if m.Header.Get("References") != ref || m.Header.Get("In-Reply-To") != ref {
			t.Errorf("%s: References %q, In-Reply-To %q, want %s", m.Subject, m.Header.Get("References"), m.Header.Get("In-Reply-To"), ref)
		}
	}
	if m1.Header.Get("Message-Id") == ada.Header.Get("Message-Id") {
		t.Error("two messages share a Message-ID")
	}

	// Bob answers in his own thread: Ada hears of it, and Carol, who
	// commented on the post and so follows it; Bob does not.
	thanks := e.comment(e.bob, p, first.ID, "Thanks Carol.")
	// Carol mentions Ada in a comment on Ada's post: one notice, the
	// mention. Bob follows the post (he commented): a comment.
	sign := e.comment(e.carol, p, 0, "@ada can you sign the order?")
	e.consume()
	if got := kinds(e.pending(e.ada)); len(got) != 2 || got[0] != notify.NoticeComment || got[1] != notify.NoticeMention {
		t.Fatalf("Ada's pending kinds %v, want comment, mention", got)
	}
	if ns := e.pending(e.bob); len(ns) != 1 || ns[0].Kind != notify.NoticeFollow || ns[0].CommentID != sign.ID {
		t.Errorf("Bob's pending %+v, want Carol's comment on the post he follows, not his own reply", ns)
	}
	if ns := e.pending(e.carol); len(ns) != 1 || ns[0].Kind != notify.NoticeFollow || ns[0].CommentID != thanks.ID {
		t.Errorf("Carol's pending %+v, want Bob's comment on the post she follows", ns)
	}
	e.clock.Advance(notify.BundleWindow)
	e.round()
	got = map[string]gotMail{}
	for _, m := range e.received() {
		got[m.To] = m
	}
	if len(got) != 3 {
		t.Fatalf("received mail for %v, want Ada, Bob and Carol", keysOf(got))
	}
	if want := "Carol Jones commented on “Vendor choice”"; got[e.bob.Email].Subject != want {
		t.Errorf("Bob's subject %q, want %q", got[e.bob.Email].Subject, want)
	}
	if text := oneLine(got[e.bob.Email].Parts["text/plain"]); !strings.Contains(text, "Carol Jones commented on a post you follow") {
		t.Errorf("Bob's text part:\n%s", got[e.bob.Email].Parts["text/plain"])
	}
	m := got[e.ada.Email]
	if want := "2 updates in Apollo: “Vendor choice”"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	text := m.Parts["text/plain"]
	if strings.Count(text, "Bob Builder commented on your post") != 1 || strings.Count(text, "Carol Jones mentioned you in a comment") != 1 ||
		strings.Contains(text, "Carol Jones commented") {
		t.Errorf("text part:\n%s", text)
	}
}

// TestNoticeAck: an acknowledgement request, in the reader's language,
// links to the post's acknowledgements.
func TestNoticeAck(t *testing.T) {
	e := newNoticeEnv(t)
	bruno := e.newUser("bruno@example.com", "Bruno Dupont", "Europe/Paris", "fr")
	if err := e.posts.SetMember(e.ada.Actor(), "apollo", bruno.ID, access.Viewer); err != nil {
		t.Fatal(err)
	}
	p := e.post(e.ada, "apollo", posts.PostInput{Title: "Security rules", Body: "Badges from Monday."})
	if err := e.posts.RequestAcks(e.ada.Actor(), p.ID, []uint64{bruno.ID}, false); err != nil {
		t.Fatal(err)
	}
	e.consume()
	if got := kinds(e.pending(bruno)); len(got) != 1 || got[0] != notify.NoticeAck {
		t.Fatalf("pending %v", got)
	}
	e.clock.Advance(notify.BundleWindow)
	e.round()
	m := e.receivedOne(bruno)
	if want := "Ada Lovelace vous demande de confirmer la lecture de «\u00a0Security rules\u00a0»"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if link := e.postURL(p) + "#acks"; !contains(htmlLinks(t, m), link) || !strings.Contains(m.Parts["text/plain"], link) {
		t.Errorf("no link %s", link)
	}
	if !strings.Contains(oneLine(m.Parts["text/plain"]), "25 novembre 2026 à 11 h 00") {
		t.Errorf("the time is not in Bruno's language and zone:\n%s", m.Parts["text/plain"])
	}
	golden(t, "notice_ack_fr.txt", m.Subject+"\n\n"+m.Parts["text/plain"])
}

// TestNoticeProjectModes: a project followed Immediate tells of its new
// posts (first publication only, never to the author); Weekly and the
// member default do not; nor does a project one may no longer read.
func TestNoticeProjectModes(t *testing.T) {
	e := newNoticeEnv(t)
	dora := e.newUser("dora@example.com", "Dora Stake", "", "en") // not a member; Apollo is internal
	erin := e.newUser("erin@example.com", "Erin Weekly", "", "en")
	if err := e.posts.SetMember(e.ada.Actor(), "apollo", erin.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	if _, err := e.posts.CreateProject(e.bob.Actor(), posts.ProjectInput{Slug: "hermes", Name: "Hermes", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.posts.SetMember(e.bob.Actor(), "hermes", dora.ID, access.Viewer); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		u       *users.User
		project string
		m       notify.Mode
	}{
		{dora, "apollo", notify.Immediate}, {dora, "hermes", notify.Immediate},
		{erin, "apollo", notify.Weekly}, {e.bob, "apollo", notify.Immediate},
	} {
		if err := e.n.SetProjectMode(c.u.Actor(), c.project, c.m); err != nil {
			t.Fatal(err)
		}
	}
	// Dora leaves Hermes (private): her choice stays, but she may not read it.
	if err := e.posts.RemoveMember(e.bob.Actor(), "hermes", dora.ID); err != nil {
		t.Fatal(err)
	}
	e.post(e.bob, "hermes", posts.PostInput{Title: "Secret", Body: "Only for members."})
	release := e.post(e.bob, "apollo", posts.PostInput{Title: "Release 1.0", Body: "It is out."})
	draft := e.post(e.carol, "apollo", posts.PostInput{Title: "Retrospective", Body: "What went well.", Draft: true})
	e.consume()
	if got := e.pending(dora); len(got) != 1 || got[0].Kind != notify.NoticePost || got[0].PostID != release.ID {
		t.Fatalf("Dora's pending %+v, want Release 1.0", got)
	}
	// The draft is published: news; back to draft and published again: not.
	in := posts.PostInput{Title: "Retrospective", Body: "What went well."}
	if _, err := e.posts.UpdatePost(e.carol.Actor(), draft.ID, in); err != nil {
		t.Fatal(err)
	}
	in.Draft = true
	if _, err := e.posts.UpdatePost(e.carol.Actor(), draft.ID, in); err != nil {
		t.Fatal(err)
	}
	in.Draft = false
	if _, err := e.posts.UpdatePost(e.carol.Actor(), draft.ID, in); err != nil {
		t.Fatal(err)
	}
	e.consume()
	if got := e.pending(dora); len(got) != 2 || got[1].PostID != draft.ID {
		t.Fatalf("Dora's pending %+v, want Release 1.0 and Retrospective", got)
	}
	// Bob follows Apollo Immediate too: he hears of Carol's post, not
	// of his own.
	if got := e.pending(e.bob); len(got) != 1 || got[0].PostID != draft.ID {
		t.Errorf("Bob's pending %+v, want Retrospective", got)
	}
	for _, u := range []*users.User{e.ada, e.carol, erin} {
		if got := e.pending(u); len(got) != 0 {
			t.Errorf("%s has notices %+v", u.Name, got)
		}
	}
	e.clock.Advance(notify.BundleWindow)
	if n := e.round(); n != 2 {
		t.Fatalf("flushed %d, want Dora's and Bob's", n)
	}
	got := map[string]gotMail{}
	for _, m := range e.received() {
		got[m.To] = m
	}
	if want := "Carol Jones published “Retrospective” in Apollo"; got[e.bob.Email].parsedMail == nil || got[e.bob.Email].Subject != want {
		t.Errorf("Bob's message %+v, want %q", got[e.bob.Email], want)
	}
	m := got[dora.Email]
	if m.parsedMail == nil {
		t.Fatal("no message for Dora")
	}
	if want := "2 updates in Apollo: “Release 1.0”, “Retrospective”"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	text := oneLine(m.Parts["text/plain"])
	if !strings.Contains(text, "Bob Builder published this post") || !strings.Contains(text, "Carol Jones published this post") {
		t.Errorf("text part:\n%s", m.Parts["text/plain"])
	}

	// One post alone says so in the subject.
	if err := e.n.SetProjectMode(e.bob.Actor(), "apollo", notify.Weekly); err != nil {
		t.Fatal(err)
	}
	e.post(e.ada, "apollo", posts.PostInput{Title: "Party", Body: "Friday."})
	e.clock.Advance(notify.BundleWindow)
	e.round()
	if m := e.receivedOne(dora); m.Subject != "Ada Lovelace published “Party” in Apollo" {
		t.Errorf("subject %q", m.Subject)
	}
}

// TestNoticeMentionsOnly: with "mentions and acknowledgement requests
// only", nothing else is kept.
func TestNoticeMentionsOnly(t *testing.T) {
	e := newNoticeEnv(t)
	if err := e.n.SetProjectMode(e.carol.Actor(), "apollo", notify.Immediate); err != nil {
		t.Fatal(err)
	}
	st := notify.DefaultSettings()
	st.MentionsOnly = true
	if err := e.n.SaveSettings(e.carol.ID, st); err != nil {
		t.Fatal(err)
	}
	mine := e.post(e.carol, "apollo", posts.PostInput{Title: "Carol's notes", Body: "Notes."})
	e.comment(e.bob, mine, 0, "Thanks for the notes.")                      // comment on her post
	e.post(e.bob, "apollo", posts.PostInput{Title: "News", Body: "Plain."}) // Immediate project
	mention := e.post(e.bob, "apollo", posts.PostInput{Title: "Question", Body: "@carol what do you think?"})
	ack := e.post(e.ada, "apollo", posts.PostInput{Title: "Rules", Body: "Read them.", AckUserIDs: []uint64{e.carol.ID}})
	e.consume()
	got := e.pending(e.carol)
	if len(got) != 2 || got[0].Kind != notify.NoticeMention || got[0].PostID != mention.ID || got[1].Kind != notify.NoticeAck || got[1].PostID != ack.ID {
		t.Fatalf("pending %+v, want the mention and the acknowledgement request", got)
	}
	e.clock.Advance(notify.BundleWindow)
	e.round()
	if m := e.receivedOne(e.carol); m.Subject != "2 updates in Apollo: “Question”, “Rules”" {
		t.Errorf("subject %q", m.Subject)
	}
}

// TestNoticeEmailOff: nothing for someone who turned e-mail off, before
// or after the event; nor for a deactivated account.
func TestNoticeEmailOff(t *testing.T) {
	e := newNoticeEnv(t)
	if err := e.n.SetEmailOff(e.carol.ID, true); err != nil {
		t.Fatal(err)
	}
	e.post(e.bob, "apollo", posts.PostInput{Title: "Hello", Body: "@carol @ada @ada hello.", AckUserIDs: []uint64{e.carol.ID}})
	e.consume()
	if got := e.pending(e.carol); len(got) != 0 {
		t.Fatalf("Carol has notices %+v", got)
	}
	if got := e.pending(e.ada); len(got) != 1 {
		t.Fatalf("Ada has %d notices, want 1", len(got))
	}
	// Ada unsubscribes before her notice went out; Bob, deactivated,
	// was mentioned (in a comment on his post: one notice, the mention)
	// just before.
	e.comment(e.ada, e.mustPost("hello"), 0, "@bob see above.")
	e.consume()
	if got := kinds(e.pending(e.bob)); len(got) != 1 || got[0] != notify.NoticeMention {
		t.Fatalf("Bob's pending kinds %v, want the mention", got)
	}
	if err := e.n.SetEmailOff(e.ada.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := e.users.SetActive(e.bob.ID, false); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(notify.BundleWindow)
	if n := e.round(); n != 0 {
		t.Fatalf("flushed %d", n)
	}
	for _, u := range []*users.User{e.ada, e.bob, e.carol} {
		if got := e.pending(u); len(got) != 0 {
			t.Errorf("%s keeps notices %+v", u.Name, got)
		}
	}
	if items := e.outbox(); len(items) != 0 {
		t.Errorf("outbox %+v", items)
	}
}

func (e *noticeEnv) mustPost(slug string) *posts.Post {
	e.t.Helper()
	p, _, _, err := e.posts.ResolvePost(e.ada.Actor(), "apollo", slug)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// TestNoticeQuietHours: quiet hours from 22:00 to 07:00 in Toronto hold
// a notice of 23:00 until 07:00 local, and what came meanwhile goes with it.
func TestNoticeQuietHours(t *testing.T) {
	e := newNoticeEnv(t)
	toni := e.newUser("toni@example.com", "Toni Night", "America/Toronto", "en")
	st := notify.DefaultSettings()
	st.QuietStart, st.QuietEnd = 22, 7
	if err := e.n.SaveSettings(toni.ID, st); err != nil {
		t.Fatal(err)
	}
	toronto := mustZone(t, "America/Toronto")
	local := func(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, toronto) }

	e.clock.Set(local(25, 23, 0))
	e.post(e.bob, "apollo", posts.PostInput{Title: "Late news", Body: "@toni the build broke."})
	e.clock.Set(local(26, 3, 0))
	e.post(e.bob, "apollo", posts.PostInput{Title: "Later news", Body: "@toni fixed it."})
	for _, at := range []time.Time{local(25, 23, 5), local(26, 3, 5), local(26, 6, 59)} {
		e.clock.Set(at)
		if n := e.round(); n != 0 {
			t.Fatalf("at %v local: flushed %d during quiet hours", at, n)
		}
	}
	if got := e.pending(toni); len(got) != 2 {
		t.Fatalf("%d notices wait, want 2", len(got))
	}
	e.clock.Set(local(26, 7, 0))
	if n := e.round(); n != 1 {
		t.Fatalf("at 07:00 local: flushed %d, want 1", n)
	}
	m := e.receivedOne(toni)
	if want := "2 updates in Apollo: “Late news”, “Later news”"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if d, err := m.Header.Date(); err != nil || !d.Equal(local(26, 7, 0)) {
		t.Errorf("Date %v, %v; want 07:00 in Toronto", d, err)
	}
}

func TestQuietAt(t *testing.T) {
	toronto := mustZone(t, "America/Toronto")
	at := func(hour int) time.Time { return time.Date(2026, 11, 25, hour, 30, 0, 0, toronto) }
	for _, c := range []struct {
		name       string
		start, end int
		hour       int
		want       bool
	}{
		{"None", 0, 0, 3, false},
		{"NoneEqual", 9, 9, 9, false},
		{"WrapLate", 22, 7, 23, true},
		{"WrapStart", 22, 7, 22, true},
		{"WrapEarly", 22, 7, 6, true},
		{"WrapEnd", 22, 7, 7, false},
		{"WrapDay", 22, 7, 12, false},
		{"DayInside", 12, 14, 13, true},
		{"DayBefore", 12, 14, 11, false},
		{"DayEnd", 12, 14, 14, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := notify.Settings{QuietStart: c.start, QuietEnd: c.end}
			if got := st.QuietAt(at(c.hour).UTC(), toronto); got != c.want {
				t.Errorf("QuietAt(%02d:30 local) with %d→%d = %v", c.hour, c.start, c.end, got)
			}
		})
	}
	if d := notify.DefaultSettings(); d.QuietStart != d.QuietEnd {
		t.Errorf("default settings have quiet hours %d→%d", d.QuietStart, d.QuietEnd)
	}
}

// TestNoticePrivateMention: a mention of someone who may not read the
// project tells nobody.
func TestNoticePrivateMention(t *testing.T) {
	e := newNoticeEnv(t)
	if _, err := e.posts.CreateProject(e.bob.Actor(), posts.ProjectInput{Slug: "hermes", Name: "Hermes", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}
	e.post(e.bob, "hermes", posts.PostInput{Title: "Secret", Body: "@ada should not see this."})
	if countEvents(t, e.db, "mention") != 1 {
		t.Fatal("the mention event is missing: the test would prove nothing")
	}
	if n := e.consume(); n != 0 {
		t.Fatalf("ConsumeEvents added %d", n)
	}
	e.clock.Advance(notify.BundleWindow)
	if n := e.round(); n != 0 || len(e.pending(e.ada)) != 0 {
		t.Fatalf("flushed %d", n)
	}
}

// TestNoticeCrashSafety: reading the same events again (twice, after a
// restart, after a crash between the notices' write and the store's
// cursor) makes no notice twice, also once the first ones were sent.
func TestNoticeCrashSafety(t *testing.T) {
	e := newNoticeEnv(t)
	p := e.post(e.bob, "apollo", posts.PostInput{Title: "Plan", Body: "@ada here."})
	e.comment(e.carol, p, 0, "Looks good.") // to Bob, and to Ada, who follows the post since she was mentioned
	if n := e.consume(); n != 3 {
		t.Fatalf("first read added %d, want 3", n)
	}
	if n := e.consume(); n != 0 {
		t.Fatalf("second read added %d", n)
	}
	e.reopen()
	if n := e.consume(); n != 0 {
		t.Fatalf("read after a restart added %d", n)
	}
	// The store's cursor did not move (a crash after the notices
	// committed): the batch comes again.
	if err := e.db.SetCursor(notify.NoticeConsumer, 0); err != nil {
		t.Fatal(err)
	}
	if n := e.consume(); n != 0 {
		t.Fatalf("read after rewinding the cursor added %d", n)
	}
	if len(e.pending(e.ada)) != 2 || len(e.pending(e.bob)) != 1 {
		t.Fatalf("pending Ada %+v, Bob %+v", e.pending(e.ada), e.pending(e.bob))
	}
	e.clock.Advance(notify.BundleWindow)
	if n := e.flush(); n != 2 {
		t.Fatalf("flushed %d, want 2", n)
	}
	// Once sent and deleted, the notices are not made again.
	if err := e.db.SetCursor(notify.NoticeConsumer, 0); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if n := e.consume(); n != 0 {
		t.Fatalf("read after the flush added %d", n)
	}
	e.clock.Advance(notify.BundleWindow)
	if n := e.flush(); n != 0 {
		t.Fatalf("flushed %d again", n)
	}
	if got := e.received(); len(got) != 2 {
		t.Fatalf("received %d messages, want 2", len(got))
	}
	// Later events still come through: a mention of Ada (not also a
	// comment on a post she follows), and the comment to Carol, who
	// follows the post since she commented.
	e.comment(e.bob, p, 0, "@ada one more thing.")
	if n := e.consume(); n != 2 {
		t.Fatalf("a new mention added %d, want 2", n)
	}
}

// TestNoticesStartAtHead: turning notices on over an existing database
// does not mail its history; an event older than MaxNoticeDelay is
// skipped.
func TestNoticesStartAtHead(t *testing.T) {
	dir := t.TempDir()
	clock := &mailClock{t: noticeT0}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	us, err := users.New(db, users.Options{Now: clock.Now, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := posts.New(db, posts.Options{Now: clock.Now, Mentions: us.ResolveHandles})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(email string) *users.User {
		u, err := us.Create(users.NewUser{Email: email, Name: email, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ada, bob := mk("ada@example.com"), mk("bob@example.com")
	if _, err := ps.CreateProject(ada.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Internal}, 0); err != nil {
		t.Fatal(err)
	}
	if err := ps.SetMember(ada.Actor(), "apollo", bob.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.CreatePost(bob.Actor(), "apollo", posts.PostInput{Title: "Old", Body: "@ada from before."}); err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(db, ps, us, notify.Options{Now: clock.Now, BaseURL: mailBaseURL})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := n.ConsumeEvents(context.Background()); got != 0 || err != nil {
		t.Fatalf("ConsumeEvents over the history = %d, %v", got, err)
	}
	if cur, _ := db.CursorOf(notify.NoticeConsumer); cur != db.Head() {
		t.Errorf("cursor %d, head %d", cur, db.Head())
	}
	// An event read more than MaxNoticeDelay after it happened.
	if _, err := ps.CreatePost(bob.Actor(), "apollo", posts.PostInput{Title: "Stale", Body: "@ada long ago."}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(notify.MaxNoticeDelay + time.Minute)
	if _, err := ps.CreatePost(bob.Actor(), "apollo", posts.PostInput{Title: "New", Body: "@ada now."}); err != nil {
		t.Fatal(err)
	}
	if got, err := n.ConsumeEvents(context.Background()); got != 1 || err != nil {
		t.Fatalf("ConsumeEvents = %d, %v; want the new mention only", got, err)
	}
}
