package notify_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// week44 is the Toronto Monday-08:00 window of ISO week 2026-W44: from
// Monday 2026-10-26 08:00 EDT (12:00Z) to Monday 2026-11-02 08:00 EST
// (13:00Z), across the end of daylight-saving time.
func week44(t testing.TB) notify.Window {
	t.Helper()
	w, err := notify.WindowForLabel("2026-W44", mustZone(t, "America/Toronto"), time.Monday, 8)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Start.Equal(time.Date(2026, 10, 26, 12, 0, 0, 0, time.UTC)) || !w.End.Equal(time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("week 44 is [%v, %v)", w.Start, w.End)
	}
	return w
}

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }

func (e *digestEnv) digest(u *users.User, w notify.Window) *notify.Digest {
	e.t.Helper()
	d, err := e.n.BuildDigest(u.ID, w)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func projectSlugs(d *notify.Digest) []string {
	var out []string
	for _, p := range d.Projects {
		out = append(out, p.Project.Slug)
	}
	return out
}

func findProject(t *testing.T, d *notify.Digest, slug string) notify.ProjectDigest {
	t.Helper()
	for _, p := range d.Projects {
		if p.Project.Slug == slug {
			return p
		}
	}
	t.Fatalf("project %s not in the digest (%v)", slug, projectSlugs(d))
	return notify.ProjectDigest{}
}

func postTitles(ps []notify.DigestPost) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Post.Title)
	}
	return out
}

