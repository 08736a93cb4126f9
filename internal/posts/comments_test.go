package posts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// The discussion tests' cast has handles: each user's handle is the
// variable's name ("member2" is member2).
var castHandles = map[string]access.Actor{
	"admin": admin, "owner": owner, "member": member, "member2": member2,
	"viewer": viewer, "outsider": outsider,
}

// resolveCast is a MentionResolver over castHandles.
func resolveCast(handles []string) map[string]access.Actor {
	out := map[string]access.Actor{}
	for _, h := range handles {
		if a, ok := castHandles[h]; ok {
			out[h] = a
		}
	}
	return out
}

// newDiscussionFixture is newFixture with resolveCast as the resolver.
func newDiscussionFixture(tb testing.TB) *fixture {
	tb.Helper()
	db := mustOpenDB(tb)
	clk := &clock{t: t0}
	s, err := New(db, Options{Now: clk.Now, Mentions: resolveCast})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return &fixture{tb: tb, db: db, s: s, clk: clk}
}

// comment adds a comment one minute after the previous clock reading.
func (f *fixture) comment(actor access.Actor, postID, parentID uint64, body string) *Comment {
	f.tb.Helper()
	f.clk.Advance(time.Minute)
	c, err := f.s.AddComment(actor, postID, CommentInput{Body: body, ParentID: parentID})
	if err != nil {
		f.tb.Fatalf("AddComment(%q): %v", body, err)
	}
	return c
}

// evLines summarises the events after seq as "type post=P key=value ..."
// lines, keys sorted, so tests compare types, IDs and data at once.
func evLines(tb testing.TB, f *fixture, after uint64) []string {
	tb.Helper()
	evs, err := f.db.Events(after, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		line := fmt.Sprintf("%s post=%d", e.Type, e.PostID)
		if len(e.Data) > 0 {
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(e.Data))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				tb.Fatalf("event %s data %s: %v", e.Type, e.Data, err)
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				line += fmt.Sprintf(" %s=%v", k, m[k])
			}
		}
		out = append(out, line)
	}
	return out
}

func wantEvents(tb testing.TB, f *fixture, after uint64, want ...string) {
	tb.Helper()
	if got := evLines(tb, f, after); !slices.Equal(got, want) {
		tb.Errorf("events:\n  got  %q\n  want %q", got, want)
	}
}

