package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// schedCast is a small team around the project Apollo in the week
// 2026-W48 (Monday 23 to Monday 30 November 2026):
//
//	alice  owner, English, UTC: writes a status update (at risk)
//	bruno  member, French, Europe/Paris: writes a post; asked to acknowledge
//	carol  member, e-mail off (unsubscribed)
//	dave   member, mentions only
//	frank  member, deactivated
//	erin   owner of Quiet, where nothing happens: an empty digest
type schedCast struct {
	alice, bruno, carol, dave, erin, frank *users.User
	launch                                 *posts.Post
}

func newSchedCast(t *testing.T, e *mailEnv) *schedCast {
	t.Helper()
	c := &schedCast{
		alice: e.newUser("alice@example.com", "Alice Martin", "", "en"),
		bruno: e.newUser("bruno@example.com", "Bruno Dupont", "Europe/Paris", "fr"),
		carol: e.newUser("carol@example.com", "Carol Off", "", ""),
		dave:  e.newUser("dave@example.com", "Dave Mentions", "", ""),
		erin:  e.newUser("erin@example.com", "Erin Quiet", "", ""),
		frank: e.newUser("frank@example.com", "Frank Gone", "", ""),
	}
	// Projects and members exist before the week starts.
	e.clock.Set(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	if _, err := e.posts.CreateProject(c.alice.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Internal}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.posts.CreateProject(c.erin.Actor(), posts.ProjectInput{Slug: "quiet", Name: "Quiet", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*users.User{c.bruno, c.carol, c.dave, c.frank} {
		if err := e.posts.SetMember(c.alice.Actor(), "apollo", u.ID, access.Member); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.n.SaveSettings(c.carol.ID, notify.Settings{DigestHour: 8, WeeklyDay: time.Monday, EmailOff: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.n.SaveSettings(c.dave.ID, notify.Settings{DigestHour: 8, WeeklyDay: time.Monday, MentionsOnly: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.users.SetActive(c.frank.ID, false); err != nil {
		t.Fatal(err)
	}
	// The week's news.
	e.clock.Set(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	var err error
	c.launch, err = e.posts.CreatePost(c.alice.Actor(), "apollo", posts.PostInput{Title: "Launch moved to March",
		Body: "The engines come late.", Health: posts.AtRisk, AckUserIDs: []uint64{c.bruno.ID}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC))
	if _, err := e.posts.CreatePost(c.bruno.Actor(), "apollo", posts.PostInput{Title: "Test bench ready",
		Body: "The bench is **ready**."}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRunDigestsEndToEnd runs the scheduler over real posts into a real
// SMTP server: one digest per person and window, in their time zone and
// language, whatever the number of runs and restarts.
func TestRunDigestsEndToEnd(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "Projblog <projblog@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)
	c := newSchedCast(t, e)
	ctx := context.Background()
	key := func(u *users.User, label string) string { return notify.DigestKey(u.ID, label) }
	run := func(want int) {
		t.Helper()
		n, err := e.n.RunDigests(ctx)
		if err != nil || n != want {
			t.Fatalf("at %v: RunDigests = %d, %v; want %d", e.clock.Now(), n, err, want)
		}
	}

	// Monday 30 November, 07:30 UTC: 08:30 in Paris, so Bruno's window has
	// ended; 07:30 in UTC, so Alice's has not.
	e.clock.Set(time.Date(2026, 11, 30, 7, 30, 0, 0, time.UTC))
	run(1)
	if items := e.outbox(); len(items) != 1 || items[0].Key != key(c.bruno, "2026-W48") {
		t.Fatalf("outbox %+v, want Bruno's digest", items)
	}
	run(0) // every minute: nothing more

	e.clock.Set(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	run(1) // Alice's, at 08:00 UTC exactly
	for i := 0; i < 3; i++ {
		e.clock.Advance(time.Minute)
		run(0)
	}
	e.reopen()
	run(0)

	for _, u := range []*users.User{c.carol, c.dave, c.frank} {
		if ok, _ := e.n.Enqueued(key(u, "2026-W48")); ok {
			t.Errorf("%s got a digest", u.Name)
		}
	}
	// Erin's digest was empty: recorded, not enqueued.
	if ok, _ := e.n.Enqueued(key(c.erin, "2026-W48")); !ok {
		t.Error("Erin's empty digest is not recorded (it would be built every minute)")
	}
	if n := len(e.outbox()); n != 2 {
		t.Fatalf("outbox has %d messages, want 2", n)
	}

	sent, failed, err := e.n.DeliverDue(ctx)
	if sent != 2 || failed != 0 || err != nil {
		t.Fatalf("DeliverDue = %d, %d, %v", sent, failed, err)
	}
	got := map[string]*parsedMail{}
	for _, m := range sink.messages() {
		got[m.To[0]] = parseMail(t, m.Data)
	}
	if len(got) != 2 {
		t.Fatalf("received mail for %v", keys2(got))
	}

	alice := got["alice@example.com"]
	if alice == nil {
		t.Fatal("no mail for Alice")
	}
	if want := "Your weekly digest: 1 project, 1 at risk (2026-W48)"; alice.Subject != want {
		t.Errorf("Alice's subject %q, want %q", alice.Subject, want)
	}
	text := oneLine(alice.Parts["text/plain"])
	for _, want := range []string{"Launch moved to March", "Test bench ready", "(your post)", "At risk",
		"from 23 November 2026, 08:00 to 30 November 2026, 08:00"} {
		if !strings.Contains(text, want) {
			t.Errorf("Alice's digest lacks %q:\n%s", want, alice.Parts["text/plain"])
		}
	}
	if alice.Header.Get("Message-Id") != "<digest."+strconv.FormatUint(c.alice.ID, 10)+".2026-W48@blog.example.com>" {
		t.Errorf("Message-ID %q", alice.Header.Get("Message-Id"))
	}

	bruno := got["bruno@example.com"]
	if bruno == nil {
		t.Fatal("no mail for Bruno")
	}
	if want := "Votre résumé de la semaine : 1 projet, 1 à risque, 1 en attente de vous (2026-W48)"; bruno.Subject != want {
		t.Errorf("Bruno's subject %q, want %q", bruno.Subject, want)
	}
	text = oneLine(bruno.Parts["text/plain"])
	for _, want := range []string{"En attente de vous", "du 23 novembre 2026 à 8 h 00 au 30 novembre 2026 à 8 h 00",
		"par Alice Martin, le 25 novembre 2026 à 11 h 00", "(votre billet)"} {
		if !strings.Contains(text, want) {
			t.Errorf("Bruno's digest lacks %q:\n%s", want, bruno.Parts["text/plain"])
		}
	}
	doc, err := html.Parse(strings.NewReader(bruno.Parts["text/html"]))
	if err != nil {
		t.Fatal(err)
	}
	links := attrs(doc, "a", "href")
	for _, want := range []string{mailBaseURL + "/p/apollo/" + c.launch.Slug, mailBaseURL + "/p/apollo/" + c.launch.Slug + "#acks"} {
		if !contains(links, want) {
			t.Errorf("Bruno's digest has no link %s: %v", want, links)
		}
	}
	if id, err := e.n.UserForUnsubscribe(strings.TrimSuffix(strings.TrimPrefix(bruno.Header.Get("List-Unsubscribe"), "<"+mailBaseURL+"/unsubscribe/"), ">")); err != nil || id != c.bruno.ID {
		t.Errorf("Bruno's List-Unsubscribe leads to %d, %v", id, err)
	}

	// The next week: Bruno unsubscribes with one click; Alice gets W49.
	if err := e.n.SetEmailOff(c.bruno.ID, true); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	if _, err := e.posts.CreatePost(c.alice.Actor(), "apollo", posts.PostInput{Title: "Engines ordered", Body: "Done."}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	run(1)
	if ok, _ := e.n.Enqueued(key(c.alice, "2026-W49")); !ok {
		t.Error("Alice's W49 digest is not enqueued")
	}
	if ok, _ := e.n.Enqueued(key(c.bruno, "2026-W49")); ok {
		t.Error("Bruno got a digest after unsubscribing")
	}
}

// TestRun: the loop enqueues and delivers on its own (two digests and
// the notice of Bruno's acknowledgement request), then stops with its
// context.
func TestRun(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "projblog@example.com")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)
	newSchedCast(t, e)
	e.clock.Set(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))

	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.n.Run(ctx, 5*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	deadline := time.After(10 * time.Second)
	for len(sink.messages()) < 3 {
		select {
		case <-sink.arrived:
		case <-deadline:
			t.Fatalf("only %d messages arrived", len(sink.messages()))
		}
	}
	time.Sleep(30 * time.Millisecond) // a few more rounds: nothing more may come
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	if n := len(sink.messages()); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
	var notices int
	for _, m := range sink.messages() {
		if pm := parseMail(t, m.Data); strings.HasPrefix(pm.Header.Get("Message-Id"), "<notice.") {
			notices++
			if want := "Alice Martin vous demande de confirmer la lecture de «\u00a0Launch moved to March\u00a0»"; pm.Subject != want || m.To[0] != "bruno@example.com" {
				t.Errorf("notice to %v: %q, want %q to Bruno", m.To, pm.Subject, want)
			}
		}
	}
	if notices != 1 {
		t.Errorf("%d notices, want 1", notices)
	}
	out := logs.String()
	if !strings.Contains(out, "digests enqueued") || !strings.Contains(out, "notices enqueued") || !strings.Contains(out, "messages sent") {
		t.Errorf("log:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func keys2(m map[string]*parsedMail) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// BenchmarkRunDigestsNothingDue measures a scheduler round in the common
// case, every minute of the week but one: every person's digest for the
// last window is already done, so RunDigests only reads.
func BenchmarkRunDigestsNothingDue(b *testing.B) {
	for _, people := range []int{100, 1000} {
		b.Run(strconv.Itoa(people), func(b *testing.B) {
			e := newMailEnv(b, nil)
			for i := 0; i < people; i++ {
				if _, err := e.users.Create(users.NewUser{Email: "p" + strconv.Itoa(i) + "@example.com",
					Name: "Person " + strconv.Itoa(i), Password: "correct horse battery"}); err != nil {
					b.Fatal(err)
				}
			}
			e.clock.Set(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
			if _, err := e.n.RunDigests(context.Background()); err != nil { // records every empty digest
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if n, err := e.n.RunDigests(context.Background()); n != 0 || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}