// TestBuildDigest plays a month in eleven projects and reads Max's digest
// of week 44.
func TestBuildDigest(t *testing.T) {
	w := week44(t)
	e := newDigestEnv(t)
	e.at(day(10, 1, 12))
	olive := e.user("olive@example.com", "Olive Owner", "America/Toronto")
	max := e.user("max@example.com", "Max Manager", "America/Toronto")
	type proj struct {
		slug, name string
		vis        access.Visibility
		role       access.Role // Max's role; NoRole: not a member
	}
	for _, p := range []proj{
		{"apollo", "Apollo", access.Internal, access.Member},     // posts in and around the window
		{"borealis", "Borealis", access.Internal, access.Viewer}, // health changes in the window
		{"cygnus", "Cygnus", access.Private, access.Viewer},      // off track since before
		{"delta", "Delta", access.Internal, access.Member},       // overdue, no posts
		{"echo", "Echo", access.Internal, access.Member},         // nothing in the window
		{"foxtrot", "Foxtrot", access.Private, access.NoRole},    // private, Max is not a member
		{"golf", "Golf", access.Private, access.Member},          // Max is removed from it
		{"hotel", "Hotel", access.Internal, access.NoRole},       // readable, not followed
		{"india", "India", access.Internal, access.Member},       // archived at the end
		{"juliet", "Juliet", access.Internal, access.NoRole},     // followed immediately by choice
		{"kilo", "Kilo", access.Public, access.Owner},            // as busy as Juliet
	} {
		e.project(olive, p.slug, p.name, p.vis)
		if p.role != access.NoRole {
			e.member(olive, p.slug, max, p.role)
		}
	}
	e.follow(max, "juliet", notify.Immediate)
	e.follow(max, "golf", notify.Weekly)
	if err := e.posts.SetCadence(olive.Actor(), "delta", &posts.Cadence{Every: posts.EveryWeek, Weekday: time.Friday, Hour: 9, TimeZone: "America/Toronto"}); err != nil {
		t.Fatal(err)
	}

	e.at(day(10, 10, 12))
	e.post(olive, "echo", posts.PostInput{Title: "Echo old news"})
	e.post(olive, "apollo", posts.PostInput{Title: "Old pinned", Pinned: true})
	oldNews := e.post(olive, "apollo", posts.PostInput{Title: "Old news"})
	e.at(day(10, 15, 12))
	e.post(olive, "borealis", posts.PostInput{Title: "Borealis on track", Health: posts.OnTrack})
	e.post(olive, "cygnus", posts.PostInput{Title: "Cygnus off track", Health: posts.OffTrack})
	e.at(day(10, 20, 12))
	if err := e.posts.SetDecision(olive.Actor(), posts.Target{PostID: oldNews.ID}, true); err != nil {
		t.Fatal(err)
	}

	e.at(w.Start.Add(-time.Nanosecond))
	e.post(olive, "apollo", posts.PostInput{Title: "Just before"})
	e.at(w.Start)
	atStart := e.post(olive, "apollo", posts.PostInput{Title: "At the start"})
	e.at(day(10, 27, 10))
	pinnedIn := e.post(olive, "apollo", posts.PostInput{Title: "Pinned in window", Pinned: true})
	e.at(day(10, 27, 11))
	e.post(max, "apollo", posts.PostInput{Title: "Max's own"})
	for _, u := range []*users.User{max, olive} {
		if _, err := e.posts.AddComment(u.Actor(), atStart.ID, posts.CommentInput{Body: "A comment by " + u.Name}); err != nil {
			t.Fatal(err)
		}
	}
	e.at(day(10, 28, 12))
	e.post(olive, "borealis", posts.PostInput{Title: "Borealis at risk", Health: posts.AtRisk})
	e.post(olive, "cygnus", posts.PostInput{Title: "Cygnus news"})
	e.post(olive, "foxtrot", posts.PostInput{Title: "Foxtrot secret"})
	e.post(olive, "golf", posts.PostInput{Title: "Golf news"})
	e.post(olive, "hotel", posts.PostInput{Title: "Hotel news"})
	e.post(olive, "india", posts.PostInput{Title: "India please ack", AckUserIDs: []uint64{max.ID}})
	e.post(olive, "juliet", posts.PostInput{Title: "Juliet news"})
	e.post(olive, "kilo", posts.PostInput{Title: "Kilo news"})
	e.at(day(10, 29, 12))
	if err := e.posts.SetDecision(olive.Actor(), posts.Target{PostID: atStart.ID}, true); err != nil {
		t.Fatal(err)
	}
	e.post(olive, "apollo", posts.PostInput{Title: "Please ack", AckUserIDs: []uint64{max.ID}})
	e.at(w.End.Add(-time.Nanosecond))
	e.post(olive, "apollo", posts.PostInput{Title: "Just in time"})
	e.at(w.End)
	e.post(olive, "apollo", posts.PostInput{Title: "At the end"})
	e.at(day(11, 3, 12))
	e.post(olive, "borealis", posts.PostInput{Title: "Borealis off track", Health: posts.OffTrack})
	if err := e.posts.SetDecision(olive.Actor(), posts.Target{PostID: pinnedIn.ID}, true); err != nil {
		t.Fatal(err)
	}
	if err := e.posts.SetArchived(olive.Actor(), "india", true); err != nil {
		t.Fatal(err)
	}

	t.Run("RemovedMemberNoLongerSeesIt", func(t *testing.T) {
		if d := e.digest(max, w); !slices.Contains(projectSlugs(d), "golf") {
			t.Fatalf("golf missing while Max is a member: %v", projectSlugs(d))
		}
		if err := e.posts.RemoveMember(olive.Actor(), "golf", max.ID); err != nil {
			t.Fatal(err)
		}
		// Max chose to follow golf, but may no longer read it.
		if d := e.digest(max, w); slices.Contains(projectSlugs(d), "golf") {
			t.Fatal("golf is still in the digest of a removed member")
		}
	})

	d := e.digest(max, w)
	if d.User == nil || d.User.ID != max.ID || !d.Window.Start.Equal(w.Start) {
		t.Fatalf("digest of %+v for %+v", d.User, d.Window)
	}

	t.Run("OrderByHealth", func(t *testing.T) {
		// Off track, at risk (at the window's end), overdue, then by the
		// number of posts and by name. Echo had nothing to say; foxtrot
		// and golf are unreadable, hotel not followed, india archived.
		want := []string{"cygnus", "borealis", "delta", "apollo", "juliet", "kilo"}
		if got := projectSlugs(d); !slices.Equal(got, want) {
			t.Fatalf("projects %v, want %v", got, want)
		}
	})

	t.Run("PostsInWindow", func(t *testing.T) {
		a := findProject(t, d, "apollo")
		want := []string{"Just in time", "Please ack", "Max's own", "Pinned in window", "At the start"}
		if got := postTitles(a.Posts); !slices.Equal(got, want) {
			t.Fatalf("apollo posts %q, want %q", got, want)
		}
		for _, p := range a.Posts {
			mine := p.Post.Title == "Max's own"
			if p.Mine != mine {
				t.Errorf("%q: Mine %v", p.Post.Title, p.Mine)
			}
			wantAuthor := olive.ID
			if mine {
				wantAuthor = max.ID
			}
			if p.Author == nil || p.Author.ID != wantAuthor {
				t.Errorf("%q: author %+v", p.Post.Title, p.Author)
			}
			wantComments := 0
			if p.Post.ID == atStart.ID {
				wantComments = 2
			}
			if p.Comments != wantComments {
				t.Errorf("%q: %d comments, want %d", p.Post.Title, p.Comments, wantComments)
			}
		}
		if a.Overdue || a.HealthChanged || a.Health != posts.HealthNone {
			t.Errorf("apollo: %+v", a)
		}
	})

	t.Run("DecisionsInWindow", func(t *testing.T) {
		a := findProject(t, d, "apollo")
		if len(a.Decisions) != 1 || a.Decisions[0].PostID != atStart.ID || a.Decisions[0].Post == nil {
			t.Fatalf("apollo decisions %+v, want the one marked on 29 October", a.Decisions)
		}
	})

	t.Run("HealthChange", func(t *testing.T) {
		b := findProject(t, d, "borealis")
		// The health at the window's end, not the off track of 3 November.
		if b.Health != posts.AtRisk || !b.HealthChanged || b.PreviousHealth != posts.OnTrack {
			t.Fatalf("borealis health %q changed %v from %q, want at_risk changed from on_track", b.Health, b.HealthChanged, b.PreviousHealth)
		}
		if got := postTitles(b.Posts); !slices.Equal(got, []string{"Borealis at risk"}) {
			t.Fatalf("borealis posts %q", got)
		}
		c := findProject(t, d, "cygnus")
		if c.Health != posts.OffTrack || c.HealthChanged || c.PreviousHealth != "" {
			t.Fatalf("cygnus health %q changed %v from %q, want off_track unchanged", c.Health, c.HealthChanged, c.PreviousHealth)
		}
	})

	t.Run("OverdueWithoutPosts", func(t *testing.T) {
		dl := findProject(t, d, "delta")
		if !dl.Overdue || len(dl.Posts) != 0 || len(dl.Decisions) != 0 {
			t.Fatalf("delta %+v", dl)
		}
		for _, p := range d.Projects {
			if p.Project.Slug != "delta" && p.Overdue {
				t.Errorf("%s overdue", p.Project.Slug)
			}
		}
	})

	t.Run("WaitingAcks", func(t *testing.T) {
		// The request in archived India cannot be answered any more.
		if len(d.Waiting) != 1 || d.Waiting[0].Title != "Please ack" {
			var titles []string
			for _, p := range d.Waiting {
				titles = append(titles, p.Title)
			}
			t.Fatalf("waiting %q, want [Please ack]", titles)
		}
		if d.Empty() {
			t.Fatal("Empty() on a full digest")
		}
	})

	t.Run("OtherReaders", func(t *testing.T) {
		// Olive owns everything: her digest has her own posts, marked so,
		// and private foxtrot, but not archived india.
		od := e.digest(olive, w)
		f := findProject(t, od, "foxtrot")
		if len(f.Posts) != 1 || !f.Posts[0].Mine {
			t.Fatalf("foxtrot for its owner: %+v", f.Posts)
		}
		if slices.Contains(projectSlugs(od), "india") {
			t.Fatal("an archived project is in the digest")
		}
		if len(od.Waiting) != 0 {
			t.Fatalf("Olive waits for %d acks", len(od.Waiting))
		}
	})

	t.Run("WeekBefore", func(t *testing.T) {
		prev := e.digest(max, w.Previous())
		// Week 43: Borealis and Cygnus status updates of 15 October are
		// in week 42; apollo's "Just before" is the only news (and delta
		// is overdue).
		if got := projectSlugs(prev); !slices.Equal(got, []string{"delta", "apollo"}) {
			t.Fatalf("week 43 projects %v", got)
		}
		if got := postTitles(findProject(t, prev, "apollo").Posts); !slices.Equal(got, []string{"Just before"}) {
			t.Fatalf("week 43 apollo posts %q", got)
		}
	})
}

