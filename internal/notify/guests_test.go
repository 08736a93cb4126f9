package notify_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// guestLink finds the magic link in a message's text part.
func guestLink(t *testing.T, m *parsedMail) string {
	t.Helper()
	for _, f := range strings.Fields(m.Parts["text/plain"]) {
		if strings.HasPrefix(f, mailBaseURL+"/guest/") {
			return f
		}
	}
	t.Fatalf("no magic link in:\n%s", m.Parts["text/plain"])
	return ""
}

// TestGuestSubscriber: an owner adds an outside address to a private
// project; the guest gets a welcome message with a magic link and a feed
// link, then the project's weekly digest at 08:00 in the owner's zone,
// once per window (also across a restart), with a one-click unsubscribe
// that works without a login; renewing the link or removing the guest
// kills the old link at once.
func TestGuestSubscriber(t *testing.T) {
	sink := startSink(t)
	mailer, err := notify.NewSMTPMailer(sink.url(), "Projblog <projblog@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	e := newMailEnv(t, mailer)
	ctx := context.Background()
	e.clock.Set(time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC))
	olive := e.newUser("olive@example.com", "Olive Owner", "Europe/Paris", "en")
	mia := e.newUser("mia@example.com", "Mia Member", "", "en")
	if _, err := e.posts.CreateProject(olive.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.posts.SetMember(olive.Actor(), "apollo", mia.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	if _, err := e.posts.CreateProject(olive.Actor(), posts.ProjectInput{Slug: "hermes", Name: "Hermes", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}

	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			actor access.Actor
			slug  string
			email string
			mode  notify.Mode
			code  apperr.Code
			field string
		}{
			{"Member", mia.Actor(), "apollo", "x@outside.example", "", apperr.Forbidden, ""},
			{"Anonymous", access.Anonymous, "apollo", "x@outside.example", "", apperr.NotFound, ""},
			{"NotAnAddress", olive.Actor(), "apollo", "not an address", "", apperr.Invalid, "guest_email"},
			{"WithName", olive.Actor(), "apollo", "Client <x@outside.example>", "", apperr.Invalid, "guest_email"},
			{"AnAccount", olive.Actor(), "apollo", "MIA@example.com", "", apperr.Invalid, "guest_email"},
			{"BadMode", olive.Actor(), "apollo", "x@outside.example", notify.Immediate, apperr.Invalid, "guest_mode"},
			{"NoProject", olive.Actor(), "nope", "x@outside.example", "", apperr.NotFound, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.n.AddGuest(c.actor, c.slug, c.email, c.mode)
				var ae *apperr.Error
				if !apperr.Is(err, c.code) || (c.field != "" && (!errorsAs(err, &ae) || ae.Field != c.field)) {
					t.Fatalf("error %v, want %s on %q", err, c.code, c.field)
				}
			})
		}
		if n := len(e.outbox()); n != 0 {
			t.Fatalf("refused additions queued %d messages", n)
		}
	})

	g, err := e.n.AddGuest(olive.Actor(), "apollo", "  Client@Outside.example ", "")
	if err != nil {
		t.Fatal(err)
	}
	if g.Email != "client@outside.example" || g.Mode != notify.Weekly || g.TimeZone != "Europe/Paris" {
		t.Fatalf("guest %+v", g)
	}
	if _, err := e.n.AddGuest(olive.Actor(), "apollo", "client@outside.example", ""); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("adding the address twice: %v", err)
	}
	if list, err := e.n.Guests(olive.Actor(), "apollo"); err != nil || len(list) != 1 || list[0].ID != g.ID {
		t.Fatalf("Guests = %+v, %v", list, err)
	}
	if _, err := e.n.Guests(mia.Actor(), "apollo"); !apperr.Is(err, apperr.Forbidden) {
		t.Fatalf("a member lists the guests: %v", err)
	}
	// The window that ended before the guest was added is not sent: the
	// welcome message comes instead.
	if _, err := e.n.RunDigests(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.n.Enqueued(notify.GuestDigestKey(g.ID, "2026-W46")); ok {
		t.Fatal("the guest got the digest of the week before they were added")
	}

	// The welcome message.
	if _, failed, err := e.n.DeliverDue(ctx); failed != 0 || err != nil {
		t.Fatalf("DeliverDue: %d, %v", failed, err)
	}
	msgs := sink.messages()
	if len(msgs) != 1 || msgs[0].To[0] != "client@outside.example" {
		t.Fatalf("received %d messages", len(msgs))
	}
	welcome := parseMail(t, msgs[0].Data)
	if want := "Olive Owner invited you to follow Apollo"; welcome.Subject != want {
		t.Errorf("subject %q, want %q", welcome.Subject, want)
	}
	link := guestLink(t, welcome)
	token := strings.TrimPrefix(link, mailBaseURL+"/guest/")
	if !strings.HasPrefix(token, notify.GuestTokenPrefix) {
		t.Fatalf("token %q", token)
	}
	if !strings.Contains(welcome.Parts["text/plain"], mailBaseURL+"/p/apollo/feed.atom?token="+token) {
		t.Errorf("no feed link in:\n%s", welcome.Parts["text/plain"])
	}
	if !contains(attrs(mustHTML(t, welcome), "a", "href"), link) {
		t.Errorf("the HTML part has no magic link")
	}
	if !strings.Contains(oneLine(welcome.Parts["text/plain"]), "Every Monday at 08:00") {
		t.Errorf("the schedule is not said:\n%s", welcome.Parts["text/plain"])
	}
	if welcome.Header.Get("List-Id") != "<apollo.blog.example.com>" || welcome.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers %v", welcome.Header)
	}
	grant, err := e.n.GuestByToken(token)
	if err != nil || grant.ProjectID != g.ProjectID || grant.GuestID != g.ID || grant.ProjectSlug != "apollo" || grant.Actor() != (access.Actor{GuestOf: g.ProjectID}) {
		t.Fatalf("GuestByToken = %+v, %v", grant, err)
	}
	for _, bad := range []string{"", "pbg_", token[:len(token)-1] + "a", strings.ToUpper(token), "pbf_" + token[4:]} {
		if bad == token {
			continue
		}
		if _, err := e.n.GuestByToken(bad); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("GuestByToken(%q): %v, want NotFound", bad, err)
		}
	}

	// The week's news, and the digest on Monday 08:00 in Paris (07:00Z).
	e.clock.Set(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	news, err := e.posts.CreatePost(mia.Actor(), "apollo", posts.PostInput{Title: "Engines delivered", Body: "All **four**."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.posts.CreatePost(olive.Actor(), "hermes", posts.PostInput{Title: "Hermes secret", Body: "Not for guests."}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 11, 30, 6, 59, 0, 0, time.UTC))
	if _, err := e.n.RunDigests(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.n.Enqueued(notify.GuestDigestKey(g.ID, "2026-W48")); ok {
		t.Fatal("the guest's digest went before 08:00 in their zone")
	}
	e.clock.Set(time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC))
	for i := 0; i < 2; i++ {
		if _, err := e.n.RunDigests(ctx); err != nil {
			t.Fatal(err)
		}
		e.reopen()
	}
	if _, failed, err := e.n.DeliverDue(ctx); failed != 0 || err != nil {
		t.Fatalf("DeliverDue: %d, %v", failed, err)
	}
	var digest *parsedMail
	for _, m := range sink.messages()[1:] {
		if m.To[0] == "client@outside.example" {
			if digest != nil {
				t.Fatal("the guest received two digests")
			}
			digest = parseMail(t, m.Data)
		}
	}
	if digest == nil {
		t.Fatal("no digest for the guest")
	}
	if want := "Apollo, weekly digest: 1 new post (2026-W48)"; digest.Subject != want {
		t.Errorf("subject %q, want %q", digest.Subject, want)
	}
	if want := "<digest.guest." + strconv.FormatUint(g.ID, 10) + ".2026-W48@blog.example.com>"; digest.Header.Get("Message-Id") != want {
		t.Errorf("Message-ID %q, want %q", digest.Header.Get("Message-Id"), want)
	}
	text := oneLine(digest.Parts["text/plain"])
	for _, want := range []string{"Hello,", "Here is what happened in Apollo from 23 November 2026, 08:00 to 30 November 2026, 08:00",
		news.Title, "by Mia Member", "Read Apollo in your browser: " + link, "Your personal feed: " + mailBaseURL + "/p/apollo/feed.atom?token=" + token} {
		if !strings.Contains(text, want) {
			t.Errorf("the guest's digest lacks %q:\n%s", want, digest.Parts["text/plain"])
		}
	}
	for _, not := range []string{"Hermes", "/settings", "(your post)"} {
		if strings.Contains(text, not) {
			t.Errorf("the guest's digest shows %q:\n%s", not, digest.Parts["text/plain"])
		}
	}
	if digest.Header.Get("List-Id") != "<apollo.blog.example.com>" || digest.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("headers %v", digest.Header)
	}

	// One-click unsubscribe, no login: the guest stays listed, marked,
	// and receives no more digests.
	unsub := strings.TrimSuffix(strings.TrimPrefix(digest.Header.Get("List-Unsubscribe"), "<"+mailBaseURL+"/unsubscribe/"), ">")
	if !notify.IsGuestUnsubscribeToken(unsub) {
		t.Fatalf("List-Unsubscribe %q", digest.Header.Get("List-Unsubscribe"))
	}
	who, project, err := e.n.GuestForUnsubscribe(unsub)
	if err != nil || who.ID != g.ID || project != "Apollo" {
		t.Fatalf("GuestForUnsubscribe = %+v, %q, %v", who, project, err)
	}
	if _, _, err := e.n.GuestForUnsubscribe(unsub[:len(unsub)-2] + "AA"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("an altered token: %v", err)
	}
	if _, err := e.n.UserForUnsubscribe(unsub); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("a guest's token names a member: %v", err)
	}
	if err := e.n.SetGuestEmailOff(who); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.n.Guests(olive.Actor(), "apollo"); len(list) != 1 || !list[0].EmailOff {
		t.Errorf("after unsubscribing: %+v", list)
	}
	e.clock.Set(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	if _, err := e.posts.CreatePost(mia.Actor(), "apollo", posts.PostInput{Title: "More news", Body: "Yes."}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC))
	if _, err := e.n.RunDigests(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.n.Enqueued(notify.GuestDigestKey(g.ID, "2026-W49")); ok {
		t.Error("a digest after the guest unsubscribed")
	}

	// Renewing the link kills the old one and mails the new one.
	if err := e.n.RenewGuestLink(olive.Actor(), "apollo", g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.GuestByToken(token); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("the old token still works after a renewal: %v", err)
	}
	before := len(sink.messages())
	if _, failed, err := e.n.DeliverDue(ctx); failed != 0 || err != nil {
		t.Fatalf("DeliverDue: %d, %v", failed, err)
	}
	var renewed []sinkMsg
	for _, m := range sink.messages()[before:] {
		if m.To[0] == g.Email {
			renewed = append(renewed, m)
		}
	}
	if len(renewed) != 1 {
		t.Fatalf("%d messages to the guest after the renewal", len(renewed))
	}
	token2 := strings.TrimPrefix(guestLink(t, parseMail(t, renewed[0].Data)), mailBaseURL+"/guest/")
	if token2 == token {
		t.Fatal("the renewed link is the old one")
	}
	if _, err := e.n.GuestByToken(token2); err != nil {
		t.Fatal(err)
	}

	// Removing the guest kills their link and unsubscribe link at once.
	if err := e.n.RemoveGuest(mia.Actor(), "apollo", g.ID); !apperr.Is(err, apperr.Forbidden) {
		t.Fatalf("a member removes a guest: %v", err)
	}
	if err := e.n.RemoveGuest(olive.Actor(), "hermes", g.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("removing through another project: %v", err)
	}
	if err := e.n.RemoveGuest(olive.Actor(), "apollo", g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.GuestByToken(token2); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("the token works after the removal: %v", err)
	}
	if _, _, err := e.n.GuestForUnsubscribe(unsub); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("the unsubscribe link works after the removal: %v", err)
	}
	if countEvents(t, e.db, notify.EventGuestAdded) != 1 || countEvents(t, e.db, notify.EventGuestRemoved) != 1 ||
		countEvents(t, e.db, notify.EventGuestRenewed) != 1 || countEvents(t, e.db, notify.EventGuestEmailOff) != 1 {
		t.Error("the guest events are not in the log")
	}
}

