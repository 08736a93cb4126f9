package search

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
)

// TestRelevanceOrder: on a small corpus, the post about both words, in its
// title, comes first; one that mentions a word in passing comes later; one
// about neither does not come at all.
func TestRelevanceOrder(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Weekly update", "Lots happened this week: the new office, two hires, the coffee machine. "+
		"We also talked about the database, briefly, and about the holidays.")
	f.simple("ops", "Database migration plan", "We migrate the database to PostgreSQL on Sunday. The migration takes two hours.")
	f.simple("ops", "Office plants", "Water the ficus on Fridays.")
	f.simple("ops", "Bird migration", "The swallows left in September.")
	f.catchUp()

	res := f.search(anon, Query{Text: "database migration"})
	got := titles(res)
	if len(got) != 3 || got[0] != "Database migration plan" || found(res, "Office plants") {
		t.Fatalf("database migration: %q, want the plan first and no plants", got)
	}
	if res.Total != 3 {
		t.Errorf("Total %d, want 3", res.Total)
	}
	for i := 1; i < len(res.Hits); i++ {
		if res.Hits[i].Score > res.Hits[i-1].Score {
			t.Errorf("hit %d scores more than hit %d: %v", i, i-1, got)
		}
	}
	// A word in the title weighs more than the same word in a body.
	if got := titles(f.search(anon, Query{Text: "database"})); !slices.Equal(got, []string{"Database migration plan", "Weekly update"}) {
		t.Errorf("database: %q", got)
	}
	// The phrase in order only.
	if got := titles(f.search(anon, Query{Text: `"migration plan"`})); !slices.Equal(got, []string{"Database migration plan"}) {
		t.Errorf(`"migration plan": %q`, got)
	}
	if got := titles(f.search(anon, Query{Text: `"plan migration"`})); len(got) != 0 {
		t.Errorf(`"plan migration" (wrong order): %q`, got)
	}
	// Exclusion.
	if got := titles(f.search(anon, Query{Text: "migration -swallows"})); !slices.Equal(got, []string{"Database migration plan"}) {
		t.Errorf("migration -swallows: %q", got)
	}
	if got := titles(f.search(anon, Query{Text: `database -"coffee machine"`})); !slices.Equal(got, []string{"Database migration plan"}) {
		t.Errorf(`database -"coffee machine": %q`, got)
	}
}

// TestStemmingEnglish: inflected forms meet.
func TestStemmingEnglish(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Database", "The migration is running since Monday; the team's servers are ready.")
	f.simple("ops", "Unrelated", "Nothing to see here.")
	f.catchUp()
	for _, q := range []string{"databases", "database", "DATABASE", "migrations", "migrating", "runs", "run", "server", "team", "Mondays"} {
		if got := titles(f.search(anon, Query{Text: q})); !slices.Equal(got, []string{"Database"}) {
			t.Errorf("%q: %q, want the database post", q, got)
		}
	}
}

// TestStemmingFrench: French plurals and verb forms meet, elided articles
// go, and accents need not be typed (nor may they be in the way).
func TestStemmingFrench(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Décision sur les serveurs", "Nous avons décidé de remplacer le serveur de la base de données pendant l’été, après la réunion.")
	f.simple("ops", "Sans rapport", "Rien à voir ici.")
	f.simple("ops", "Summer plans", "We will decide about the decision later.")
	f.catchUp()
	want := []string{"Décision sur les serveurs"}
	for _, q := range []string{
		"serveur", "serveurs", "Serveurs", // plural
		"décisions", "decisions", "DECISION", // plural, accents folded
		"décider", "decider", // infinitive meets the participle décidé
		"données", "donnees", // accents folded
		"été", "ete", "l'été", // elision, folding
		"réunions", "reunion",
	} {
		res := f.search(anon, Query{Text: q})
		if !found(res, want[0]) || found(res, "Sans rapport") {
			t.Errorf("%q: %q, want %q", q, titles(res), want)
		}
	}
	// An accented word typed without its accents finds an English post
	// too: both analyzers read every text.
	if res := f.search(anon, Query{Text: "décision"}); !found(res, "Summer plans") {
		t.Errorf("décision: %q, want the English post about a decision too", titles(res))
	}
}