func TestBuildDigestHealth(t *testing.T) {
	w := week44(t)
	before, in1, in2, after := w.Start.Add(-48*time.Hour), w.Start.Add(24*time.Hour), w.Start.Add(48*time.Hour), w.End.Add(24*time.Hour)
	type update struct {
		at time.Time
		h  posts.Health
	}
	for _, c := range []struct {
		name     string
		updates  []update
		health   posts.Health
		changed  bool
		previous posts.Health
	}{
		{"NoStatusUpdate", nil, "", false, ""},
		{"OnlyBefore", []update{{before, posts.OffTrack}}, posts.OffTrack, false, ""},
		{"FirstInWindow", []update{{in1, posts.AtRisk}}, posts.AtRisk, true, ""},
		{"ChangedInWindow", []update{{before, posts.OnTrack}, {in1, posts.OffTrack}}, posts.OffTrack, true, posts.OnTrack},
		{"TwoBefore", []update{{before.Add(-time.Hour), posts.OffTrack}, {before, posts.OnTrack}, {in1, posts.AtRisk}}, posts.AtRisk, true, posts.OnTrack},
		{"SameAgain", []update{{before, posts.OnTrack}, {in1, posts.OnTrack}}, posts.OnTrack, false, ""},
		{"ChangedAndBack", []update{{before, posts.OnTrack}, {in1, posts.AtRisk}, {in2, posts.OnTrack}}, posts.OnTrack, false, ""},
		{"TwiceInWindow", []update{{before, posts.OnTrack}, {in1, posts.AtRisk}, {in2, posts.OffTrack}}, posts.OffTrack, true, posts.OnTrack},
		{"OnlyAfterEnd", []update{{after, posts.OffTrack}}, "", false, ""},
		{"ChangedAfterEndOnly", []update{{before, posts.AtRisk}, {after, posts.OnTrack}}, posts.AtRisk, false, ""},
		{"InWindowAndAfter", []update{{before, posts.AtRisk}, {in1, posts.OnTrack}, {after, posts.OffTrack}}, posts.OnTrack, true, posts.AtRisk},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDigestEnv(t)
			e.at(w.Start.Add(-30 * 24 * time.Hour))
			olive := e.user("olive@example.com", "Olive Owner", "")
			e.project(olive, "apollo", "Apollo", access.Private)
			news := false
			for _, u := range c.updates {
				if !news && !u.at.Before(w.Start) {
					// An ordinary post keeps the project in the digest.
					e.at(w.Start.Add(time.Hour)).post(olive, "apollo", posts.PostInput{Title: "News"})
					news = true
				}
				e.at(u.at).post(olive, "apollo", posts.PostInput{Title: fmt.Sprintf("Status %s", u.h), Health: u.h})
			}
			if !news {
				e.at(w.Start.Add(time.Hour)).post(olive, "apollo", posts.PostInput{Title: "News"})
			}
			d := e.digest(olive, w)
			if len(d.Projects) != 1 {
				t.Fatalf("%d projects", len(d.Projects))
			}
			p := d.Projects[0]
			if p.Health != c.health || p.HealthChanged != c.changed || p.PreviousHealth != c.previous {
				t.Fatalf("health %q changed %v from %q, want %q %v from %q", p.Health, p.HealthChanged, p.PreviousHealth, c.health, c.changed, c.previous)
			}
		})
	}
}

