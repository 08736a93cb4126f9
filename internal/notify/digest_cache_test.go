package notify

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// TestDigestCache: a project's part of the digest is built once per
// window and head and shared between its readers, each of whom still gets
// their own "yours", view and overdue; a write makes it stale; an open
// window (the web page's week so far) is served for any end after the
// project's newest news.
func TestDigestCache(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // Monday
	clock := func() time.Time { return now }
	us, err := users.New(db, users.Options{Now: clock, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := posts.New(db, posts.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(db, ps, us, Options{Now: clock, BaseURL: "http://projblog.test"})
	if err != nil {
		t.Fatal(err)
	}
	olive, _ := us.Create(users.NewUser{Email: "olive@example.com", Name: "Olive", Password: "correct horse battery"})
	max, _ := us.Create(users.NewUser{Email: "max@example.com", Name: "Max", Password: "correct horse battery"})
	if _, err := ps.CreateProject(olive.Actor(), posts.ProjectInput{Slug: "apollo", Name: "Apollo", Visibility: access.Private}, 0); err != nil {
		t.Fatal(err)
	}
	if err := ps.SetMember(olive.Actor(), "apollo", max.ID, access.Viewer); err != nil {
		t.Fatal(err)
	}
	// Due every Friday at 09:00: overdue from Friday 27 November on.
	if err := ps.SetCadence(olive.Actor(), "apollo", &posts.Cadence{Every: posts.EveryWeek, Weekday: time.Friday, Hour: 9}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	first, err := ps.CreatePost(olive.Actor(), "apollo", posts.PostInput{Title: "First", Body: "One."})
	if err != nil {
		t.Fatal(err)
	}
	entries := func() int {
		s.digests.mu.Lock()
		defer s.digests.mu.Unlock()
		return len(s.digests.items)
	}
	built := func() int {
		s.digests.mu.Lock()
		defer s.digests.mu.Unlock()
		return s.digests.built
	}
	build := func(u *users.User, w Window) *ProjectDigest {
		t.Helper()
		d, err := s.BuildDigest(u.ID, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Projects) != 1 {
			t.Fatalf("%s: %d projects", u.Name, len(d.Projects))
		}
		return &d.Projects[0]
	}

	// The week so far, as the web page asks for it: its end moves with
	// every request.
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	soFar := func() Window { return Window{Start: start, End: now.Add(time.Nanosecond)} }
	m := build(max, soFar())
	if entries() != 1 || len(m.Posts) != 1 || m.Posts[0].Mine || m.Project.Role != access.Viewer || m.Overdue {
		t.Fatalf("Max's part %+v, %d entries", m, entries())
	}
	o := build(olive, soFar())
	if entries() != 1 || built() != 1 {
		t.Fatalf("%d entries, %d builds after Olive's digest: the part was built again", entries(), built())
	}
	if !o.Posts[0].Mine || o.Project.Role != access.Owner || o.Posts[0].Author == nil || o.Posts[0].Author.ID != olive.ID {
		t.Errorf("Olive's part %+v", o.Posts[0])
	}
	if m.Posts[0].Mine || m.Project.Role != access.Viewer {
		t.Error("Olive's digest changed Max's")
	}
	// Later, without a write: the same entry serves a later end, and the
	// overdue status follows the clock.
	now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if m := build(max, soFar()); built() != 1 || !m.Overdue || len(m.Posts) != 1 {
		t.Errorf("on Friday: overdue %v, %d posts, %d builds", m.Overdue, len(m.Posts), built())
	}
	// A write: the next digest sees it.
	second, err := ps.CreatePost(olive.Actor(), "apollo", posts.PostInput{Title: "Second", Body: "Two."})
	if err != nil {
		t.Fatal(err)
	}
	if m := build(max, soFar()); len(m.Posts) != 2 || m.Posts[0].Post.ID != second.ID {
		t.Errorf("after a new post: %d posts", len(m.Posts))
	}
	// A closed window that ends before the newest post: an exact key.
	early := Window{Start: start, End: first.PublishedAt.Add(time.Minute)}
	if m := build(max, early); len(m.Posts) != 1 || m.Posts[0].Post.ID != first.ID {
		t.Errorf("the early window: %d posts", len(m.Posts))
	}
	if m := build(max, soFar()); len(m.Posts) != 2 {
		t.Errorf("the open window after the early one: %d posts", len(m.Posts))
	}
	if entries() != 2 || built() != 3 {
		t.Errorf("%d entries, %d builds; want the open and the early one, 3 builds in all", entries(), built())
	}
	// A comment changes a post's count: stale at once.
	if _, err := ps.AddComment(max.Actor(), first.ID, posts.CommentInput{Body: "Nice."}); err != nil {
		t.Fatal(err)
	}
	if m := build(max, soFar()); m.Posts[1].Comments != 1 {
		t.Errorf("comments %d after a comment", m.Posts[1].Comments)
	}
}