// TestFilters: each filter keeps what it says, and they combine.
func TestFilters(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	f.project("beta", access.Public)
	a := f.post(owner, "alpha", posts.PostInput{Title: "Quarterly database status", Body: "All good.", Tags: []string{"infra"}, Health: posts.OnTrack})
	ca := f.comment(member, a.ID, "A database question.")
	f.clk.Set(t0.Add(30 * 24 * time.Hour))
	b := f.post(member, "beta", posts.PostInput{Title: "Database backups", Body: "Nightly.", Tags: []string{"infra"}})
	cb := f.comment(owner, b.ID, "We keep the database backups for a year.")
	if err := f.posts.SetDecision(owner, posts.Target{PostID: b.ID, CommentID: cb.ID}, true); err != nil {
		t.Fatal(err)
	}
	f.clk.Set(t0.Add(60 * 24 * time.Hour))
	c := f.post(member, "alpha", posts.PostInput{Title: "Database choice", Body: "PostgreSQL it is.", Health: posts.AtRisk})
	if err := f.posts.SetDecision(member, posts.Target{PostID: c.ID}, true); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	_ = ca

	const (
		A  = "Quarterly database status"
		CA = "Quarterly database status (comment)"
		B  = "Database backups"
		CB = "Database backups (comment)"
		C  = "Database choice"
	)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"None", Query{}, []string{A, CA, B, CB, C}},
		{"Project", Query{Project: "alpha"}, []string{A, CA, C}},
		{"Tag", Query{Tag: "infra"}, []string{A, CA, B, CB}},
		{"TagNormalised", Query{Tag: "INFRA"}, []string{A, CA, B, CB}},
		{"Author", Query{AuthorID: member.UserID}, []string{CA, B, C}},
		{"From", Query{From: t0.Add(20 * day)}, []string{B, CB, C}},
		{"To", Query{To: t0.Add(20 * day)}, []string{A, CA}},
		{"FromTo", Query{From: t0.Add(20 * day), To: t0.Add(40 * day)}, []string{B, CB}},
		{"ToExclusive", Query{To: t0.Add(30 * day)}, []string{A, CA}},
		{"Health", Query{Health: posts.OnTrack}, []string{A}},
		{"HealthAtRisk", Query{Health: posts.AtRisk}, []string{C}},
		{"DecisionsOnly", Query{DecisionsOnly: true}, []string{CB, C}},
		{"Combined", Query{Project: "alpha", DecisionsOnly: true}, []string{C}},
		{"CombinedEmpty", Query{Project: "beta", Health: posts.OnTrack}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Text = "database"
			got := titles(f.search(anon, tc.q))
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}

	t.Run("HitFields", func(t *testing.T) {
		res := f.search(anon, Query{Text: "backups", DecisionsOnly: true})
		if len(res.Hits) != 1 {
			t.Fatalf("hits %q", titles(res))
		}
		h := res.Hits[0]
		want := Hit{Kind: KindComment, PostID: b.ID, CommentID: cb.ID, ProjectID: b.ProjectID, PostSlug: b.Slug,
			Title: "Database backups", AuthorID: owner.UserID, Time: t0.Add(30 * day), Decision: true}
		if h.Kind != want.Kind || h.PostID != want.PostID || h.CommentID != want.CommentID || h.ProjectID != want.ProjectID ||
			h.PostSlug != want.PostSlug || h.Title != want.Title || h.AuthorID != want.AuthorID || !h.Time.Equal(want.Time) ||
			h.Decision != want.Decision || h.Score <= 0 {
			t.Errorf("hit %+v,\nwant %+v", h, want)
		}
		res = f.search(anon, Query{Text: "choice"})
		if len(res.Hits) != 1 || res.Hits[0].Kind != KindPost || res.Hits[0].CommentID != 0 || res.Hits[0].Health != posts.AtRisk ||
			res.Hits[0].TitleHTML != "Database <mark>choice</mark>" {
			t.Errorf("post hit %+v", res.Hits)
		}
	})

	t.Run("UnknownProject", func(t *testing.T) {
		if _, err := f.ix.Search(anon, Query{Text: "database", Project: "nope"}); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("err %v, want NotFound", err)
		}
	})
}

