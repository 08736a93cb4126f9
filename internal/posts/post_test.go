package posts

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

func TestPostSlugs(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	f.project("beta", access.Public)

	t.Run("DerivedAndNumbered", func(t *testing.T) {
		var got []string
		for range 3 {
			got = append(got, f.post(member, "alpha", titled("Réunion d'équipe — Q3!")).Slug)
		}
		if want := []string{"reunion-d-equipe-q3", "reunion-d-equipe-q3-2", "reunion-d-equipe-q3-3"}; !slices.Equal(got, want) {
			t.Errorf("slugs = %v, want %v", got, want)
		}
		// Slugs are per project.
		if s := f.post(member, "beta", titled("Réunion d'équipe — Q3!")).Slug; s != "reunion-d-equipe-q3" {
			t.Errorf("slug in beta = %q", s)
		}
	})
	t.Run("DerivedFallbackAndReserved", func(t *testing.T) {
		if s := f.post(member, "alpha", titled("日本語")).Slug; s != "post" {
			t.Errorf("slug = %q, want post", s)
		}
		if s := f.post(member, "alpha", titled("Drafts")).Slug; s != "drafts-2" {
			t.Errorf("slug = %q, want drafts-2", s)
		}
	})
	t.Run("DerivedLongTitleWithSuffix", func(t *testing.T) {
		title := strings.Repeat("word ", 40)
		a := f.post(member, "alpha", titled("%s", title))
		b := f.post(member, "alpha", titled("%s", title))
		if len(a.Slug) > MaxPostSlugLen || len(b.Slug) > MaxPostSlugLen || !strings.HasSuffix(b.Slug, "-2") || a.Slug == b.Slug {
			t.Errorf("slugs %q %q", a.Slug, b.Slug)
		}
	})
	t.Run("ErrExplicitTaken", func(t *testing.T) {
		f.post(member, "alpha", PostInput{Title: "X", Slug: "custom"})
		_, err := f.s.CreatePost(member, "alpha", PostInput{Title: "Y", Slug: "custom"})
		wantField(t, err, apperr.Conflict, "slug")
	})
	t.Run("ChangeKeepsOldSlug", func(t *testing.T) {
		p := f.post(member, "alpha", titled("Original title"))
		in := inputOf(p)
		in.Slug = "renamed"
		p = f.update(member, p.ID, in)
		if p.Slug != "renamed" || p.Revision != 1 {
			t.Errorf("slug %q revision %d (a slug change is no new revision)", p.Slug, p.Revision)
		}
		for _, tt := range []struct {
			slug      string
			canonical bool
		}{{"renamed", true}, {"original-title", false}} {
			got, pv, canonical, err := f.s.ResolvePost(anon, "alpha", tt.slug)
			must(t, err)
			if got.ID != p.ID || canonical != tt.canonical || pv.Slug != "alpha" {
				t.Errorf("ResolvePost(%s) = %d, canonical %v", tt.slug, got.ID, canonical)
			}
		}
		// A new post may not take the old slug: it derives the next one.
		if s := f.post(member2, "alpha", titled("Original title")).Slug; s != "original-title-2" {
			t.Errorf("new post slug = %q", s)
		}
		// Nor may another post take it explicitly.
		_, err := f.s.CreatePost(member2, "alpha", PostInput{Title: "Z", Slug: "original-title"})
		wantField(t, err, apperr.Conflict, "slug")
		other := f.post(member2, "alpha", titled("Other"))
		in2 := inputOf(other)
		in2.Slug = "original-title"
		_, err = f.s.UpdatePost(member2, other.ID, in2)
		wantField(t, err, apperr.Conflict, "slug")
		// The post itself may take its old slug back.
		in.Slug = "original-title"
		p = f.update(member, p.ID, in)
		_, _, canonical, err := f.s.ResolvePost(anon, "alpha", "renamed")
		must(t, err)
		if p.Slug != "original-title" || canonical {
			t.Errorf("slug %q, renamed canonical %v", p.Slug, canonical)
		}
	})
	t.Run("ErrResolveMissing", func(t *testing.T) {
		_, _, _, err := f.s.ResolvePost(anon, "alpha", "nope")
		wantCode(t, err, apperr.NotFound)
		_, _, _, err = f.s.ResolvePost(anon, "nope", "post")
		wantCode(t, err, apperr.NotFound)
	})
}

