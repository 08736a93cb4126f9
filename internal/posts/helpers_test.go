package posts

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// The cast of the tests. Every project made by fixture.project has owner
// as its owner, member and member2 as members and viewer as a viewer.
var (
	admin    = access.Actor{UserID: 1, Admin: true}
	owner    = access.Actor{UserID: 2}
	member   = access.Actor{UserID: 3}
	member2  = access.Actor{UserID: 4}
	viewer   = access.Actor{UserID: 5}
	outsider = access.Actor{UserID: 6}
	anon     = access.Anonymous
)

var t0 = time.Date(2025, time.March, 10, 9, 0, 0, 0, time.UTC)

func mustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// clock is a fixed clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	tb  testing.TB
	db  *store.DB
	s   *Service
	clk *clock
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	db := mustOpenDB(tb)
	clk := &clock{t: t0}
	s, err := New(db, Options{Now: clk.Now})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return &fixture{tb: tb, db: db, s: s, clk: clk}
}

// project creates a project with the standard cast of members.
func (f *fixture) project(slug string, vis access.Visibility) *Project {
	f.tb.Helper()
	p, err := f.s.CreateProject(owner, ProjectInput{Slug: slug, Name: "Project " + slug, Visibility: vis}, 0)
	if err != nil {
		f.tb.Fatalf("CreateProject(%s): %v", slug, err)
	}
	for _, m := range []struct {
		a    access.Actor
		role access.Role
	}{{member, access.Member}, {member2, access.Member}, {viewer, access.Viewer}} {
		if err := f.s.SetMember(owner, slug, m.a.UserID, m.role); err != nil {
			f.tb.Fatalf("SetMember(%s, %d): %v", slug, m.a.UserID, err)
		}
	}
	return p
}

// post creates a post one minute after the previous clock reading.
func (f *fixture) post(actor access.Actor, project string, in PostInput) *Post {
	f.tb.Helper()
	f.clk.Advance(time.Minute)
	if in.Body == "" {
		in.Body = "Body of " + in.Title + ".\n\nSecond paragraph."
	}
	p, err := f.s.CreatePost(actor, project, in)
	if err != nil {
		f.tb.Fatalf("CreatePost(%q): %v", in.Title, err)
	}
	return p
}

func (f *fixture) update(actor access.Actor, id uint64, in PostInput) *Post {
	f.tb.Helper()
	f.clk.Advance(time.Minute)
	p, err := f.s.UpdatePost(actor, id, in)
	if err != nil {
		f.tb.Fatalf("UpdatePost(%d): %v", id, err)
	}
	return p
}

// inputOf returns the form that re-saves p unchanged.
func inputOf(p *Post) PostInput {
	return PostInput{Title: p.Title, Body: p.Body, Excerpt: p.Excerpt, Slug: p.Slug, Tags: p.Tags, Draft: p.Draft, Pinned: p.Pinned}
}

func wantCode(tb testing.TB, err error, code apperr.Code) {
	tb.Helper()
	if apperr.CodeOf(err) != code {
		tb.Fatalf("error = %v (code %q), want code %q", err, apperr.CodeOf(err), code)
	}
}

func wantField(tb testing.TB, err error, code apperr.Code, field string) {
	tb.Helper()
	wantCode(tb, err, code)
	var e *apperr.Error
	if !errors.As(err, &e) || e.Field != field {
		tb.Fatalf("error %v: field = %q, want %q", err, e.Field, field)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func titles(ps []*Post) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Title
	}
	return out
}

func eventTypes(tb testing.TB, db *store.DB, after uint64) []string {
	tb.Helper()
	evs, err := db.Events(after, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func titled(format string, args ...any) PostInput {
	return PostInput{Title: fmt.Sprintf(format, args...)}
}