// TestGuestLimit: a project takes at most MaxGuests guests.
func TestGuestLimit(t *testing.T) {
	// Without fsync: 200 additions are 200 write transactions.
	db, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	us, err := users.New(db, users.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := posts.New(db, posts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(db, ps, us, notify.Options{BaseURL: "http://projblog.test"})
	if err != nil {
		t.Fatal(err)
	}
	olive, err := us.Create(users.NewUser{Email: "olive@example.com", Name: "Olive Owner", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.CreateProject(olive.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < notify.MaxGuests; i++ {
		if _, err := n.AddGuest(olive.Actor(), "apollo", fmt.Sprintf("g%d@outside.example", i), notify.Daily); err != nil {
			t.Fatalf("guest %d: %v", i, err)
		}
	}
	_, err = n.AddGuest(olive.Actor(), "apollo", "one-more@outside.example", "")
	var ae *apperr.Error
	if !apperr.Is(err, apperr.Conflict) || !errorsAs(err, &ae) || ae.Field != "guest_email" || !strings.Contains(ae.Message, "200") {
		t.Fatalf("guest %d: %v, want Conflict naming the limit", notify.MaxGuests+1, err)
	}
}

// mustHTML parses the HTML part of a message.
func mustHTML(t *testing.T, m *parsedMail) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(m.Parts["text/html"]))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