func TestRevisions(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", PostInput{Title: "Plan", Body: "one\ntwo\n", Tags: []string{"ops"}})

	t.Run("UnchangedFormWritesNothing", func(t *testing.T) {
		head := f.db.Head()
		q := f.update(member, p.ID, inputOf(p))
		if q.Revision != 1 || !q.UpdatedAt.Equal(p.UpdatedAt) || f.db.Head() != head {
			t.Errorf("revision %d updated %v head %d->%d", q.Revision, q.UpdatedAt, head, f.db.Head())
		}
	})
	t.Run("EditsMakeRevisions", func(t *testing.T) {
		in := inputOf(p)
		in.Body = "one\n2\n"
		in.BaseRevision = 1
		q := f.update(member, p.ID, in)
		if q.Revision != 2 || q.Body != "one\n2\n" || !strings.Contains(q.HTML, "2") {
			t.Errorf("post = %+v", q)
		}
		in = inputOf(q)
		in.Tags = []string{"ops", "plan"}
		q = f.update(owner, p.ID, in) // someone else's post: owner has EditOthers
		if q.Revision != 3 || q.AuthorID != member.UserID {
			t.Errorf("revision %d author %d", q.Revision, q.AuthorID)
		}
		revs, err := f.s.Revisions(viewer, p.ID)
		must(t, err)
		var ns []int
		for _, r := range revs {
			ns = append(ns, r.N)
		}
		if !slices.Equal(ns, []int{3, 2, 1}) || revs[0].EditorID != owner.UserID || revs[1].EditorID != member.UserID {
			t.Errorf("revisions %v, editors %d %d", ns, revs[0].EditorID, revs[1].EditorID)
		}
		r1, err := f.s.Revision(viewer, p.ID, 1)
		must(t, err)
		r2, err := f.s.Revision(viewer, p.ID, 2)
		must(t, err)
		want := []DiffLine{{' ', "one"}, {'-', "two"}, {'+', "2"}}
		if got := Diff(r1.Body, r2.Body); !slices.Equal(got, want) {
			t.Errorf("diff = %q, want %q", got, want)
		}
		if !slices.Equal(revs[0].Tags, []string{"ops", "plan"}) || !slices.Equal(r1.Tags, []string{"ops"}) {
			t.Errorf("tags %v %v", revs[0].Tags, r1.Tags)
		}
		_, err = f.s.Revision(viewer, p.ID, 4)
		wantCode(t, err, apperr.NotFound)
		_, err = f.s.Revisions(anon, p.ID)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("ErrBaseRevisionConflict", func(t *testing.T) {
		in := inputOf(p)
		in.Body = "stale edit"
		in.BaseRevision = 1
		_, err := f.s.UpdatePost(member, p.ID, in)
		wantCode(t, err, apperr.Conflict)
		if msg := apperr.MessageOf(err); msg != "This post was changed since you opened it (now revision 3)." {
			t.Errorf("message = %q", msg)
		}
		got, _, err := f.s.Post(member, p.ID)
		must(t, err)
		if got.Revision != 3 || got.Body != "one\n2\n" {
			t.Errorf("post changed: %+v", got)
		}
	})
	t.Run("ErrOthersPost", func(t *testing.T) {
		_, err := f.s.UpdatePost(member2, p.ID, titled("Mine now"))
		wantCode(t, err, apperr.Forbidden)
		_, err = f.s.UpdatePost(viewer, p.ID, titled("Mine now"))
		wantCode(t, err, apperr.Forbidden)
		_, err = f.s.UpdatePost(outsider, p.ID, titled("Mine now"))
		wantCode(t, err, apperr.Forbidden)
		_, err = f.s.UpdatePost(anon, p.ID, titled("Mine now"))
		wantCode(t, err, apperr.NotFound)
	})
}

func TestPublishDraft(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	d := f.post(member, "alpha", PostInput{Title: "Draft", Draft: true})
	if !d.PublishedAt.IsZero() || !d.Draft {
		t.Fatalf("draft = %+v", d)
	}
	t.Run("DraftVisibleOnlyToEditors", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			actor access.Actor
			ok    bool
		}{{"Author", member, true}, {"Owner", owner, true}, {"Admin", admin, true}, {"OtherMember", member2, false}, {"Viewer", viewer, false}, {"Anonymous", anon, false}} {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := f.s.Post(tt.actor, d.ID)
				if tt.ok {
					must(t, err)
				} else {
					wantCode(t, err, apperr.NotFound)
				}
				_, _, _, err = f.s.ResolvePost(tt.actor, "alpha", d.Slug)
				if !tt.ok {
					wantCode(t, err, apperr.NotFound)
				}
			})
		}
		for _, tt := range []struct {
			actor access.Actor
			n     int
		}{{member, 1}, {owner, 1}, {member2, 0}, {viewer, 0}, {anon, 0}} {
			ds, err := f.s.Drafts(tt.actor, "alpha")
			must(t, err)
			if len(ds) != tt.n {
				t.Errorf("Drafts(%d) = %d, want %d", tt.actor.UserID, len(ds), tt.n)
			}
		}
		_, page, err := f.s.ProjectPosts(member, "alpha", "", 10)
		must(t, err)
		if len(page.Posts) != 0 {
			t.Errorf("draft listed")
		}
	})
	in := inputOf(d)
	in.Draft = false
	pub := f.update(member, d.ID, in)
	firstPublished := pub.PublishedAt
	t.Run("PublishSetsPublishedAt", func(t *testing.T) {
		if pub.Draft || !pub.PublishedAt.Equal(f.clk.Now()) || pub.Revision != 1 {
			t.Errorf("post = %+v", pub)
		}
	})
	t.Run("UnpublishAndRepublishKeepPublishedAt", func(t *testing.T) {
		in.Draft = true
		un := f.update(member, d.ID, in)
		if !un.Draft || !un.PublishedAt.Equal(firstPublished) {
			t.Errorf("unpublished = %+v", un)
		}
		_, _, err := f.s.Post(anon, d.ID)
		wantCode(t, err, apperr.NotFound)
		in.Draft = false
		re := f.update(member, d.ID, in)
		if re.Draft || !re.PublishedAt.Equal(firstPublished) || re.UpdatedAt.Equal(firstPublished) {
			t.Errorf("republished = %+v", re)
		}
		_, _, err = f.s.Post(anon, d.ID)
		must(t, err)
	})
}