// TestPermissionMatrix: a private project's words never match for anyone
// outside it, an internal project's not for anonymous readers, whatever
// the filter; members and admins find them.
func TestPermissionMatrix(t *testing.T) {
	f := newFixture(t)
	f.project("pub", access.Public)
	f.project("intern", access.Internal)
	f.project("secret", access.Private)
	f.project("other", access.Private)
	if err := f.posts.SetMember(owner, "other", outsider.UserID, access.Owner); err != nil {
		t.Fatal(err)
	}
	if err := f.posts.RemoveMember(owner, "other", member.UserID); err != nil {
		t.Fatal(err)
	}
	stranger := access.Actor{UserID: 99} // signed in, member of nothing
	f.simple("pub", "Open post", "Everyone may read about the aardvark.")
	f.simple("intern", "Staff post", "Colleagues read about the bandicoot.")
	sp := f.simple("secret", "Acquisition", "The zanzibar deal closes in May.")
	f.comment(member, sp.ID, "The quokka clause worries me.")
	f.simple("other", "Other secret", "Only the outsider's team reads about the wombat.")
	f.catchUp()

	readers := map[string]access.Actor{"anonymous": anon, "stranger": stranger, "outsider": outsider, "member": member, "owner": owner, "admin": admin}
	for _, tc := range []struct {
		word  string
		finds []string // the readers who find it; everyone else must not
	}{
		{"aardvark", []string{"anonymous", "stranger", "outsider", "member", "owner", "admin"}},
		{"bandicoot", []string{"stranger", "outsider", "member", "owner", "admin"}},
		{"zanzibar", []string{"member", "owner", "admin"}},
		{"quokka", []string{"member", "owner", "admin"}},
		{"wombat", []string{"outsider", "owner", "admin"}},
	} {
		for name, a := range readers {
			want := slices.Contains(tc.finds, name)
			t.Run(tc.word+"/"+name, func(t *testing.T) {
				for _, q := range []Query{{Text: tc.word}, {Text: tc.word + " aardvark"}, {Text: `"` + tc.word + `"`}, {Text: tc.word, DecisionsOnly: false, Limit: 100}} {
					res := f.search(a, q)
					got := false
					for _, h := range res.Hits {
						if strings.Contains(strings.ToLower(h.Snippet+h.Title), tc.word) {
							got = true
						}
					}
					if got != want {
						t.Errorf("%+v: found %v, want %v (%q)", q, got, want, titles(res))
					}
				}
				// Naming the project does not get round it.
				for _, slug := range []string{"secret", "other", "intern"} {
					res, err := f.ix.Search(a, Query{Text: tc.word, Project: slug})
					if err != nil {
						if !apperr.Is(err, apperr.NotFound) {
							t.Errorf("project %s: %v", slug, err)
						}
						continue
					}
					for _, h := range res.Hits {
						if strings.Contains(strings.ToLower(h.Snippet+h.Title), tc.word) && !want {
							t.Errorf("project %s: found %q", slug, h.Title)
						}
					}
				}
			})
		}
	}
	// The private project itself is NotFound to outsiders, as everywhere.
	for _, a := range []access.Actor{anon, stranger, outsider} {
		if _, err := f.ix.Search(a, Query{Text: "zanzibar", Project: "secret"}); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("%+v: project filter on secret: %v, want NotFound", a, err)
		}
	}
	// Making the project public opens it at once, without reindexing.
	if _, err := f.posts.UpdateProject(owner, "secret", posts.ProjectInput{Name: "secret", Visibility: access.Public}); err != nil {
		t.Fatal(err)
	}
	if res := f.search(anon, Query{Text: "zanzibar"}); !found(res, "Acquisition") {
		t.Errorf("after making the project public: %q", titles(res))
	}
}

