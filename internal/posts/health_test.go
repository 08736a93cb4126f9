package posts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// eventsTyped returns the events of type typ after seq, oldest first.
func eventsTyped(tb testing.TB, db *store.DB, after uint64, typ string) []store.Event {
	tb.Helper()
	evs, err := db.Events(after, 10000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []store.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// eventData decodes an event's Data.
func eventData(tb testing.TB, e store.Event) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		tb.Fatalf("event %s data %s: %v", e.Type, e.Data, err)
	}
	return m
}

// wantHealth checks the project's current health and the post that set it.
func wantHealth(tb testing.TB, f *fixture, slug string, h Health, postID uint64) {
	tb.Helper()
	pv, err := f.s.Project(owner, slug)
	if err != nil {
		tb.Fatal(err)
	}
	if pv.Health != h || pv.HealthPostID != postID {
		tb.Fatalf("project health = %q (post %d), want %q (post %d)", pv.Health, pv.HealthPostID, h, postID)
	}
	if postID == 0 {
		if !pv.HealthAt.IsZero() {
			tb.Fatalf("HealthAt = %v, want zero", pv.HealthAt)
		}
		return
	}
	p, _, err := f.s.Post(owner, postID)
	if err != nil {
		tb.Fatal(err)
	}
	if !pv.HealthAt.Equal(p.PublishedAt) {
		tb.Fatalf("HealthAt = %v, want the post's PublishedAt %v", pv.HealthAt, p.PublishedAt)
	}
}

func status(title string, h Health) PostInput { return PostInput{Title: title, Health: h} }

func TestStatusUpdatesSetHealth(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	wantHealth(t, f, "alpha", HealthNone, 0)

	head := f.db.Head()
	f.post(member, "alpha", titled("Ordinary"))
	wantHealth(t, f, "alpha", HealthNone, 0)

	first := f.post(member, "alpha", status("Week 1", OnTrack))
	if first.Health != OnTrack {
		t.Fatalf("post health = %q", first.Health)
	}
	wantHealth(t, f, "alpha", OnTrack, first.ID)

	second := f.post(owner, "alpha", status("Week 2", AtRisk))
	wantHealth(t, f, "alpha", AtRisk, second.ID)

	// The same value again moves the current post, not the health.
	third := f.post(member2, "alpha", status("Week 3", AtRisk))
	wantHealth(t, f, "alpha", AtRisk, third.ID)

	evs := eventsTyped(t, f.db, head, "health.changed")
	if len(evs) != 2 {
		t.Fatalf("health.changed events = %d, want 2 (one per change of value)", len(evs))
	}
	for i, want := range []struct {
		from, to Health
		post     uint64
	}{{HealthNone, OnTrack, first.ID}, {OnTrack, AtRisk, second.ID}} {
		d := eventData(t, evs[i])
		if d["from"] != string(want.from) || d["to"] != string(want.to) || uint64(d["post_id"].(float64)) != want.post {
			t.Errorf("event %d data = %v, want from %q to %q post %d", i, d, want.from, want.to, want.post)
		}
		if evs[i].PostID != want.post || evs[i].ProjectID == 0 {
			t.Errorf("event %d: post %d project %d", i, evs[i].PostID, evs[i].ProjectID)
		}
	}

	// A status update saved as a draft is not part of the health yet.
	draft := f.post(member, "alpha", PostInput{Title: "Week 4", Health: OffTrack, Draft: true})
	wantHealth(t, f, "alpha", AtRisk, third.ID)
	in := inputOf(draft)
	in.Health, in.Draft = OffTrack, false
	f.update(member, draft.ID, in)
	wantHealth(t, f, "alpha", OffTrack, draft.ID)
}