// TestBuildDigestPaging has more posts and decisions in the window than
// one page of the posts package holds, and more after the window.
func TestBuildDigestPaging(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 posts")
	}
	w := week44(t)
	e := newDigestEnv(t)
	e.at(w.Start.Add(-10 * 24 * time.Hour))
	olive := e.user("olive@example.com", "Olive Owner", "")
	e.project(olive, "apollo", "Apollo", access.Private)
	const before, in, after, decided = 5, posts.MaxLimit + 30, 40, 25
	var inWindow []*posts.Post
	for i := range before + in + after {
		var at time.Time
		switch {
		case i < before:
			at = w.Start.Add(-time.Duration(before-i) * time.Hour)
		case i < before+in:
			at = w.Start.Add(time.Duration(i-before) * time.Hour)
		default:
			at = w.End.Add(time.Duration(i-before-in) * time.Minute)
		}
		p := e.at(at).post(olive, "apollo", posts.PostInput{Title: fmt.Sprintf("Post %03d", i)})
		if i >= before && i < before+in {
			inWindow = append(inWindow, p)
		}
	}
	// Decisions: some marked in the window, some after it.
	for i, p := range inWindow[:decided+10] {
		at := w.Start.Add(time.Duration(i) * time.Minute)
		if i >= decided {
			at = w.End.Add(time.Duration(i) * time.Hour)
		}
		e.at(at)
		if err := e.posts.SetDecision(olive.Actor(), posts.Target{PostID: p.ID}, true); err != nil {
			t.Fatal(err)
		}
	}
	d := e.digest(olive, w)
	a := findProject(t, d, "apollo")
	if len(a.Posts) != in {
		t.Fatalf("%d posts, want %d", len(a.Posts), in)
	}
	for i, p := range a.Posts {
		if want := inWindow[in-1-i]; p.Post.ID != want.ID {
			t.Fatalf("post %d is %q, want %q", i, p.Post.Title, want.Title)
		}
	}
	if len(a.Decisions) != decided {
		t.Fatalf("%d decisions, want %d", len(a.Decisions), decided)
	}
	for i := 1; i < len(a.Decisions); i++ {
		if a.Decisions[i].MarkedAt.After(a.Decisions[i-1].MarkedAt) {
			t.Fatal("decisions not newest first")
		}
	}
}