// thread renders a comment list as "id" for comments, "id^parent" for
// replies and "(id)" for placeholders.
func thread(cs []*Comment) string {
	var parts []string
	for _, c := range cs {
		s := fmt.Sprint(c.ID)
		if c.ParentID != 0 {
			s += fmt.Sprintf("^%d", c.ParentID)
		}
		if c.Deleted() {
			s = "(" + s + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func mustComments(tb testing.TB, f *fixture, actor access.Actor, postID uint64) []*Comment {
	tb.Helper()
	cs, err := f.s.Comments(actor, postID)
	if err != nil {
		tb.Fatalf("Comments: %v", err)
	}
	return cs
}

func commentCount(tb testing.TB, f *fixture, postID uint64) int {
	tb.Helper()
	p, _, err := f.s.Post(admin, postID)
	if err != nil {
		tb.Fatal(err)
	}
	return p.CommentCount
}

func TestCommentThreads(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))
	other := f.post(member, "alpha", titled("Other"))

	head := f.db.Head()
	a := f.comment(viewer, p.ID, 0, "First *question*.")
	b := f.comment(member2, p.ID, 0, "Second.")
	a1 := f.comment(member, p.ID, a.ID, "Answer to the first.")
	// A reply to a reply joins the thread of the top-level comment.
	a2 := f.comment(viewer, p.ID, a1.ID, "Thanks!")
	b1 := f.comment(owner, p.ID, b.ID, "On the second.")
	c := f.comment(outsider, p.ID, 0, "Third, from a non-member of an internal project.")

	t.Run("Add", func(t *testing.T) {
		if a.PostID != p.ID || a.ProjectID != p.ProjectID || a.AuthorID != viewer.UserID || a.ParentID != 0 {
			t.Errorf("comment = %+v", a)
		}
		if a.Body != "First *question*." || a.HTML != "<p>First <em>question</em>.</p>\n" {
			t.Errorf("body %q html %q", a.Body, a.HTML)
		}
		if !a.CreatedAt.Equal(t0.Add(3*time.Minute)) || !a.UpdatedAt.Equal(a.CreatedAt) || a.Edited() || a.Deleted() {
			t.Errorf("times: created %v updated %v", a.CreatedAt, a.UpdatedAt)
		}
	})
	t.Run("ReplyToReplyJoinsThread", func(t *testing.T) {
		if a1.ParentID != a.ID || a2.ParentID != a.ID || b1.ParentID != b.ID {
			t.Errorf("parents: a1 %d a2 %d b1 %d", a1.ParentID, a2.ParentID, b1.ParentID)
		}
	})
	t.Run("ThreadOrder", func(t *testing.T) {
		got := thread(mustComments(t, f, outsider, p.ID))
		want := fmt.Sprintf("%d %d^%d %d^%d %d %d^%d %d", a.ID, a1.ID, a.ID, a2.ID, a.ID, b.ID, b1.ID, b.ID, c.ID)
		if got != want {
			t.Errorf("thread = %s, want %s", got, want)
		}
		if cs := mustComments(t, f, outsider, other.ID); len(cs) != 0 {
			t.Errorf("other post has %d comments", len(cs))
		}
	})
	t.Run("Count", func(t *testing.T) {
		if n := commentCount(t, f, p.ID); n != 6 {
			t.Errorf("CommentCount = %d, want 6", n)
		}
		// Listings carry the count.
		_, page, err := f.s.ProjectPosts(member, "alpha", "", 10)
		must(t, err)
		for _, lp := range page.Posts {
			if lp.ID == p.ID && lp.CommentCount != 6 {
				t.Errorf("listed CommentCount = %d", lp.CommentCount)
			}
		}
	})
	t.Run("Events", func(t *testing.T) {
		P := p.ID
		wantEvents(t, f, head,
			fmt.Sprintf("comment.added post=%d comment_id=%d parent_id=0", P, a.ID),
			fmt.Sprintf("comment.added post=%d comment_id=%d parent_id=0", P, b.ID),
			fmt.Sprintf("comment.added post=%d comment_id=%d parent_author_id=%d parent_id=%d", P, a1.ID, viewer.UserID, a.ID),
			fmt.Sprintf("comment.added post=%d comment_id=%d parent_author_id=%d parent_id=%d reply_to_id=%d", P, a2.ID, member.UserID, a.ID, a1.ID),
			fmt.Sprintf("comment.added post=%d comment_id=%d parent_author_id=%d parent_id=%d", P, b1.ID, member2.UserID, b.ID),
			fmt.Sprintf("comment.added post=%d comment_id=%d parent_id=0", P, c.ID),
		)
	})
	t.Run("Comment", func(t *testing.T) {
		got, gp, pv, err := f.s.Comment(outsider, a1.ID)
		must(t, err)
		if got.ID != a1.ID || gp.ID != p.ID || pv.Slug != "alpha" {
			t.Errorf("Comment = %d on %d in %s", got.ID, gp.ID, pv.Slug)
		}
		_, _, _, err = f.s.Comment(member, 9999)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("ErrParent", func(t *testing.T) {
		elsewhere := f.comment(member, other.ID, 0, "Elsewhere.")
		for _, parent := range []uint64{elsewhere.ID, 9999} {
			_, err := f.s.AddComment(member, p.ID, CommentInput{Body: "x", ParentID: parent})
			wantField(t, err, apperr.Invalid, "parent_id")
		}
	})
}

func TestCommentBody(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))
	tests := []struct {
		name  string
		body  string
		code  apperr.Code
		field string
		want  string // the stored body when accepted
	}{
		{"OK", "Fine.", "", "", "Fine."},
		{"BlankLinesTrimmed", "\n  \nLine one\n\n    code\n\n\n", "", "", "Line one\n\n    code"},
		{"LeadingIndentKept", "    indented code\n", "", "", "    indented code"},
		{"MaxSize", strings.Repeat("a", MaxCommentBytes), "", "", strings.Repeat("a", MaxCommentBytes)},
		{"ErrEmpty", "", apperr.Invalid, "body", ""},
		{"ErrBlank", " \n\t\r\n ", apperr.Invalid, "body", ""},
		{"ErrTooLarge", strings.Repeat("a", MaxCommentBytes+1), apperr.TooLarge, "body", ""},
		{"ErrInvalidUTF8", "bad \xff byte", apperr.Invalid, "body", ""},
		{"ErrControl", "bell \a", apperr.Invalid, "body", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := commentCount(t, f, p.ID)
			c, err := f.s.AddComment(member, p.ID, CommentInput{Body: tt.body})
			if tt.code != "" {
				wantField(t, err, tt.code, tt.field)
				if n := commentCount(t, f, p.ID); n != before {
					t.Errorf("count moved from %d to %d on error", before, n)
				}
				return
			}
			must(t, err)
			if c.Body != tt.want {
				t.Errorf("body = %q, want %q", c.Body, tt.want)
			}
		})
	}
}

