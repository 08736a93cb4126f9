package notify_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// The tests of tag and post subscriptions: the notices they make (into the
// real SMTP sink, MIME-parsed), bundled and never twice for one event, and
// the digest entries.

// TestFollowTagNotices: a tag followed Immediate tells of each new post
// with it, in every project the follower may read (also one they are not
// a member of), bundled with their other notices; a person who follows
// both the project and the tag hears once; the author never; a project the
// follower may not read tells nothing.
func TestFollowTagNotices(t *testing.T) {
	e := newNoticeEnv(t)
	dora := e.newUser("dora@example.com", "Dora Stake", "", "en") // no member of anything
	if err := e.n.SetTagMode(dora.Actor(), "#Security", notify.Immediate); err != nil {
		t.Fatal(err)
	}
	if m, err := e.n.TagMode(dora.ID, "security"); err != nil || m != notify.Immediate {
		t.Fatalf("TagMode %q, %v", m, err)
	}
	// Carol follows Apollo Immediate and the tag too: one notice.
	if err := e.n.SetProjectMode(e.carol.Actor(), "apollo", notify.Immediate); err != nil {
		t.Fatal(err)
	}
	if err := e.n.SetTagMode(e.carol.Actor(), "security", notify.Immediate); err != nil {
		t.Fatal(err)
	}
	// Bob, the author, follows the tag: nothing about his own post.
	if err := e.n.SetTagMode(e.bob.Actor(), "security", notify.Immediate); err != nil {
		t.Fatal(err)
	}
	// A private project Dora may not read.
	if _, err := e.posts.CreateProject(e.ada.Actor(), posts.ProjectInput{Slug: "vault", Name: "Vault", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.posts.SetMember(e.ada.Actor(), "vault", e.bob.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	e.post(e.bob, "vault", posts.PostInput{Title: "Vault keys", Body: "Secret.", Tags: []string{"security"}})
	badges := e.post(e.bob, "apollo", posts.PostInput{Title: "Badges", Body: "New badges from Monday.", Tags: []string{"security", "office"}})
	e.clock.Advance(30 * time.Second)
	e.post(e.bob, "apollo", posts.PostInput{Title: "Lunch", Body: "Pizza.", Tags: []string{"office"}})
	e.clock.Advance(30 * time.Second)
	// Dora is mentioned by Ada in a comment on the badges post within the
	// bundle window: one message with both.
	e.comment(e.ada, badges, 0, "@dora fyi.")
	e.consume()

	if got := e.pending(dora); len(got) != 2 || got[0].Kind != notify.NoticeTag || got[0].Tag != "security" || got[0].PostID != badges.ID || got[1].Kind != notify.NoticeMention {
		t.Fatalf("Dora's pending %+v, want the tag notice of Badges and the mention", got)
	}
	carol := e.pending(e.carol)
	var carolKinds []notify.NoticeKind
	for _, n := range carol {
		if n.PostID == badges.ID && n.CommentID == 0 {
			carolKinds = append(carolKinds, n.Kind)
		}
	}
	if !slices.Equal(carolKinds, []notify.NoticeKind{notify.NoticePost}) {
		t.Errorf("Carol's notices about the new post Badges: %v, want one, as a project follower", carolKinds)
	}
	for _, n := range e.pending(e.bob) {
		if n.Kind == notify.NoticeTag || n.Kind == notify.NoticePost {
			t.Errorf("Bob hears of his own post: %+v", n)
		}
	}

	e.clock.Advance(notify.BundleWindow)
	e.round()
	got := map[string]gotMail{}
	for _, m := range e.received() {
		if _, dup := got[m.To]; dup {
			t.Errorf("two messages to %s", m.To)
		}
		got[m.To] = m
	}
	m := got[dora.Email]
	if m.parsedMail == nil {
		t.Fatalf("no message for Dora; received %v", keysOf(got))
	}
	if m.Subject != "2 updates in Apollo: “Badges”" {
		t.Errorf("Dora's subject %q", m.Subject)
	}
	text := oneLine(m.Parts["text/plain"])
	for _, want := range []string{"Bob Builder published this post, tagged #security", "New badges from Monday.", "Ada Lovelace mentioned you in a comment"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dora's text part lacks %q:\n%s", want, m.Parts["text/plain"])
		}
	}
	if strings.Contains(text, "Vault") || strings.Contains(text, "Lunch") {
		t.Errorf("Dora hears of a post she may not read or that does not have the tag:\n%s", text)
	}
	if !contains(htmlLinks(t, m), e.postURL(badges)) {
		t.Errorf("no link to the post: %v", htmlLinks(t, m))
	}

	// One tag notice alone says so in the subject; Off stops them.
	e.post(e.ada, "apollo", posts.PostInput{Title: "Door codes", Body: "Changed.", Tags: []string{"security"}})
	e.clock.Advance(notify.BundleWindow)
	e.round()
	for _, m := range e.received() {
		if m.To == dora.Email && m.Subject != "Ada Lovelace published “Door codes” (#security)" {
			t.Errorf("subject %q", m.Subject)
		}
	}
	if err := e.n.SetTagMode(dora.Actor(), "security", notify.Off); err != nil {
		t.Fatal(err)
	}
	e.post(e.ada, "apollo", posts.PostInput{Title: "Fire drill", Body: "Friday.", Tags: []string{"security"}})
	e.consume()
	if got := e.pending(dora); len(got) != 0 {
		t.Errorf("Dora unfollowed the tag and still has %+v", got)
	}
}

// TestFollowPostNotices: the author, commenters and people mentioned
// follow a post (implicitly, Immediate) and hear of its new comments,
// bundled; an explicit choice wins (Off silences, Weekly moves it to the
// digest) and is not changed by a later comment; a person who is not part
// of the discussion may follow it; a mention in a comment is told once.
func TestFollowPostNotices(t *testing.T) {
	e := newNoticeEnv(t)
	dora := e.newUser("dora@example.com", "Dora Stake", "", "en")
	erin := e.newUser("erin@example.com", "Erin Quiet", "", "en")
	for _, u := range []*users.User{dora, erin} {
		if err := e.posts.SetMember(e.ada.Actor(), "apollo", u.ID, access.Viewer); err != nil {
			t.Fatal(err)
		}
	}
	p := e.post(e.ada, "apollo", posts.PostInput{Title: "Vendor choice", Body: "Vendor A or B? cc @erin"})
	e.comment(e.bob, p, 0, "B.")
	e.consume()
	// Ada (author) hears of Bob's comment; Erin (mentioned in the post)
	// too, as a follower; Carol and Dora do not follow it.
	if got := kinds(e.pending(e.ada)); !slices.Equal(got, []notify.NoticeKind{notify.NoticeComment}) {
		t.Errorf("Ada's pending %v", got)
	}
	if got := kinds(e.pending(erin)); !slices.Equal(got, []notify.NoticeKind{notify.NoticeMention, notify.NoticeFollow}) {
		t.Errorf("Erin's pending %v, want the mention and the comment", got)
	}
	for _, u := range []*users.User{e.carol, dora} {
		if got := e.pending(u); len(got) != 0 {
			t.Errorf("%s has %+v", u.Name, got)
		}
	}
	// The implicit follows are recorded and overridable.
	for _, c := range []struct {
		u    *users.User
		mode notify.Mode
		why  string
	}{
		{e.ada, notify.Immediate, notify.FollowAuthor},
		{e.bob, notify.Immediate, notify.FollowCommenter},
		{erin, notify.Immediate, notify.FollowMentioned},
		{e.carol, notify.Off, ""},
	} {
		if m, why, err := e.n.PostMode(c.u.ID, p); err != nil || m != c.mode || why != c.why {
			t.Errorf("%s follows %q (%q), %v; want %q (%q)", c.u.Name, m, why, err, c.mode, c.why)
		}
	}
	e.clock.Advance(notify.BundleWindow)
	e.round()
	e.received()

	// Erin chooses Off, Dora (not in the discussion) follows it, Bob
	// moves it to his weekly digest.
	if err := e.n.SetPostMode(erin.Actor(), p.ID, notify.Off); err != nil {
		t.Fatal(err)
	}
	if err := e.n.SetPostMode(dora.Actor(), p.ID, notify.Immediate); err != nil {
		t.Fatal(err)
	}
	if err := e.n.SetPostMode(e.bob.Actor(), p.ID, notify.Weekly); err != nil {
		t.Fatal(err)
	}
	// Erin comments: her explicit Off stays (a comment does not make her
	// follow again). Two comments in a row: one message for each person.
	c1 := e.comment(erin, p, 0, "Either is fine.")
	e.clock.Advance(20 * time.Second)
	c2 := e.comment(e.carol, p, 0, "@bob @dora what about the price?")
	e.consume()
	if m, why, _ := e.n.PostMode(erin.ID, p); m != notify.Off || why != "" {
		t.Errorf("Erin's explicit Off became %q (%q) after her comment", m, why)
	}
	// Dora is mentioned in the second comment: she hears of it once, as a
	// mention, not also as a comment on a post she follows.
	if got := kinds(e.pending(dora)); !slices.Equal(got, []notify.NoticeKind{notify.NoticeFollow, notify.NoticeMention}) {
		t.Errorf("Dora's pending %v, want the first comment and the mention in the second", got)
	}
	if got := kinds(e.pending(e.bob)); !slices.Equal(got, []notify.NoticeKind{notify.NoticeMention}) {
		t.Errorf("Bob's pending %v, want only the mention (the post is in his weekly digest)", got)
	}
	if got := e.pending(erin); len(got) != 0 {
		t.Errorf("Erin chose Off and has %+v", got)
	}
	e.clock.Advance(notify.BundleWindow)
	e.round()
	got := map[string][]gotMail{}
	for _, m := range e.received() {
		got[m.To] = append(got[m.To], m)
	}
	if len(got[dora.Email]) != 1 {
		t.Fatalf("Dora received %d messages, want one bundle", len(got[dora.Email]))
	}
	dm := got[dora.Email][0]
	if dm.Subject != "2 updates in Apollo: “Vendor choice”" {
		t.Errorf("Dora's subject %q", dm.Subject)
	}
	if text := oneLine(dm.Parts["text/plain"]); strings.Count(text, "commented on a post you follow") != 1 || strings.Count(text, "mentioned you in a comment") != 1 {
		t.Errorf("Dora's message, want one line per comment:\n%s", dm.Parts["text/plain"])
	}
	ref := "<post." + strconv.FormatUint(p.ID, 10) + "@blog.example.com>"
	if dm.Header.Get("References") != ref {
		t.Errorf("References %q, want %q", dm.Header.Get("References"), ref)
	}
	for _, id := range []uint64{c1.ID, c2.ID} {
		if link := e.postURL(p) + "#comment-" + strconv.FormatUint(id, 10); !contains(htmlLinks(t, dm), link) {
			t.Errorf("no link %s", link)
		}
	}
	if bm := got[e.bob.Email]; len(bm) != 1 || bm[0].Subject != "Carol Jones mentioned you in “Vendor choice”" || strings.Contains(bm[0].Parts["text/plain"], "commented") {
		t.Errorf("Bob's messages %v", bm)
	}

	// Errors.
	wantCode(t, e.n.SetPostMode(access.Anonymous, p.ID, notify.Immediate), apperr.Unauthorized)
	wantCode(t, e.n.SetPostMode(access.Actor{GuestOf: 1}, p.ID, notify.Immediate), apperr.Unauthorized)
	wantCode(t, e.n.SetPostMode(dora.Actor(), p.ID, notify.Mode("often")), apperr.Invalid)
	wantCode(t, e.n.SetPostMode(dora.Actor(), 9999, notify.Immediate), apperr.NotFound)
	wantCode(t, e.n.SetTagMode(dora.Actor(), "not a tag!", notify.Immediate), apperr.Invalid)
	wantCode(t, e.n.SetTagMode(access.Anonymous, "x", notify.Immediate), apperr.Unauthorized)

	// FollowedPosts lists explicit and implicit follows, newest first.
	list, total, err := e.n.FollowedPosts(erin.ID, 0)
	if err != nil || total != 1 || len(list) != 1 || list[0].Mode != notify.Off || !list[0].Explicit() {
		t.Errorf("Erin's followed posts %+v (%d), %v", list, total, err)
	}
}

// TestFollowedInDigest: the digest lists a followed tag's posts in
// projects it does not list already, and the followed posts with new
// comments by others; each in the digest of its mode (weekly or daily).
func TestFollowedInDigest(t *testing.T) {
	e := newDigestEnv(t)
	w := week44(t)
	e.at(w.Start.Add(-48 * time.Hour))
	olive := e.user("olive@example.com", "Olive Owner", "")
	max := e.user("max@example.com", "Max Manager", "")
	nina := e.user("nina@example.com", "Nina Writer", "")
	e.project(olive, "apollo", "Apollo", access.Internal)
	e.project(olive, "hermes", "Hermes", access.Internal)
	e.project(olive, "vault", "Vault", access.Private)
	e.member(olive, "apollo", max, access.Member)  // Max follows Apollo weekly as a member
	e.member(olive, "hermes", nina, access.Member) // Max does not follow Hermes
	old := e.post(olive, "hermes", posts.PostInput{Title: "Old thread", Body: "Discuss."})
	quiet := e.post(olive, "hermes", posts.PostInput{Title: "Quiet thread", Body: "Nobody comes."})
	daily := e.post(olive, "hermes", posts.PostInput{Title: "Daily thread", Body: "Every day."})
	if err := e.n.SetTagMode(max.Actor(), "release", notify.Weekly); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p *posts.Post
		m notify.Mode
	}{{old, notify.Weekly}, {quiet, notify.Weekly}, {daily, notify.Daily}} {
		if err := e.n.SetPostMode(max.Actor(), c.p.ID, c.m); err != nil {
			t.Fatal(err)
		}
	}
	comment := func(u *users.User, p *posts.Post, body string) {
		t.Helper()
		if _, err := e.posts.AddComment(u.Actor(), p.ID, posts.CommentInput{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	comment(nina, old, "Before the window.")
	e.at(w.Start.Add(2 * time.Hour))
	inApollo := e.post(olive, "apollo", posts.PostInput{Title: "Apollo release", Body: "Out.", Tags: []string{"release"}})
	inHermes := e.post(nina, "hermes", posts.PostInput{Title: "Hermes release", Body: "Out too.", Tags: []string{"release"}})
	e.post(olive, "vault", posts.PostInput{Title: "Vault release", Body: "Secret.", Tags: []string{"release"}})
	comment(nina, old, "First in the window.")
	comment(olive, old, "Second.")
	comment(max, old, "Max's own.")
	comment(max, quiet, "Only Max speaks here.")
	e.at(w.Start.Add(26 * time.Hour))
	comment(nina, daily, "A daily word.")
	e.at(w.End.Add(time.Hour))

	d := e.digest(max, w)
	if got := projectSlugs(d); !slices.Equal(got, []string{"apollo"}) {
		t.Errorf("projects %v", got)
	}
	if len(d.Tags) != 1 || d.Tags[0].Tag != "release" || len(d.Tags[0].Posts) != 1 || d.Tags[0].Posts[0].Post.ID != inHermes.ID {
		t.Fatalf("tags %+v, want #release with Hermes release only (Apollo's is under Apollo; Vault is unreadable)", d.Tags)
	}
	if tp := d.Tags[0].Posts[0]; tp.Project == nil || tp.Project.Slug != "hermes" || tp.Author == nil || tp.Author.ID != nina.ID {
		t.Errorf("tag post %+v", tp)
	}
	if !slices.Contains(postTitles(findProject(t, d, "apollo").Posts), inApollo.Title) {
		t.Errorf("Apollo does not list its release")
	}
	if len(d.Discussions) != 1 || d.Discussions[0].Post.ID != old.ID || d.Discussions[0].Comments != 2 ||
		!slices.Equal(d.Discussions[0].Commenters, []string{"Nina Writer", "Olive Owner"}) {
		t.Fatalf("discussions %+v, want Old thread with 2 comments by others", d.Discussions)
	}

	m, err := e.n.ComposeDigest(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Subject, "1 post with a tag you follow") || !strings.Contains(m.Subject, "1 discussion you follow") {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Tags you follow", "#release:", "Hermes release (in Hermes)", "Discussions you follow", "Old thread (in Hermes)", "2 new comments: Nina Writer, Olive Owner"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, m.Text)
		}
	}

	// The daily digest of the day after the window's start holds the
	// post followed daily, and nothing weekly.
	day := notify.DailyWindow(w.Start.Add(48*time.Hour), time.UTC, 8)
	dd := e.digest(max, day)
	if len(dd.Projects) != 0 || len(dd.Tags) != 0 || len(dd.Waiting) != 0 {
		t.Errorf("daily digest lists weekly things: %+v", dd)
	}
	if len(dd.Discussions) != 1 || dd.Discussions[0].Post.ID != daily.ID || dd.Discussions[0].Comments != 1 {
		t.Errorf("daily discussions %+v", dd.Discussions)
	}
	if dm, err := e.n.ComposeDigest(dd); err != nil || !strings.HasPrefix(dm.Subject, "Your daily digest: 1 discussion you follow (") {
		t.Errorf("daily subject %q, %v", dm.Subject, err)
	}
}