// TestDraftsAndDeletedNeverMatch: drafts, the trash, deleted comments and
// unpublished posts are not in the index, and leave it when they become so.
func TestDraftsAndDeletedNeverMatch(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.post(owner, "ops", posts.PostInput{Title: "Draft", Body: "The xylophone plan.", Draft: true})
	trashed := f.simple("ops", "Trashed", "The yodel plan.")
	if err := f.posts.DeletePost(owner, trashed.ID); err != nil {
		t.Fatal(err)
	}
	live := f.simple("ops", "Live", "The zither plan.")
	gone := f.comment(member, live.ID, "A kazoo remark.")
	kept := f.comment(member, live.ID, "A banjo remark.")
	if err := f.posts.DeleteComment(member, gone.ID); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	nothing := func(when string, words ...string) {
		t.Helper()
		for _, w := range words {
			for _, a := range []access.Actor{owner, admin} {
				if res := f.search(a, Query{Text: w}); len(res.Hits) != 0 {
					t.Errorf("%s: %q finds %q for %+v", when, w, titles(res), a)
				}
			}
		}
	}
	nothing("at first", "xylophone", "yodel", "kazoo")
	if res := f.search(anon, Query{Text: "zither banjo"}); len(res.Hits) != 2 {
		t.Fatalf("the live post and comment: %q", titles(res))
	}

	// Deleting what was indexed takes it out.
	if err := f.posts.DeleteComment(member, kept.ID); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	nothing("after deleting the comment", "banjo")
	if err := f.posts.DeletePost(owner, live.ID); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	nothing("after deleting the post", "zither")
	// A restore puts it back; unpublishing takes it out again.
	if err := f.posts.RestorePost(owner, live.ID); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	if res := f.search(anon, Query{Text: "zither"}); !found(res, "Live") {
		t.Errorf("after the restore: %q", titles(res))
	}
	if _, err := f.posts.UpdatePost(owner, live.ID, posts.PostInput{Title: "Live", Body: live.Body, Draft: true}); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	nothing("after unpublishing", "zither")
	// An edit replaces the old words.
	p := f.simple("ops", "Edited", "The ocarina plan.")
	f.catchUp()
	if _, err := f.posts.UpdatePost(owner, p.ID, posts.PostInput{Title: "Edited", Body: "The harmonica plan."}); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	nothing("after the edit", "ocarina")
	if res := f.search(anon, Query{Text: "harmonica"}); !found(res, "Edited") {
		t.Errorf("the edited text: %q", titles(res))
	}
}

// TestCatchUpAfterCrash: the cursor lives in the index; reopened, the
// index takes in exactly what was written while it was closed.
func TestCatchUpAfterCrash(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Before", "The first tuba.")
	f.catchUp()
	before := f.ix.Position()
	if before != f.db.Head() || before == 0 {
		t.Fatalf("position %d, head %d", before, f.db.Head())
	}
	f.close()

	f.simple("ops", "While closed", "The second tuba.")
	f.simple("ops", "Also while closed", "The third tuba.")
	written := f.db.Head() - before

	f.open()
	if got := f.ix.Position(); got != before {
		t.Fatalf("reopened at %d, want %d", got, before)
	}
	if n := f.catchUp(); uint64(n) != written {
		t.Errorf("CatchUp handled %d events, want %d", n, written)
	}
	if res := f.search(anon, Query{Text: "tuba"}); res.Total != 3 {
		t.Errorf("tuba: %q", titles(res))
	}
	if n := f.catchUp(); n != 0 {
		t.Errorf("a second CatchUp handled %d events", n)
	}
}

// TestIndexDirDeleted: without its directory the index is built again from
// the database, cursor and all.
func TestIndexDirDeleted(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	p := f.simple("ops", "Kept", "The cello part.")
	f.comment(member, p.ID, "Lovely cello.")
	f.catchUp()
	f.close()
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	f.open()
	if f.ix.Position() != 0 {
		t.Fatalf("a new index at position %d", f.ix.Position())
	}
	f.catchUp()
	if res := f.search(anon, Query{Text: "cello"}); res.Total != 2 {
		t.Errorf("cello after the rebuild: %q", titles(res))
	}
	if f.ix.Position() != f.db.Head() {
		t.Errorf("position %d, head %d", f.ix.Position(), f.db.Head())
	}
}