func TestEditComment(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))
	c := f.comment(viewer, p.ID, 0, "Frist!")

	t.Run("Own", func(t *testing.T) {
		f.clk.Advance(time.Minute)
		head := f.db.Head()
		got, err := f.s.EditComment(viewer, c.ID, "First!")
		must(t, err)
		if got.Body != "First!" || got.HTML != "<p>First!</p>\n" || !got.Edited() || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Errorf("edited = %+v", got)
		}
		wantEvents(t, f, head, fmt.Sprintf("comment.edited post=%d comment_id=%d parent_id=0", p.ID, c.ID))
	})
	t.Run("SameBodyNoOp", func(t *testing.T) {
		head := f.db.Head()
		_, err := f.s.EditComment(viewer, c.ID, "First!\n")
		must(t, err)
		wantEvents(t, f, head)
	})
	t.Run("ErrNotOthers", func(t *testing.T) {
		for _, a := range []access.Actor{member, owner, admin} {
			_, err := f.s.EditComment(a, c.ID, "Hijacked")
			wantCode(t, err, apperr.Forbidden)
		}
		_, err := f.s.EditComment(anon, c.ID, "Hijacked")
		wantCode(t, err, apperr.NotFound) // an internal project: anonymous readers see nothing
	})
	t.Run("ErrBadBody", func(t *testing.T) {
		_, err := f.s.EditComment(viewer, c.ID, "  ")
		wantField(t, err, apperr.Invalid, "body")
	})
	t.Run("ErrDeleted", func(t *testing.T) {
		d := f.comment(viewer, p.ID, 0, "Gone soon")
		must(t, f.s.DeleteComment(viewer, d.ID))
		_, err := f.s.EditComment(viewer, d.ID, "Back")
		wantCode(t, err, apperr.NotFound)
	})
}