func TestBuildDigestEmpty(t *testing.T) {
	w := week44(t)
	e := newDigestEnv(t)
	e.at(w.Start.Add(-10 * 24 * time.Hour))
	olive := e.user("olive@example.com", "Olive Owner", "")
	nick := e.user("nick@example.com", "Nick", "")
	e.project(olive, "apollo", "Apollo", access.Internal)
	e.post(olive, "apollo", posts.PostInput{Title: "Before the window"})
	e.at(w.End.Add(time.Hour)).post(olive, "apollo", posts.PostInput{Title: "After the window"})

	for _, c := range []struct {
		name string
		u    *users.User
	}{
		{"FollowsNothing", nick},
		{"NothingInWindow", olive},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := e.digest(c.u, w)
			if !d.Empty() || len(d.Projects) != 0 || len(d.Waiting) != 0 {
				t.Fatalf("digest %+v, want empty", d)
			}
		})
	}

	t.Run("Deactivated", func(t *testing.T) {
		e.at(w.Start.Add(time.Hour)).post(olive, "apollo", posts.PostInput{Title: "In the window"})
		if d := e.digest(olive, w); d.Empty() {
			t.Fatal("empty digest with a post in the window")
		}
		if err := e.users.SetActive(olive.ID, false); err != nil {
			t.Fatal(err)
		}
		if d := e.digest(olive, w); !d.Empty() {
			t.Fatalf("a deactivated account's digest: %v", projectSlugs(d))
		}
	})

	t.Run("ErrUnknownUser", func(t *testing.T) {
		_, err := e.n.BuildDigest(9999, w)
		wantCode(t, err, apperr.NotFound)
	})
}