// TestCorruptIndexRebuilt: an index that cannot be read is replaced, not a
// reason to fail; a directory that holds something else is refused.
func TestCorruptIndexRebuilt(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Survivor", "The bassoon part.")
	f.catchUp()
	f.close()
	if err := os.WriteFile(filepath.Join(f.dir, "index_meta.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.open()
	f.catchUp()
	if res := f.search(anon, Query{Text: "bassoon"}); !found(res, "Survivor") {
		t.Errorf("after replacing the broken index: %q", titles(res))
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "precious.txt"), []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other, f.db, f.posts, Options{Logger: quietLog()}); err == nil {
		t.Error("Open took over a directory holding other files")
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Errorf("the other file is gone: %v", err)
	}
}

// TestRebuild: every published post and live comment, with progress.
func TestRebuild(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.project("hidden", access.Private)
	for i := range 7 {
		f.simple("ops", fmt.Sprintf("Post %d", i), "A banjo tune.")
	}
	p := f.post(owner, "hidden", posts.PostInput{Title: "Pinned", Body: "Banjo lessons.", Pinned: true})
	f.comment(member, p.ID, "More banjo!")
	f.post(owner, "ops", posts.PostInput{Title: "Draft", Body: "Banjo draft.", Draft: true})
	f.catchUp()

	var calls [][2]int
	if err := f.ix.Rebuild(context.Background(), func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int{8, 8} {
		t.Errorf("progress %v, want it to end at 8/8", calls)
	}
	if res := f.search(admin, Query{Text: "banjo"}); res.Total != 9 {
		t.Errorf("banjo: %d hits %q, want 8 posts and a comment", res.Total, titles(res))
	}
	if f.ix.Position() != f.db.Head() {
		t.Errorf("position %d, head %d", f.ix.Position(), f.db.Head())
	}

	// Cut short, the rebuild leaves no cursor: the next CatchUp starts
	// again from the database.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.ix.Rebuild(ctx, nil); err == nil {
		t.Fatal("a cancelled rebuild succeeded")
	}
	f.close()
	f.open()
	if f.ix.Position() != 0 {
		t.Errorf("after a cut-short rebuild the index is at %d", f.ix.Position())
	}
	f.catchUp()
	if res := f.search(admin, Query{Text: "banjo"}); res.Total != 9 {
		t.Errorf("banjo after the second build: %d", res.Total)
	}
}

// TestRunFollowsLog: Run takes in new events as they are written.
func TestRunFollowsLog(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.ix.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := range 3 {
		f.simple("ops", fmt.Sprintf("Post %d", i), "Text.")
		deadline := time.Now().Add(5 * time.Second)
		for f.ix.Position() != f.db.Head() {
			if time.Now().After(deadline) {
				t.Fatalf("Run did not catch up: position %d, head %d", f.ix.Position(), f.db.Head())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestHighlightEscaped: the snippet is the text escaped, with <mark>
// around the matches and no other markup.
func TestHighlightEscaped(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Tom & Jerry <script>alert(1)</script> database",
		"Run `<script>alert(\"x\")</script>` & then the **database** <b onclick=x>bold</b> & \"quotes\".\n\n<script>alert(2)</script>")
	f.catchUp()
	res := f.search(anon, Query{Text: "database script"})
	if len(res.Hits) != 1 {
		t.Fatalf("hits %q", titles(res))
	}
	h := res.Hits[0]
	for what, s := range map[string]string{"snippet": h.Snippet, "title": h.TitleHTML} {
		doc, err := html.Parse(strings.NewReader("<body>" + s))
		if err != nil {
			t.Fatal(err)
		}
		var marks []string
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode && !slices.Contains([]string{"html", "head", "body", "mark"}, n.Data) {
				t.Errorf("%s: element <%s> in %q", what, n.Data, s)
			}
			if n.Type == html.ElementNode && n.Data == "mark" {
				marks = append(marks, strings.ToLower(n.FirstChild.Data))
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
		if !slices.Contains(marks, "database") || !slices.Contains(marks, "script") {
			t.Errorf("%s: marks %q in %q", what, marks, s)
		}
	}
	if want := `Tom &amp; Jerry &lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; <mark>database</mark>`; h.TitleHTML != want {
		t.Errorf("title\n%s\nwant\n%s", h.TitleHTML, want)
	}
	if !strings.Contains(h.Snippet, `Run &lt;<mark>script</mark>&gt;alert(&#34;x&#34;)&lt;/<mark>script</mark>&gt; &amp; then the <mark>database</mark>`) {
		t.Errorf("snippet %s", h.Snippet)
	}
}

// TestBadQueries: each is Invalid, naming the field.
func TestBadQueries(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	for _, tc := range []struct {
		name  string
		q     Query
		field string
	}{
		{"Empty", Query{}, "q"},
		{"Blank", Query{Text: "  \t "}, "q"},
		{"TooLong", Query{Text: strings.Repeat("é", MaxQueryRunes+1)}, "q"},
		{"OnlyExclusions", Query{Text: "-mysql -\"last year\""}, "q"},
		{"BadUTF8", Query{Text: "data\xffbase"}, "q"},
		{"BadHealth", Query{Text: "x", Health: "green"}, "health"},
		{"BadTag", Query{Text: "x", Tag: "#$%"}, "tag"},
		{"ToBeforeFrom", Query{Text: "x", From: t0, To: t0.Add(-time.Hour)}, "to"},
		{"FarFuture", Query{Text: "x", From: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, "from"},
		{"NegativeOffset", Query{Text: "x", Offset: -1}, "offset"},
		{"DeepOffset", Query{Text: "x", Offset: MaxOffset + 1}, "offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ix.Search(anon, tc.q)
			var ae *apperr.Error
			if !apperr.Is(err, apperr.Invalid) || !asAppErr(err, &ae) || ae.Field != tc.field || ae.Message == "" {
				t.Errorf("err %v, want Invalid on %q", err, tc.field)
			}
		})
	}
	// The longest text is fine.
	if _, err := f.ix.Search(anon, Query{Text: strings.Repeat("é", MaxQueryRunes)}); err != nil {
		t.Errorf("a query of %d characters: %v", MaxQueryRunes, err)
	}
}

func asAppErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	*target = e
	return ok
}

// TestStopWordsMatchNothing: a query of stop words only finds nothing,
// with or without filters: it must never turn into "everything".
func TestStopWordsMatchNothing(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Other", "Something else entirely.")
	f.catchUp()
	for _, q := range []Query{
		{Text: "the"}, {Text: "the of and"}, {Text: "the", Project: "ops"}, {Text: `"the"`, Project: "ops"},
		{Text: "the", DecisionsOnly: false, From: t0.Add(-time.Hour)}, {Text: "le la les de"},
	} {
		if res := f.search(admin, q); res.Total != 0 {
			t.Errorf("%+v: %q", q, titles(res))
		}
	}
}

// TestPaging: Limit and Offset page through the hits; Total counts them all.
func TestPaging(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	for i := range 25 {
		f.simple("ops", fmt.Sprintf("Note %02d", i), "A piccolo.")
	}
	f.catchUp()
	seen := map[string]bool{}
	for _, page := range []struct{ offset, n int }{{0, 10}, {10, 10}, {20, 5}, {30, 0}} {
		res := f.search(anon, Query{Text: "piccolo", Limit: 10, Offset: page.offset})
		if res.Total != 25 || len(res.Hits) != page.n {
			t.Fatalf("offset %d: total %d, %d hits", page.offset, res.Total, len(res.Hits))
		}
		for _, h := range res.Hits {
			if seen[h.Title] {
				t.Errorf("%s on two pages", h.Title)
			}
			seen[h.Title] = true
		}
	}
	if res := f.search(anon, Query{Text: "piccolo"}); len(res.Hits) != DefaultLimit || res.Limit != DefaultLimit {
		t.Errorf("default limit: %d hits, Limit %d", len(res.Hits), res.Limit)
	}
	if res := f.search(anon, Query{Text: "piccolo", Limit: 1000}); res.Limit != MaxLimit {
		t.Errorf("limit 1000 became %d", res.Limit)
	}
}

func TestParseText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want parsed
	}{
		{"database migration", parsed{words: []string{"database", "migration"}}},
		{`"read replica" lag`, parsed{words: []string{"lag"}, phrases: []string{"read replica"}}},
		{`-mysql -"last  year" db`, parsed{words: []string{"db"}, notWords: []string{"mysql"}, notPhrases: []string{"last year"}}},
		{`e-mail - +plus`, parsed{words: []string{"e-mail", "-", "plus"}}},
		{`"unclosed phrase`, parsed{phrases: []string{"unclosed phrase"}}},
		{`""  "  "`, parsed{}},
		{`l'été "décision finale"`, parsed{words: []string{"l'été"}, phrases: []string{"décision finale"}}},
		{"« base de données » -“vieux serveur”", parsed{phrases: []string{"base de données"}, notPhrases: []string{"vieux serveur"}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := parseText(tc.in)
			if !slices.Equal(got.words, tc.want.words) || !slices.Equal(got.phrases, tc.want.phrases) ||
				!slices.Equal(got.notWords, tc.want.notWords) || !slices.Equal(got.notPhrases, tc.want.notPhrases) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 40) // 480 bytes
	for _, tc := range []struct {
		name, text string
		spans      []span
		max        int
		want       string
	}{
		{"Short", "a <b> & c", []span{{2, 5}}, 100, "a <mark>&lt;b&gt;</mark> &amp; c"},
		{"NoMatchStart", "one two three four", nil, 9, "one two…"},
		{"Overlapping", "database", []span{{0, 8}, {0, 4}}, 100, "<mark>database</mark>"},
		{"Window", long + "the key word here " + long, []span{{len(long) + 4, len(long) + 7}}, 20, "…the <mark>key</mark> word here…"},
		{"BestWindow", "alpha x " + long + "beta beta beta", []span{{0, 5}, {len("alpha x ") + len(long), len("alpha x ") + len(long) + 4},
			{len("alpha x ") + len(long) + 5, len("alpha x ") + len(long) + 9}, {len("alpha x ") + len(long) + 10, len("alpha x ") + len(long) + 14}}, 20,
			"…<mark>beta</mark> <mark>beta</mark> <mark>beta</mark>"},
		{"Context", "one two three four five six seven eight nine ten key", []span{{49, 52}}, 40, "…nine ten <mark>key</mark>"},
		{"NearStart", "So we chose the database, and then many more words follow here", []span{{16, 24}}, 60, "So we chose the <mark>database</mark>, and then many more words follow…"},
		{"Punctuation", "xxxx(database) yyy", []span{{5, 13}}, 100, "xxxx(<mark>database</mark>) yyy"},
		{"BadSpans", "short", []span{{3, 99}, {-1, 2}}, 100, "short"},
		{"Multibyte", "éééé décision ééé", []span{{9, 18}}, 10, "…<mark>décision</mark>…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := snippet(tc.text, tc.spans, tc.max); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	in := `<h2 id="plan">Plan <a class="anchor" href="#plan" aria-hidden="true" tabindex="-1">#</a></h2><p>We <strong>move</strong> the data&shy;base &amp; more.</p><ul><li>one</li><li>two</li></ul><pre><code>x := 1</code></pre>`
	if got, want := plainText(in), "Plan We move the data\u00adbase & more. one two x := 1"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestSearchDuringFirstBuild: searches before and while the index is first
// built find nothing yet, and do not keep the built index from being used.
func TestSearchDuringFirstBuild(t *testing.T) {
	f := newFixture(t)
	f.project("ops", access.Public)
	f.simple("ops", "Survey tools", "We chose the theodolite.")
	f.close()
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	f.open()
	if res := f.search(anon, Query{Text: "theodolite"}); res.Total != 0 {
		t.Errorf("before the build: %q", titles(res))
	}
	f.catchUp()
	if res := f.search(anon, Query{Text: "theodolite"}); res.Total != 1 {
		t.Errorf("after the build: %q", titles(res))
	}
}

// TestLastSpringsDecision is the "done when": among a year of
// posts about the database, last spring's decision is found in one
// search, with the dates or without them.
func TestLastSpringsDecision(t *testing.T) {
	f := newFixture(t)
	f.project("platform", access.Internal)
	at := func(month time.Month, day int) { f.clk.Set(time.Date(2025, month, day, 10, 0, 0, 0, time.UTC)) }
	at(time.January, 12)
	f.simple("platform", "Database options", "We compare PostgreSQL, MySQL and a managed database service.")
	at(time.March, 3)
	f.simple("platform", "Benchmarks", "The database benchmarks ran for a week.")
	at(time.April, 22)
	p := f.simple("platform", "Storage review", "Review of the storage and the database options after the benchmarks.")
	c := f.comment(owner, p.ID, "Decided: the database moves to PostgreSQL in June; MySQL is retired.")
	if err := f.posts.SetDecision(owner, posts.Target{PostID: p.ID, CommentID: c.ID}, true); err != nil {
		t.Fatal(err)
	}
	at(time.September, 8)
	d := f.simple("platform", "Office move", "We decided on the new office; the database servers stay.")
	if err := f.posts.SetDecision(owner, posts.Target{PostID: d.ID}, true); err != nil {
		t.Fatal(err)
	}
	at(time.November, 20)
	f.simple("platform", "Database upgrade", "PostgreSQL 18 is out; the database upgrade is planned.")
	f.catchUp()

	res := f.search(member, Query{Text: "database", DecisionsOnly: true,
		From: time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, time.June, 1, 0, 0, 0, 0, time.UTC)})
	if len(res.Hits) != 1 || res.Hits[0].CommentID != c.ID || !strings.Contains(res.Hits[0].Snippet, "PostgreSQL in June") {
		t.Fatalf("last spring's decision: %+v", res.Hits)
	}
	if res := f.search(member, Query{Text: "database decided postgresql", DecisionsOnly: true}); len(res.Hits) == 0 || res.Hits[0].CommentID != c.ID {
		t.Errorf("without dates: %q", titles(res))
	}
}