func TestDeleteComment(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))
	a := f.comment(viewer, p.ID, 0, "A")
	a1 := f.comment(member, p.ID, a.ID, "A1")
	a2 := f.comment(member2, p.ID, a.ID, "A2")
	b := f.comment(member2, p.ID, 0, "B")
	b1 := f.comment(viewer, p.ID, b.ID, "B1")
	c := f.comment(viewer, p.ID, 0, "C")

	t.Run("ErrNotOthers", func(t *testing.T) {
		for _, who := range []access.Actor{member, member2, outsider} {
			err := f.s.DeleteComment(who, c.ID)
			wantCode(t, err, apperr.Forbidden)
		}
		wantCode(t, f.s.DeleteComment(anon, c.ID), apperr.NotFound)
		wantCode(t, f.s.DeleteComment(member, 9999), apperr.NotFound)
	})
	t.Run("OwnWithRepliesKeepsPlaceholder", func(t *testing.T) {
		head := f.db.Head()
		must(t, f.s.DeleteComment(viewer, a.ID))
		wantEvents(t, f, head, fmt.Sprintf("comment.deleted post=%d author_id=%d comment_id=%d parent_id=0", p.ID, viewer.UserID, a.ID))
		cs := mustComments(t, f, member, p.ID)
		want := fmt.Sprintf("(%d) %d^%d %d^%d %d %d^%d %d", a.ID, a1.ID, a.ID, a2.ID, a.ID, b.ID, b1.ID, b.ID, c.ID)
		if got := thread(cs); got != want {
			t.Fatalf("thread = %s, want %s", got, want)
		}
		if ph := cs[0]; ph.Body != "" || ph.HTML != "" || ph.DeletedAt.IsZero() || ph.AuthorID != viewer.UserID {
			t.Errorf("placeholder = %+v", ph)
		}
		if n := commentCount(t, f, p.ID); n != 5 {
			t.Errorf("count = %d, want 5", n)
		}
		// A deleted comment has no permalink.
		_, _, _, err := f.s.Comment(member, a.ID)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("OwnerModerates", func(t *testing.T) {
		must(t, f.s.DeleteComment(owner, a1.ID))
		must(t, f.s.DeleteComment(admin, b1.ID))
		want := fmt.Sprintf("(%d) %d^%d %d %d", a.ID, a2.ID, a.ID, b.ID, c.ID)
		if got := thread(mustComments(t, f, member, p.ID)); got != want {
			t.Errorf("thread = %s, want %s", got, want)
		}
	})
	t.Run("LastReplyGoneDropsPlaceholder", func(t *testing.T) {
		must(t, f.s.DeleteComment(member2, a2.ID))
		want := fmt.Sprintf("%d %d", b.ID, c.ID)
		if got := thread(mustComments(t, f, member, p.ID)); got != want {
			t.Errorf("thread = %s, want %s", got, want)
		}
		if n := commentCount(t, f, p.ID); n != 2 {
			t.Errorf("count = %d, want 2", n)
		}
	})
	t.Run("AgainIsNoOp", func(t *testing.T) {
		head := f.db.Head()
		must(t, f.s.DeleteComment(viewer, a.ID))
		wantEvents(t, f, head)
		if n := commentCount(t, f, p.ID); n != 2 {
			t.Errorf("count = %d, want 2", n)
		}
		wantCode(t, f.s.DeleteComment(member, a.ID), apperr.Forbidden)
	})
	t.Run("ErrReplyToDeleted", func(t *testing.T) {
		_, err := f.s.AddComment(member, p.ID, CommentInput{Body: "late", ParentID: a2.ID})
		wantField(t, err, apperr.Invalid, "parent_id")
	})
}

// TestCommentPermissions walks who may comment where, and checks that
// every refused write leaves nothing behind.
func TestCommentPermissions(t *testing.T) {
	f := newDiscussionFixture(t)
	for _, pr := range []struct {
		slug string
		vis  access.Visibility
	}{{"pub", access.Public}, {"int", access.Internal}, {"priv", access.Private}, {"arch", access.Internal}} {
		f.project(pr.slug, pr.vis)
	}
	postIn := map[string]*Post{}
	for _, slug := range []string{"pub", "int", "priv", "arch"} {
		postIn[slug] = f.post(member, slug, titled("Post in %s", slug))
	}
	archComment := f.comment(viewer, postIn["arch"].ID, 0, "Before the archive.")
	must(t, f.s.SetArchived(owner, "arch", true))

	tests := []struct {
		project string
		actor   access.Actor
		name    string
		code    apperr.Code // "" = allowed
	}{
		{"pub", anon, "AnonPublic", apperr.Unauthorized},
		{"pub", outsider, "OutsiderPublic", ""},
		{"int", anon, "AnonInternal", apperr.NotFound},
		{"int", outsider, "OutsiderInternal", ""},
		{"int", viewer, "ViewerInternal", ""},
		{"priv", anon, "AnonPrivate", apperr.NotFound},
		{"priv", outsider, "OutsiderPrivate", apperr.NotFound},
		{"priv", viewer, "ViewerPrivate", ""},
		{"priv", member, "MemberPrivate", ""},
		{"priv", owner, "OwnerPrivate", ""},
		{"priv", admin, "AdminPrivate", ""},
		{"arch", viewer, "ViewerArchived", apperr.Forbidden},
		{"arch", owner, "OwnerArchived", apperr.Forbidden},
		{"arch", admin, "AdminArchived", apperr.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := postIn[tt.project]
			head := f.db.Head()
			before := commentCount(t, f, p.ID)
			c, err := f.s.AddComment(tt.actor, p.ID, CommentInput{Body: "Hello"})
			if tt.code != "" {
				wantCode(t, err, tt.code)
				wantEvents(t, f, head)
				if n := commentCount(t, f, p.ID); n != before {
					t.Errorf("count moved")
				}
			} else {
				must(t, err)
				if c.AuthorID != tt.actor.UserID {
					t.Errorf("author = %d", c.AuthorID)
				}
			}
			// Reading the comments follows reading the post.
			_, err = f.s.Comments(tt.actor, p.ID)
			if tt.code == apperr.NotFound {
				wantCode(t, err, apperr.NotFound)
			} else {
				must(t, err)
			}
		})
	}
	t.Run("NothingInArchived", func(t *testing.T) {
		head := f.db.Head()
		_, err := f.s.EditComment(viewer, archComment.ID, "Edited")
		wantCode(t, err, apperr.Forbidden)
		wantCode(t, f.s.DeleteComment(viewer, archComment.ID), apperr.Forbidden)
		wantCode(t, f.s.DeleteComment(owner, archComment.ID), apperr.Forbidden)
		wantEvents(t, f, head)
	})
	t.Run("ErrDraft", func(t *testing.T) {
		d := f.post(member, "int", PostInput{Title: "Draft", Draft: true})
		_, err := f.s.AddComment(member, d.ID, CommentInput{Body: "Early"})
		wantCode(t, err, apperr.Conflict)
		_, err = f.s.AddComment(member2, d.ID, CommentInput{Body: "Early"})
		wantCode(t, err, apperr.NotFound) // another member cannot see the draft
	})
	t.Run("ErrTrash", func(t *testing.T) {
		p := f.post(member, "int", titled("Doomed"))
		must(t, f.s.DeletePost(member, p.ID))
		_, err := f.s.AddComment(owner, p.ID, CommentInput{Body: "Late"})
		wantCode(t, err, apperr.Conflict)
		_, err = f.s.AddComment(viewer, p.ID, CommentInput{Body: "Late"})
		wantCode(t, err, apperr.NotFound)
	})
}