func TestStatusEdits(t *testing.T) {
	setup := func(t *testing.T) (f *fixture, older, newer *Post) {
		f = newFixture(t)
		f.project("alpha", access.Internal)
		older = f.post(member, "alpha", status("Older", OnTrack))
		newer = f.post(member, "alpha", status("Newer", AtRisk))
		return f, older, newer
	}
	edit := func(f *fixture, p *Post, h Health) *Post {
		f.tb.Helper()
		in := inputOf(p)
		in.Health = h
		return f.update(member, p.ID, in)
	}

	t.Run("OlderEditDoesNotOverride", func(t *testing.T) {
		f, older, newer := setup(t)
		head := f.db.Head()
		got := edit(f, older, OffTrack)
		if got.Health != OffTrack {
			t.Fatalf("edited post health = %q", got.Health)
		}
		wantHealth(t, f, "alpha", AtRisk, newer.ID)
		if n := len(eventsTyped(t, f.db, head, "health.changed")); n != 0 {
			t.Fatalf("health.changed events = %d, want 0", n)
		}
		set := eventsTyped(t, f.db, head, "post.health_set")
		if len(set) != 1 || eventData(t, set[0])["health"] != string(OffTrack) || eventData(t, set[0])["previous"] != string(OnTrack) {
			t.Fatalf("post.health_set events = %v", set)
		}
		hist, err := f.s.HealthHistory(viewer, "alpha", 10)
		must(t, err)
		if len(hist) != 2 || hist[1].PostID != older.ID || hist[1].Health != OffTrack {
			t.Fatalf("history = %+v", hist)
		}
	})
	t.Run("NewestEditChangesHealth", func(t *testing.T) {
		f, _, newer := setup(t)
		head := f.db.Head()
		edit(f, newer, OffTrack)
		wantHealth(t, f, "alpha", OffTrack, newer.ID)
		evs := eventsTyped(t, f.db, head, "health.changed")
		if len(evs) != 1 || eventData(t, evs[0])["from"] != string(AtRisk) {
			t.Fatalf("health.changed = %v", evs)
		}
	})
	t.Run("NoLongerAStatusUpdate", func(t *testing.T) {
		f, older, newer := setup(t)
		edit(f, newer, HealthNone)
		wantHealth(t, f, "alpha", OnTrack, older.ID)
	})
	t.Run("ContentEditKeepsHealth", func(t *testing.T) {
		f, _, newer := setup(t)
		head := f.db.Head()
		in := inputOf(newer)
		in.Health, in.Body = AtRisk, "Now with more detail."
		f.update(member, newer.ID, in)
		wantHealth(t, f, "alpha", AtRisk, newer.ID)
		if got := eventTypes(t, f.db, head); strings.Join(got, ",") != "post.edited" {
			t.Fatalf("events = %v, want only post.edited", got)
		}
	})
}

func TestStatusFallsBackAndComesBack(t *testing.T) {
	type state struct {
		health Health
		which  string // "older", "newer" or "" (none)
	}
	unpublish := func(f *fixture, p *Post) {
		in := inputOf(p)
		in.Health, in.Draft = p.Health, true
		f.update(owner, p.ID, in)
	}
	publish := func(f *fixture, p *Post) {
		in := inputOf(p)
		in.Health, in.Draft = p.Health, false
		f.update(owner, p.ID, in)
	}
	tests := []struct {
		name    string
		act     func(f *fixture, older, newer *Post)
		want    state
		changes int // health.changed events appended by act
	}{
		{"DeleteNewest", func(f *fixture, _, n *Post) { must(f.tb, f.s.DeletePost(owner, n.ID)) }, state{OnTrack, "older"}, 1},
		{"DeleteOlder", func(f *fixture, o, _ *Post) { must(f.tb, f.s.DeletePost(owner, o.ID)) }, state{AtRisk, "newer"}, 0},
		{"DeleteBoth", func(f *fixture, o, n *Post) {
			must(f.tb, f.s.DeletePost(owner, n.ID))
			must(f.tb, f.s.DeletePost(member, o.ID))
		}, state{HealthNone, ""}, 2},
		{"DeleteAndRestore", func(f *fixture, _, n *Post) {
			must(f.tb, f.s.DeletePost(owner, n.ID))
			must(f.tb, f.s.RestorePost(owner, n.ID))
		}, state{AtRisk, "newer"}, 2},
		{"Unpublish", func(f *fixture, _, n *Post) { unpublish(f, n) }, state{OnTrack, "older"}, 1},
		{"UnpublishAndRepublish", func(f *fixture, _, n *Post) {
			unpublish(f, n)
			publish(f, n)
		}, state{AtRisk, "newer"}, 2},
		{"RepublishOlderKeepsNewer", func(f *fixture, o, _ *Post) {
			unpublish(f, o)
			publish(f, o)
		}, state{AtRisk, "newer"}, 0},
		{"DeleteOrdinaryPost", func(f *fixture, _, _ *Post) {
			p := f.post(member, "alpha", titled("Ordinary"))
			must(f.tb, f.s.DeletePost(member, p.ID))
		}, state{AtRisk, "newer"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.project("alpha", access.Private)
			older := f.post(member, "alpha", status("Older", OnTrack))
			newer := f.post(member, "alpha", status("Newer", AtRisk))
			head := f.db.Head()
			tt.act(f, older, newer)
			id := map[string]uint64{"older": older.ID, "newer": newer.ID}[tt.want.which]
			wantHealth(t, f, "alpha", tt.want.health, id)
			if n := len(eventsTyped(t, f.db, head, "health.changed")); n != tt.changes {
				t.Fatalf("health.changed events = %d, want %d", n, tt.changes)
			}
		})
	}
}

