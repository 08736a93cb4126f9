package search

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/store"
)

// benchPosts is the size of the corpus BenchmarkSearch searches.
const benchPosts = 100_000

// benchProjects: the corpus is spread over this many projects, every
// fourth one private (the anonymous reader's filter then lists 15 of 20).
const benchProjects = 20

// benchCorpusVersion names the generated corpus in the cache's name:
// change it with benchCorpus.
const benchCorpusVersion = 2

// benchTopics are real words put into posts at fixed rates, so that the
// queries of BenchmarkSearch find as much as such words would in a real
// blog: a few percent of the posts each.
var benchTopics = []struct {
	words string
	rate  float64 // the share of posts that carry them
}{
	{"server", 0.08}, {"database", 0.05}, {"budget", 0.03}, {"migration", 0.02},
	{"database migration", 0.01}, {"decision", 0.01}, {"outage", 0.005},
}

// benchVocabulary is 4096 made-up words, drawn with a Zipf distribution so
// that a few are in nearly every post and most are rare, as in prose.
func benchVocabulary() []string {
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gu", "be", "fi", "ho", "ju"}
	var words []string
	for _, a := range syll {
		for _, b := range syll {
			for _, c := range syll {
				words = append(words, a+b+c)
			}
		}
	}
	return words
}

// benchCorpus generates n posts of about 130 words over the projects, with
// fixed seeds.
func benchCorpus(n int, projectIDs []uint64) []*posts.Post {
	vocab := benchVocabulary()
	r := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	words := func(k int) []string {
		ws := make([]string, k)
		for i := range ws {
			ws[i] = vocab[zipf.Uint64()]
		}
		return ws
	}
	healths := []posts.Health{"", "", "", "", posts.OnTrack, posts.AtRisk, posts.OffTrack}
	out := make([]*posts.Post, n)
	start := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := range out {
		body := words(120)
		for _, t := range benchTopics {
			if r.Float64() < t.rate {
				body[r.IntN(len(body))] = t.words
			}
		}
		var html strings.Builder
		for j := 0; j < len(body); j += 30 {
			html.WriteString("<p>" + strings.Join(body[j:min(j+30, len(body))], " ") + ".</p>")
		}
		at := start.Add(time.Duration(i) * 7 * time.Minute)
		out[i] = &posts.Post{
			ID: uint64(i + 1), ProjectID: projectIDs[i%len(projectIDs)], AuthorID: uint64(1 + i%50),
			Slug: fmt.Sprintf("post-%d", i+1), Title: strings.Join(words(6), " "), HTML: html.String(),
			Tags: []string{vocab[r.IntN(40)]}, Health: healths[r.IntN(len(healths))], Decision: r.IntN(20) == 0,
			CreatedAt: at, PublishedAt: at,
		}
	}
	return out
}

// benchIndex returns an index of benchPosts generated posts and the
// projects they belong to. Building it takes minutes, so it is kept under
// os.TempDir, keyed by the mapping and corpus versions and the size, for
// the next run;
// delete the directory to build it again.
func benchIndex(b *testing.B) *fixture {
	b.Helper()
	db, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	clk := &clock{t: t0}
	p, err := posts.New(db, posts.Options{Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{tb: b, db: db, posts: p, clk: clk}
	var ids []uint64
	for i := range benchProjects {
		vis := access.Public
		if i%4 == 3 {
			vis = access.Private
		}
		ids = append(ids, f.project(fmt.Sprintf("project-%02d", i), vis).ID)
	}

	f.dir = filepath.Join(os.TempDir(), fmt.Sprintf("projblog-search-bench-v%d-c%d-%d", mappingVersion, benchCorpusVersion, benchPosts))
	if _, err := os.Stat(filepath.Join(f.dir, "index_meta.json")); err != nil {
		start := time.Now()
		b.Logf("building the benchmark index of %d posts in %s (once; it is kept for the next runs)", benchPosts, f.dir)
		tmp := f.dir + fmt.Sprintf(".tmp%d", os.Getpid())
		os.RemoveAll(tmp)
		idx, err := create(tmp)
		if err != nil {
			b.Fatal(err)
		}
		batch := idx.NewBatch()
		for i, post := range benchCorpus(benchPosts, ids) {
			if err := batch.Index(postDocID(post.ID), postDoc(post)); err != nil {
				b.Fatal(err)
			}
			if (i+1)%1000 == 0 {
				if err := idx.Batch(batch); err != nil {
					b.Fatal(err)
				}
				batch.Reset()
			}
		}
		// The projects' events are in the log; nothing after them.
		batch.SetInternal(keyCursor, store.Key(db.Head()))
		if err := idx.Batch(batch); err != nil {
			b.Fatal(err)
		}
		if err := idx.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, f.dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("built in %s", time.Since(start).Round(time.Second))
	}
	f.open()
	b.Cleanup(func() { f.ix.Close() })
	if f.ix.fresh.Load() || f.ix.Lag() != 0 {
		b.Fatalf("the cached index in %s does not fit this database (position %d, head %d); delete it", f.dir, f.ix.Position(), db.Head())
	}
	return f
}

// BenchmarkSearch measures one search, the hits' snippets included, on an
// index of 100,000 posts: words found in 8%, 5% + 2% and 0.5% of the
// posts, a phrase, a word in nearly every post (the worst case: every post
// is scored), a word in none, with filters, and as a member and an admin
// (other project filters). "hits" is how many posts match.
func BenchmarkSearch(b *testing.B) {
	f := benchIndex(b)
	vocab := benchVocabulary()
	for _, bc := range []struct {
		name  string
		actor access.Actor
		q     Query
	}{
		{"Word", anon, Query{Text: "server"}},
		{"TwoWords", anon, Query{Text: "database migration"}},
		{"Phrase", anon, Query{Text: `"database migration"`}},
		{"RareWord", anon, Query{Text: "outage"}},
		{"NoMatch", anon, Query{Text: "nowhere"}},
		{"WordInEveryPost", anon, Query{Text: vocab[0]}},
		{"Filters", anon, Query{Text: "database", Project: "project-00", DecisionsOnly: true, From: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}},
		{"Member", member, Query{Text: "database migration"}},
		{"Admin100", admin, Query{Text: "database migration", Limit: 100}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var res *Results
			for b.Loop() {
				var err error
				if res, err = f.ix.Search(bc.actor, bc.q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Total), "hits")
		})
	}
}

// BenchmarkIndexPosts measures putting posts into the index, in batches of
// a thousand as a rebuild does (one op is one post).
func BenchmarkIndexPosts(b *testing.B) {
	idx, err := create(filepath.Join(b.TempDir(), "search"))
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	corpus := benchCorpus(10_000, []uint64{1, 2, 3})
	batch := idx.NewBatch()
	i := 0
	for b.Loop() {
		post := corpus[i%len(corpus)]
		if err := batch.Index(postDocID(uint64(i+1)), postDoc(post)); err != nil {
			b.Fatal(err)
		}
		i++
		if i%1000 == 0 {
			if err := idx.Batch(batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	if err := idx.Batch(batch); err != nil {
		b.Fatal(err)
	}
}