func TestVisit(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))
	q := f.post(member, "alpha", titled("Other"))
	start := f.clk.Now()

	steps := []struct {
		name    string
		advance time.Duration
		user    uint64
		post    uint64
		want    time.Time // previous visit returned
	}{
		{"First", 0, viewer.UserID, p.ID, time.Time{}},
		{"WithinAMinuteReads", 30 * time.Second, viewer.UserID, p.ID, start},
		{"StillWithinTheMinute", 29 * time.Second, viewer.UserID, p.ID, start},
		{"AfterAMinuteRecords", 31 * time.Second, viewer.UserID, p.ID, start},
		{"NextReturnsThatOne", time.Hour, viewer.UserID, p.ID, start.Add(90 * time.Second)},
		{"PerPost", 0, viewer.UserID, q.ID, time.Time{}},
		{"PerUser", 0, member.UserID, p.ID, time.Time{}},
		{"AnonymousHasNone", 0, 0, p.ID, time.Time{}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clk.Advance(st.advance)
			got, err := f.s.Visit(st.user, st.post)
			must(t, err)
			if !got.Equal(st.want) {
				t.Errorf("previous = %v, want %v", got, st.want)
			}
		})
	}
	t.Run("ErrMissingPost", func(t *testing.T) {
		_, err := f.s.Visit(viewer.UserID, 9999)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("NoEvents", func(t *testing.T) {
		head := f.db.Head()
		f.clk.Advance(time.Hour)
		_, err := f.s.Visit(viewer.UserID, p.ID)
		must(t, err)
		wantEvents(t, f, head)
	})
}