func TestPinned(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	var ids []uint64
	for i := range 5 {
		ids = append(ids, f.post(member, "alpha", titled("Post %d", i)).ID)
	}
	t.Run("ErrMemberMayNotPin", func(t *testing.T) {
		wantCode(t, f.s.SetPinned(member, ids[0], true), apperr.Forbidden)
		p, err := f.s.CreatePost(member, "alpha", PostInput{Title: "Wants pin", Pinned: true})
		must(t, err)
		if p.Pinned {
			t.Errorf("member pinned a post")
		}
		must(t, f.s.DeletePost(member, p.ID))
	})
	must(t, f.s.SetPinned(owner, ids[0], true))
	must(t, f.s.SetPinned(owner, ids[2], true))
	t.Run("PinnedFirstPageOnly", func(t *testing.T) {
		pinned, page, err := f.s.ProjectPosts(anon, "alpha", "", 2)
		must(t, err)
		if got := titles(pinned); !slices.Equal(got, []string{"Post 2", "Post 0"}) {
			t.Errorf("pinned = %v", got)
		}
		if got := titles(page.Posts); !slices.Equal(got, []string{"Post 4", "Post 3"}) || page.Next == "" {
			t.Errorf("page = %v next %q", got, page.Next)
		}
		pinned, page, err = f.s.ProjectPosts(anon, "alpha", page.Next, 2)
		must(t, err)
		if pinned != nil || !slices.Equal(titles(page.Posts), []string{"Post 1"}) || page.Next != "" {
			t.Errorf("second page pinned %v posts %v next %q", titles(pinned), titles(page.Posts), page.Next)
		}
	})
	t.Run("MemberEditKeepsPin", func(t *testing.T) {
		p, _, err := f.s.Post(member, ids[0])
		must(t, err)
		in := inputOf(p)
		in.Pinned = false // a member's form has no pin checkbox
		in.Body = "edited"
		p = f.update(member, ids[0], in)
		if !p.Pinned {
			t.Errorf("member's edit unpinned the post")
		}
	})
	t.Run("OwnerUnpinsByForm", func(t *testing.T) {
		p, _, err := f.s.Post(owner, ids[2])
		must(t, err)
		in := inputOf(p)
		in.Pinned = false
		if p = f.update(owner, ids[2], in); p.Pinned {
			t.Errorf("still pinned")
		}
		pinned, page, err := f.s.ProjectPosts(anon, "alpha", "", 10)
		must(t, err)
		if !slices.Equal(titles(pinned), []string{"Post 0"}) || len(page.Posts) != 4 {
			t.Errorf("pinned %v page %v", titles(pinned), titles(page.Posts))
		}
	})
}