// TestBuildDigestModes: Weekly and Immediate put a project in the weekly
// digest (the digest is the complete record of the week, also of what was
// told at once), Daily in the daily digest only, Off in neither.
func TestBuildDigestModes(t *testing.T) {
	w := week44(t)
	for _, m := range []notify.Mode{notify.Weekly, notify.Daily, notify.Immediate, notify.Off} {
		t.Run(strings.ToUpper(string(m[:1]))+string(m[1:]), func(t *testing.T) {
			e := newDigestEnv(t)
			e.at(w.Start.Add(-time.Hour))
			olive := e.user("olive@example.com", "Olive Owner", "")
			e.project(olive, "apollo", "Apollo", access.Internal)
			e.follow(olive, "apollo", m)
			published := w.Start.Add(time.Hour)
			e.at(published).post(olive, "apollo", posts.PostInput{Title: "News"})
			weekly := map[notify.Mode]int{notify.Weekly: 1, notify.Immediate: 1}[m]
			if got := len(e.digest(olive, w).Projects); got != weekly {
				t.Fatalf("weekly digest: %d projects, want %d", got, weekly)
			}
			day := notify.DailyWindow(published.Add(24*time.Hour), time.UTC, 8)
			if !day.Daily || published.Before(day.Start) || !published.Before(day.End) {
				t.Fatalf("daily window %+v does not hold %v", day, published)
			}
			daily := map[notify.Mode]int{notify.Daily: 1}[m]
			if got := len(e.digest(olive, day).Projects); got != daily {
				t.Fatalf("daily digest: %d projects, want %d", got, daily)
			}
		})
	}
}

// TestBuildDigestLongHealthHistory: the health history the posts package
// returns is cut at posts.MaxLimit entries, newest first. When the cut
// falls after the window, the health at its end is unknown and the digest
// shows the current one; when it falls inside the window, the health
// before the window is unknown and no change is claimed.
func TestBuildDigestLongHealthHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes over 100 posts")
	}
	w := week44(t)
	e := newDigestEnv(t)
	e.at(w.Start.Add(-48 * time.Hour))
	olive := e.user("olive@example.com", "Olive Owner", "")
	e.project(olive, "apollo", "Apollo", access.Private)
	e.post(olive, "apollo", posts.PostInput{Title: "On track", Health: posts.OnTrack})
	e.at(w.Start.Add(time.Hour)).post(olive, "apollo", posts.PostInput{Title: "At risk", Health: posts.AtRisk})
	for i := range posts.MaxLimit {
		e.at(w.End.Add(time.Duration(i)*time.Minute)).post(olive, "apollo", posts.PostInput{Title: fmt.Sprintf("Off track %d", i), Health: posts.OffTrack})
	}
	e.at(w.End.Add(24 * time.Hour))
	for _, c := range []struct {
		name     string
		health   posts.Health
		changed  bool
		previous posts.Health
	}{
		{"CutAfterWindow", posts.OffTrack, false, ""},
		{"CutInWindow", posts.AtRisk, false, ""},
		{"Complete", posts.AtRisk, true, posts.OnTrack},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := findProject(t, e.digest(olive, w), "apollo")
			if p.Health != c.health || p.HealthChanged != c.changed || p.PreviousHealth != c.previous || len(p.Posts) != 1 {
				t.Fatalf("health %q changed %v from %q, %d posts; want %q %v from %q", p.Health, p.HealthChanged, p.PreviousHealth, len(p.Posts), c.health, c.changed, c.previous)
			}
			// The next case has one status update fewer after the window.
			pv, err := e.posts.Project(olive.Actor(), "apollo")
			if err != nil {
				t.Fatal(err)
			}
			if err := e.posts.DeletePost(olive.Actor(), pv.HealthPostID); err != nil {
				t.Fatal(err)
			}
		})
	}
}
