package posts

import (
	"fmt"
	"testing"
	"time"

	"projblog/internal/access"
)

const benchBody = `We shipped the **new importer** this week. It reads the old archive,
keeps authors and dates, and skips what it cannot map.

- 1,200 posts moved
- 3 projects left to do
- no downtime

Next week: the [feeds](https://example.com/feeds) and the digest.
`

// benchProject returns a fixture whose project "alpha" holds n published
// posts, two of them pinned.
func benchProject(b *testing.B, n int) *fixture {
	b.Helper()
	f := newFixture(b)
	f.project("alpha", access.Public)
	// Setup only: skip fsync per write so 10,000 creates take seconds.
	f.db.Bolt().NoSync = true
	defer func() { f.db.Bolt().NoSync = false }()
	for i := range n {
		f.clk.Advance(time.Minute)
		p, err := f.s.CreatePost(member, "alpha", PostInput{
			Title: fmt.Sprintf("Weekly update %d", i),
			Body:  benchBody,
			Tags:  []string{"weekly", fmt.Sprintf("t%d", i%50)},
		})
		if err != nil {
			b.Fatal(err)
		}
		if i%(n/2) == 0 {
			if err := f.s.SetPinned(owner, p.ID, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	return f
}

// BenchmarkProjectPosts reads the first page of 20 in a project of 10,000
// published posts (plus two pinned ones): the cost must not grow with the
// number of posts.
func BenchmarkProjectPosts(b *testing.B) {
	f := benchProject(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pinned, page, err := f.s.ProjectPosts(viewer, "alpha", "", 20)
		if err != nil || len(page.Posts) != 20 || len(pinned) != 2 || page.Next == "" {
			b.Fatalf("pinned %d page %d next %q err %v", len(pinned), len(page.Posts), page.Next, err)
		}
	}
}

// BenchmarkProjectPostsDeepPage reads page 450 of 20 in the same project,
// through its cursor: a cursor seeks, so depth costs nothing.
func BenchmarkProjectPostsDeepPage(b *testing.B) {
	f := benchProject(b, 10_000)
	cursor := ""
	for range 449 {
		_, page, err := f.s.ProjectPosts(viewer, "alpha", cursor, 20)
		if err != nil {
			b.Fatal(err)
		}
		cursor = page.Next
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, page, err := f.s.ProjectPosts(viewer, "alpha", cursor, 20)
		if err != nil || len(page.Posts) != 20 {
			b.Fatalf("page %d err %v", len(page.Posts), err)
		}
	}
}

// BenchmarkCreatePost measures one published post with tags, rendering
// included, committed with fsync, in a growing project.
func BenchmarkCreatePost(b *testing.B) {
	f := newFixture(b)
	f.project("alpha", access.Public)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		f.clk.Advance(time.Second)
		if _, err := f.s.CreatePost(member, "alpha", PostInput{
			Title: fmt.Sprintf("Weekly update %d", i),
			Body:  benchBody,
			Tags:  []string{"weekly", "ops"},
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecent reads the first cross-project page of 20 for a reader
// who may see only one project in three.
func BenchmarkRecent(b *testing.B) {
	f := newFixture(b)
	for _, slug := range []string{"pub", "int", "priv"} {
		f.project(slug, map[string]access.Visibility{"pub": access.Public, "int": access.Internal, "priv": access.Private}[slug])
	}
	f.db.Bolt().NoSync = true
	for i := range 3000 {
		f.clk.Advance(time.Minute)
		slug := []string{"pub", "int", "priv"}[i%3]
		if _, err := f.s.CreatePost(member, slug, PostInput{Title: fmt.Sprintf("Update %d", i), Body: benchBody}); err != nil {
			b.Fatal(err)
		}
	}
	f.db.Bolt().NoSync = false
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		page, err := f.s.Recent(anon, "", 20)
		if err != nil || len(page.Posts) != 20 {
			b.Fatalf("page %d err %v", len(page.Posts), err)
		}
	}
}