func TestDeleteAndRestore(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	p := f.post(member, "alpha", PostInput{Title: "Doomed", Tags: []string{"ops"}})
	keep := f.post(member2, "alpha", titled("Kept"))

	wantCode(t, f.s.DeletePost(member2, p.ID), apperr.Forbidden)
	wantCode(t, f.s.DeletePost(viewer, p.ID), apperr.Forbidden)
	wantCode(t, f.s.DeletePost(anon, p.ID), apperr.Unauthorized)
	f.clk.Advance(time.Minute)
	must(t, f.s.DeletePost(member, p.ID))
	must(t, f.s.DeletePost(member, p.ID)) // again: a no-op

	t.Run("GoneForReaders", func(t *testing.T) {
		for _, a := range []access.Actor{anon, viewer, member2} {
			_, _, err := f.s.Post(a, p.ID)
			wantCode(t, err, apperr.NotFound)
			_, _, _, err = f.s.ResolvePost(a, "alpha", p.Slug)
			wantCode(t, err, apperr.NotFound)
		}
		for _, a := range []access.Actor{owner, admin, member} {
			got, _, err := f.s.Post(a, p.ID)
			must(t, err)
			if !got.DeletedAt.Equal(f.clk.Now()) {
				t.Errorf("DeletedAt = %v", got.DeletedAt)
			}
		}
		_, page, err := f.s.ProjectPosts(owner, "alpha", "", 10)
		must(t, err)
		if !slices.Equal(titles(page.Posts), []string{"Kept"}) {
			t.Errorf("listed: %v", titles(page.Posts))
		}
		for name, list := range map[string]func() (Page, error){
			"Recent": func() (Page, error) { return f.s.Recent(owner, "", 10) },
			"Tag":    func() (Page, error) { return f.s.TagPosts(owner, "alpha", "ops", "", 10) },
			"Author": func() (Page, error) { return f.s.AuthorPosts(owner, member.UserID, "", 10) },
		} {
			page, err := list()
			must(t, err)
			if slices.ContainsFunc(page.Posts, func(q *Post) bool { return q.ID == p.ID }) {
				t.Errorf("%s lists a deleted post", name)
			}
		}
		pv := mustProject(t, f, "alpha")
		if pv.PostCount != 1 {
			t.Errorf("PostCount = %d", pv.PostCount)
		}
	})
	t.Run("ErrEditInTrash", func(t *testing.T) {
		_, err := f.s.UpdatePost(owner, p.ID, titled("x"))
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("Trash", func(t *testing.T) {
		tr, err := f.s.Trash(owner, "alpha")
		must(t, err)
		if len(tr) != 1 || tr[0].ID != p.ID {
			t.Errorf("trash = %v", titles(tr))
		}
		_, err = f.s.Trash(member, "alpha")
		wantCode(t, err, apperr.Forbidden)
		_, err = f.s.Trash(anon, "alpha")
		wantCode(t, err, apperr.Unauthorized)
	})
	t.Run("ErrAuthorCannotRestore", func(t *testing.T) {
		wantCode(t, f.s.RestorePost(member, p.ID), apperr.Forbidden)
		wantCode(t, f.s.RestorePost(member2, p.ID), apperr.NotFound)
	})
	t.Run("OwnerRestores", func(t *testing.T) {
		must(t, f.s.RestorePost(owner, p.ID))
		got, _, err := f.s.Post(anon, p.ID)
		must(t, err)
		if !got.DeletedAt.IsZero() {
			t.Errorf("still deleted")
		}
		_, page, err := f.s.ProjectPosts(anon, "alpha", "", 10)
		must(t, err)
		if !slices.Equal(titles(page.Posts), []string{"Kept", "Doomed"}) {
			t.Errorf("listed: %v", titles(page.Posts))
		}
		tr, err := f.s.Trash(owner, "alpha")
		must(t, err)
		if len(tr) != 0 {
			t.Errorf("trash = %v", titles(tr))
		}
		if mustProject(t, f, "alpha").PostCount != 2 {
			t.Errorf("PostCount wrong")
		}
	})
	t.Run("DraftRestoresToDrafts", func(t *testing.T) {
		d := f.post(member, "alpha", PostInput{Title: "Draft", Draft: true})
		must(t, f.s.DeletePost(owner, d.ID))
		ds, err := f.s.Drafts(member, "alpha")
		must(t, err)
		if len(ds) != 0 {
			t.Errorf("deleted draft in drafts")
		}
		must(t, f.s.RestorePost(admin, d.ID))
		ds, err = f.s.Drafts(member, "alpha")
		must(t, err)
		if len(ds) != 1 {
			t.Errorf("restored draft not in drafts")
		}
	})
	_ = keep
}

func TestCountsFollowState(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	f.clk.Set(time.Date(2025, time.January, 15, 12, 0, 0, 0, time.UTC))
	jan := f.post(member, "alpha", PostInput{Title: "Jan", Tags: []string{"ops", "go"}})
	f.clk.Set(time.Date(2025, time.February, 3, 12, 0, 0, 0, time.UTC))
	feb1 := f.post(member, "alpha", PostInput{Title: "Feb 1", Tags: []string{"ops"}})
	f.post(member, "alpha", PostInput{Title: "Feb 2", Tags: []string{"ops"}})
	f.post(member, "alpha", PostInput{Title: "Feb draft", Tags: []string{"ops", "secret"}, Draft: true})

	check := func(t *testing.T, months []MonthCount, tags []TagCount) {
		t.Helper()
		gotM, err := f.s.Months(anon, "alpha")
		must(t, err)
		if !slices.Equal(gotM, months) {
			t.Errorf("months = %v, want %v", gotM, months)
		}
		gotT, err := f.s.Tags(anon, "alpha")
		must(t, err)
		if !slices.Equal(gotT, tags) {
			t.Errorf("tags = %v, want %v", gotT, tags)
		}
	}
	t.Run("Created", func(t *testing.T) {
		check(t, []MonthCount{{2025, time.February, 2}, {2025, time.January, 1}},
			[]TagCount{{"ops", 3}, {"go", 1}})
	})
	t.Run("Deleted", func(t *testing.T) {
		must(t, f.s.DeletePost(member, jan.ID))
		check(t, []MonthCount{{2025, time.February, 2}}, []TagCount{{"ops", 2}})
	})
	t.Run("Restored", func(t *testing.T) {
		must(t, f.s.RestorePost(owner, jan.ID))
		check(t, []MonthCount{{2025, time.February, 2}, {2025, time.January, 1}},
			[]TagCount{{"ops", 3}, {"go", 1}})
	})
	t.Run("Unpublished", func(t *testing.T) {
		in := inputOf(feb1)
		in.Draft = true
		f.update(member, feb1.ID, in)
		check(t, []MonthCount{{2025, time.February, 1}, {2025, time.January, 1}},
			[]TagCount{{"ops", 2}, {"go", 1}})
	})
	t.Run("Retagged", func(t *testing.T) {
		p, _, err := f.s.Post(member, jan.ID)
		must(t, err)
		in := inputOf(p)
		in.Tags = []string{"go", "infra"}
		f.update(member, jan.ID, in)
		check(t, []MonthCount{{2025, time.February, 1}, {2025, time.January, 1}},
			[]TagCount{{"go", 1}, {"infra", 1}, {"ops", 1}})
		page, err := f.s.TagPosts(anon, "alpha", "OPS", "", 10)
		must(t, err)
		if !slices.Equal(titles(page.Posts), []string{"Feb 2"}) {
			t.Errorf("ops posts = %v", titles(page.Posts))
		}
	})
	t.Run("MonthPosts", func(t *testing.T) {
		must(t, f.s.SetPinned(owner, jan.ID, true))
		ps, err := f.s.MonthPosts(anon, "alpha", 2025, time.January)
		must(t, err)
		if !slices.Equal(titles(ps), []string{"Jan"}) {
			t.Errorf("january = %v", titles(ps))
		}
		ps, err = f.s.MonthPosts(anon, "alpha", 2025, time.February)
		must(t, err)
		if !slices.Equal(titles(ps), []string{"Feb 2"}) {
			t.Errorf("february = %v", titles(ps))
		}
		ps, err = f.s.MonthPosts(anon, "alpha", 2025, time.March)
		must(t, err)
		if len(ps) != 0 {
			t.Errorf("march = %v", titles(ps))
		}
		_, err = f.s.MonthPosts(anon, "alpha", 2025, 13)
		wantCode(t, err, apperr.Invalid)
	})
}

func TestEvents(t *testing.T) {
	f := newFixture(t)
	p0, err := f.s.CreateProject(owner, ProjectInput{Slug: "alpha", Name: "Alpha"}, 0)
	must(t, err)
	must(t, f.s.SetMember(owner, "alpha", member.UserID, access.Member))
	_, err = f.s.UpdateProject(owner, "alpha", ProjectInput{Name: "Alpha!"})
	must(t, err)
	d := f.post(member, "alpha", PostInput{Title: "Draft", Draft: true})
	in := inputOf(d)
	in.Draft = false
	f.update(member, d.ID, in)
	in.Body = "edited"
	f.update(member, d.ID, in)
	f.update(member, d.ID, in) // no change, no event
	must(t, f.s.SetPinned(owner, d.ID, true))
	in.Draft = true
	in.Pinned = true
	f.update(member, d.ID, in)
	must(t, f.s.DeletePost(member, d.ID))
	must(t, f.s.RestorePost(owner, d.ID))
	must(t, f.s.SetArchived(owner, "alpha", true))
	must(t, f.s.SetArchived(owner, "alpha", true)) // no change, no event
	must(t, f.s.SetArchived(owner, "alpha", false))
	must(t, f.s.RemoveMember(owner, "alpha", member.UserID))
	pub := f.post(owner, "alpha", titled("Straight out"))

	want := []string{
		"project.created", "member.set", "member.set", "project.updated",
		"post.created", "post.published", "post.edited", "post.pinned", "post.unpublished",
		"post.deleted", "post.restored", "project.archived", "project.unarchived", "member.removed",
		"post.published",
	}
	if got := eventTypes(t, f.db, 0); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	evs, err := f.db.Events(0, 100)
	must(t, err)
	for _, ev := range evs {
		if ev.ProjectID != p0.ID || ev.Time.IsZero() || ev.ActorID == 0 {
			t.Errorf("event %+v lacks ids or time", ev)
		}
		if strings.HasPrefix(ev.Type, "post.") && ev.PostID == 0 {
			t.Errorf("event %s lacks the post id", ev.Type)
		}
	}
	var data struct {
		Revision int    `json:"revision"`
		Slug     string `json:"slug"`
		First    bool   `json:"first"`
	}
	must(t, json.Unmarshal(evs[5].Data, &data))
	if data.Revision != 1 || data.Slug != "draft" || !data.First {
		t.Errorf("post.published data = %s", evs[5].Data)
	}
	must(t, json.Unmarshal(evs[6].Data, &data))
	if data.Revision != 2 {
		t.Errorf("post.edited data = %s", evs[6].Data)
	}
	if last := evs[len(evs)-1]; last.PostID != pub.ID || last.ActorID != owner.UserID {
		t.Errorf("last event = %+v", last)
	}
	t.Run("FailedWriteAppendsNothing", func(t *testing.T) {
		head := f.db.Head()
		_, err := f.s.CreatePost(outsider, "alpha", titled("No"))
		wantCode(t, err, apperr.Forbidden)
		_, err = f.s.CreatePost(owner, "alpha", PostInput{Title: "Taken", Slug: "draft"})
		wantCode(t, err, apperr.Conflict)
		if f.db.Head() != head {
			t.Errorf("head moved %d -> %d", head, f.db.Head())
		}
	})
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: t0}
	db, err := store.Open(dir, store.Options{})
	must(t, err)
	s, err := New(db, Options{Now: clk.Now})
	must(t, err)
	_, err = s.CreateProject(owner, ProjectInput{Slug: "alpha", Name: "Alpha", Visibility: access.Private}, 0)
	must(t, err)
	must(t, s.SetMember(owner, "alpha", member.UserID, access.Member))
	p, err := s.CreatePost(member, "alpha", PostInput{Title: "Kept", Body: "Body *x*", Tags: []string{"ops"}})
	must(t, err)
	clk.Advance(time.Minute)
	p, err = s.UpdatePost(member, p.ID, PostInput{Title: "Kept", Body: "Body *y*", Tags: []string{"ops"}, Slug: "kept-2"})
	must(t, err)
	d, err := s.CreatePost(member, "alpha", PostInput{Title: "Draft", Draft: true})
	must(t, err)
	head := db.Head()
	must(t, db.Close())

	db, err = store.Open(dir, store.Options{})
	must(t, err)
	defer db.Close()
	s, err = New(db, Options{Now: clk.Now})
	must(t, err)
	if db.Head() != head {
		t.Errorf("head %d, want %d", db.Head(), head)
	}
	got, pv, canonical, err := s.ResolvePost(member, "alpha", "kept")
	must(t, err)
	if canonical || got.ID != p.ID || got.Revision != 2 || got.HTML != p.HTML || pv.Role != access.Member || pv.PostCount != 1 {
		t.Errorf("after reopen: %+v %+v canonical %v", got, pv.Project, canonical)
	}
	if !got.CreatedAt.Equal(t0) || got.CreatedAt.Location().String() != "UTC" {
		t.Errorf("CreatedAt = %v", got.CreatedAt)
	}
	_, err = s.Project(outsider, "alpha")
	wantCode(t, err, apperr.NotFound)
	_, page, err := s.ProjectPosts(member, "alpha", "", 10)
	must(t, err)
	ds, err := s.Drafts(member, "alpha")
	must(t, err)
	tags, err := s.Tags(member, "alpha")
	must(t, err)
	revs, err := s.Revisions(member, p.ID)
	must(t, err)
	if len(page.Posts) != 1 || len(ds) != 1 || ds[0].ID != d.ID || len(tags) != 1 || len(revs) != 2 {
		t.Errorf("page %d drafts %d tags %v revisions %d", len(page.Posts), len(ds), tags, len(revs))
	}
	// Sequences continue after reopening.
	q, err := s.CreatePost(member, "alpha", titled("Next"))
	must(t, err)
	if q.ID <= d.ID {
		t.Errorf("new id %d not after %d", q.ID, d.ID)
	}
}

func TestConcurrentWrites(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			a := member
			if i%2 == 1 {
				a = member2
			}
			_, err := f.s.CreatePost(a, "alpha", PostInput{Title: "Same title", Tags: []string{"load"}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		_, page, err := f.s.ProjectPosts(anon, "alpha", cursor, 7)
		must(t, err)
		for _, p := range page.Posts {
			if seen[p.Slug] {
				t.Errorf("slug %s twice", p.Slug)
			}
			seen[p.Slug] = true
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	tags, err := f.s.Tags(anon, "alpha")
	must(t, err)
	if len(seen) != 40 || mustProject(t, f, "alpha").PostCount != 40 || len(tags) != 1 || tags[0].Count != 40 {
		t.Errorf("seen %d tags %v", len(seen), tags)
	}
}
