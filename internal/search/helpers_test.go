package search

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/store"
)

// The cast. Every project made by fixture.project has owner as its owner
// and member as a member; outsider is a member of "other" only.
var (
	admin    = access.Actor{UserID: 1, Admin: true}
	owner    = access.Actor{UserID: 2}
	member   = access.Actor{UserID: 3}
	outsider = access.Actor{UserID: 4}
	anon     = access.Anonymous
)

var t0 = time.Date(2025, time.April, 14, 9, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// fixture is a real bbolt database, the posts service on it and a real
// bleve index in a temporary directory.
type fixture struct {
	tb    testing.TB
	dir   string // the index's directory
	db    *store.DB
	posts *posts.Service
	ix    *Index
	clk   *clock
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	db := mustOpenDB(tb)
	clk := &clock{t: t0}
	p, err := posts.New(db, posts.Options{Now: clk.Now})
	if err != nil {
		tb.Fatalf("posts.New: %v", err)
	}
	f := &fixture{tb: tb, dir: filepath.Join(tb.TempDir(), "search"), db: db, posts: p, clk: clk}
	f.open()
	tb.Cleanup(func() {
		if f.ix != nil {
			f.ix.Close()
		}
	})
	return f
}

// open opens the index (again).
func (f *fixture) open() {
	f.tb.Helper()
	ix, err := Open(f.dir, f.db, f.posts, Options{Logger: quietLog()})
	if err != nil {
		f.tb.Fatalf("Open: %v", err)
	}
	f.ix = ix
}

// close closes the index.
func (f *fixture) close() {
	f.tb.Helper()
	if err := f.ix.Close(); err != nil {
		f.tb.Fatalf("Close: %v", err)
	}
	f.ix = nil
}

// project creates a project owned by owner, with member as a member.
func (f *fixture) project(slug string, vis access.Visibility) *posts.Project {
	f.tb.Helper()
	pr, err := f.posts.CreateProject(admin, posts.ProjectInput{Slug: slug, Name: slug, Visibility: vis}, owner.UserID)
	if err != nil {
		f.tb.Fatalf("CreateProject %s: %v", slug, err)
	}
	if err := f.posts.SetMember(owner, slug, member.UserID, access.Member); err != nil {
		f.tb.Fatalf("SetMember: %v", err)
	}
	return pr
}

// post publishes a post by author.
func (f *fixture) post(author access.Actor, project string, in posts.PostInput) *posts.Post {
	f.tb.Helper()
	p, err := f.posts.CreatePost(author, project, in)
	if err != nil {
		f.tb.Fatalf("CreatePost %q: %v", in.Title, err)
	}
	return p
}

// simple publishes a post by owner with a title and a body.
func (f *fixture) simple(project, title, body string) *posts.Post {
	f.tb.Helper()
	return f.post(owner, project, posts.PostInput{Title: title, Body: body})
}

func (f *fixture) comment(author access.Actor, postID uint64, body string) *posts.Comment {
	f.tb.Helper()
	c, err := f.posts.AddComment(author, postID, posts.CommentInput{Body: body})
	if err != nil {
		f.tb.Fatalf("AddComment: %v", err)
	}
	return c
}

// catchUp brings the index up to date.
func (f *fixture) catchUp() int {
	f.tb.Helper()
	n, err := f.ix.CatchUp(context.Background())
	if err != nil {
		f.tb.Fatalf("CatchUp: %v", err)
	}
	return n
}

// search runs a query that must succeed.
func (f *fixture) search(a access.Actor, q Query) *Results {
	f.tb.Helper()
	res, err := f.ix.Search(a, q)
	if err != nil {
		f.tb.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

// titles are the titles of the hits, in order, with "(comment)" after
// those of comments.
func titles(res *Results) []string {
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.Title
		if h.Kind == KindComment {
			out[i] += " (comment)"
		}
	}
	return out
}

// found reports whether the titles of res include title.
func found(res *Results, title string) bool { return slices.Contains(titles(res), title) }