func TestHealthHistory(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Private)
	hs := []Health{OnTrack, OnTrack, AtRisk, OffTrack, AtRisk}
	var ids []uint64
	for i, h := range hs {
		ids = append(ids, f.post(member, "alpha", status("Update "+string(rune('A'+i)), h)).ID)
		f.post(member, "alpha", titled("Ordinary %d", i))
	}
	deleted := f.post(member, "alpha", status("Deleted", OffTrack))
	must(t, f.s.DeletePost(member, deleted.ID))
	f.post(member, "alpha", PostInput{Title: "Draft", Health: OffTrack, Draft: true})

	tests := []struct {
		name  string
		limit int
		want  int
	}{{"All", 0, 5}, {"Limit3", 3, 3}, {"Limit1", 1, 1}, {"Over", 50, 5}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hist, err := f.s.HealthHistory(viewer, "alpha", tt.limit)
			must(t, err)
			if len(hist) != tt.want {
				t.Fatalf("len = %d, want %d: %+v", len(hist), tt.want, hist)
			}
			for i, hp := range hist {
				j := len(hs) - 1 - i // newest first
				if hp.PostID != ids[j] || hp.Health != hs[j] {
					t.Fatalf("history[%d] = %+v, want post %d %q", i, hp, ids[j], hs[j])
				}
				if i > 0 && !hp.At.Before(hist[i-1].At) {
					t.Fatalf("history not newest first: %+v", hist)
				}
				p, _, err := f.s.Post(viewer, hp.PostID)
				must(t, err)
				if !hp.At.Equal(p.PublishedAt) {
					t.Fatalf("At = %v, want %v", hp.At, p.PublishedAt)
				}
			}
		})
	}
	t.Run("ErrOutsider", func(t *testing.T) {
		_, err := f.s.HealthHistory(outsider, "alpha", 10)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("ErrAnonymous", func(t *testing.T) {
		_, err := f.s.HealthHistory(anon, "alpha", 10)
		wantCode(t, err, apperr.NotFound)
	})
}

func TestInvalidHealth(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	head := f.db.Head()

	t.Run("Create", func(t *testing.T) {
		_, err := f.s.CreatePost(member, "alpha", PostInput{Title: "Bad", Body: "x", Health: "great"})
		wantField(t, err, apperr.Invalid, "health")
		drafts, err := f.s.Drafts(owner, "alpha")
		must(t, err)
		_, page, err := f.s.ProjectPosts(owner, "alpha", "", 10)
		must(t, err)
		if len(drafts)+len(page.Posts) != 0 {
			t.Fatal("a post with an invalid health was stored")
		}
		if got := eventTypes(t, f.db, head); len(got) != 0 {
			t.Fatalf("events = %v, want none", got)
		}
	})
	t.Run("Update", func(t *testing.T) {
		p := f.post(member, "alpha", status("Good", OnTrack))
		in := inputOf(p)
		in.Health, in.Title = "meh", "Changed"
		_, err := f.s.UpdatePost(member, p.ID, in)
		wantField(t, err, apperr.Invalid, "health")
		got, _, err := f.s.Post(member, p.ID)
		must(t, err)
		if got.Title != "Good" || got.Health != OnTrack {
			t.Fatalf("post changed by a refused update: %+v", got)
		}
	})
}

// The health fields survive a reopen of the database.
func TestHealthPersists(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	must(t, err)
	clk := &clock{t: t0}
	s, err := New(db, Options{Now: clk.Now})
	must(t, err)
	f := &fixture{tb: t, db: db, s: s, clk: clk}
	f.project("alpha", access.Public)
	p := f.post(member, "alpha", status("Week 1", OffTrack))
	must(t, db.Close())

	db, err = store.Open(dir, store.Options{})
	must(t, err)
	defer db.Close()
	s, err = New(db, Options{Now: clk.Now})
	must(t, err)
	pv, err := s.Project(anon, "alpha")
	must(t, err)
	if pv.Health != OffTrack || pv.HealthPostID != p.ID || !pv.HealthAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after reopen: %q %d %v", pv.Health, pv.HealthPostID, pv.HealthAt)
	}
}
