package posts

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// decisionNames renders a decision page as "p<postID>" and "c<commentID>".
func decisionNames(ds []Decision) string {
	var parts []string
	for _, d := range ds {
		if d.CommentID != 0 {
			parts = append(parts, fmt.Sprintf("c%d", d.CommentID))
		} else {
			parts = append(parts, fmt.Sprintf("p%d", d.PostID))
		}
	}
	return strings.Join(parts, " ")
}

func TestSetDecision(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))
	cv := f.comment(viewer, p.ID, 0, "Let's do B.")
	cm := f.comment(member2, p.ID, 0, "Agreed.")
	other := f.post(member, "alpha", titled("Other"))
	co := f.comment(viewer, other.ID, 0, "Elsewhere.")

	tests := []struct {
		name   string
		actor  access.Actor
		target Target
		on     bool
		code   apperr.Code
		event  string
	}{
		{"PostByAuthor", member, Target{PostID: p.ID}, true, "",
			fmt.Sprintf("decision.marked post=%d", p.ID)},
		{"AgainIsNoOp", member, Target{PostID: p.ID}, true, "", ""},
		{"PostByOwner", owner, Target{PostID: p.ID}, false, "",
			fmt.Sprintf("decision.unmarked post=%d", p.ID)},
		{"ErrPostByOtherMember", member2, Target{PostID: p.ID}, true, apperr.Forbidden, ""},
		{"ErrPostByViewer", viewer, Target{PostID: p.ID}, true, apperr.Forbidden, ""},
		{"ErrPostByOutsider", outsider, Target{PostID: p.ID}, true, apperr.Forbidden, ""},
		{"CommentByItsAuthorViewer", viewer, Target{PostID: p.ID, CommentID: cv.ID}, true, "",
			fmt.Sprintf("decision.marked post=%d comment_id=%d", p.ID, cv.ID)},
		{"ErrCommentByPostAuthor", member, Target{PostID: p.ID, CommentID: cm.ID}, true, apperr.Forbidden, ""},
		{"CommentByOwner", owner, Target{PostID: p.ID, CommentID: cm.ID}, true, "",
			fmt.Sprintf("decision.marked post=%d comment_id=%d", p.ID, cm.ID)},
		{"CommentUnmarkByAdmin", admin, Target{PostID: p.ID, CommentID: cm.ID}, false, "",
			fmt.Sprintf("decision.unmarked post=%d comment_id=%d", p.ID, cm.ID)},
		{"ErrAnonymous", anon, Target{PostID: p.ID}, true, apperr.NotFound, ""},
		{"ErrCommentOfOtherPost", owner, Target{PostID: p.ID, CommentID: co.ID}, true, apperr.NotFound, ""},
		{"ErrMissingPost", owner, Target{PostID: 9999}, true, apperr.NotFound, ""},
		{"ErrMissingComment", owner, Target{PostID: p.ID, CommentID: 9999}, true, apperr.NotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := f.db.Head()
			err := f.s.SetDecision(tt.actor, tt.target, tt.on)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				wantEvents(t, f, head)
				return
			}
			must(t, err)
			if tt.event == "" {
				wantEvents(t, f, head)
			} else {
				wantEvents(t, f, head, tt.event)
			}
		})
	}
	t.Run("FlagsKept", func(t *testing.T) {
		got, _, err := f.s.Post(member, p.ID)
		must(t, err)
		if got.Decision {
			t.Error("post still marked")
		}
		cs := mustComments(t, f, member, p.ID)
		if !cs[0].Decision || cs[1].Decision {
			t.Errorf("comment decisions = %v, %v; want true, false", cs[0].Decision, cs[1].Decision)
		}
	})
	t.Run("ErrTrash", func(t *testing.T) {
		q := f.post(member, "alpha", titled("Trash"))
		must(t, f.s.DeletePost(member, q.ID))
		wantCode(t, f.s.SetDecision(owner, Target{PostID: q.ID}, true), apperr.Conflict)
	})
	t.Run("ErrArchived", func(t *testing.T) {
		f.project("arch", access.Internal)
		q := f.post(member, "arch", titled("Old"))
		c := f.comment(viewer, q.ID, 0, "Old comment")
		must(t, f.s.SetArchived(owner, "arch", true))
		wantCode(t, f.s.SetDecision(member, Target{PostID: q.ID}, true), apperr.Forbidden)
		wantCode(t, f.s.SetDecision(viewer, Target{PostID: q.ID, CommentID: c.ID}, true), apperr.Forbidden)
		wantCode(t, f.s.SetDecision(owner, Target{PostID: q.ID, CommentID: c.ID}, true), apperr.Forbidden)
	})
	t.Run("ErrPrivateOutsider", func(t *testing.T) {
		f.project("priv", access.Private)
		q := f.post(member, "priv", titled("Secret"))
		wantCode(t, f.s.SetDecision(outsider, Target{PostID: q.ID}, true), apperr.NotFound)
		_, _, err := f.s.Decisions(outsider, "priv", "", 10)
		wantCode(t, err, apperr.NotFound)
	})
}

func TestDecisionLog(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	f.project("beta", access.Internal)
	var ps []*Post
	for i := range 4 {
		ps = append(ps, f.post(member, "alpha", titled("Post %d", i)))
	}
	c := f.comment(viewer, ps[0].ID, 0, "The call")
	beta := f.post(member, "beta", titled("Beta"))
	mark := func(actor access.Actor, t Target) {
		f.clk.Advance(time.Minute)
		must(f.tb, f.s.SetDecision(actor, t, true))
	}
	mark(member, Target{PostID: ps[0].ID})
	mark(member, Target{PostID: ps[1].ID})
	mark(viewer, Target{PostID: ps[0].ID, CommentID: c.ID})
	mark(member, Target{PostID: ps[2].ID})
	mark(member, Target{PostID: ps[3].ID})
	mark(member, Target{PostID: beta.ID})
	// Unmark and mark again: it moves to the top.
	must(t, f.s.SetDecision(member, Target{PostID: ps[1].ID}, false))
	mark(owner, Target{PostID: ps[1].ID})

	pages := func(actor access.Actor, limit int) []string {
		t.Helper()
		var out []string
		cursor := ""
		for range 10 {
			ds, next, err := f.s.Decisions(actor, "alpha", cursor, limit)
			must(t, err)
			out = append(out, decisionNames(ds))
			if next == "" {
				return out
			}
			cursor = next
		}
		t.Fatal("too many pages")
		return nil
	}
	P := func(i int) string { return fmt.Sprintf("p%d", ps[i].ID) }
	C := fmt.Sprintf("c%d", c.ID)

	t.Run("NewestFirst", func(t *testing.T) {
		ds, next, err := f.s.Decisions(outsider, "alpha", "", 0)
		must(t, err)
		want := strings.Join([]string{P(1), P(3), P(2), C, P(0)}, " ")
		if got := decisionNames(ds); got != want || next != "" {
			t.Errorf("log = %s (next %q), want %s", got, next, want)
		}
		d := ds[0]
		if d.MarkedBy != owner.UserID || !d.MarkedAt.Equal(f.clk.Now()) || d.Post == nil || d.Post.ID != ps[1].ID || d.Comment != nil {
			t.Errorf("top entry = %+v", d)
		}
		cd := ds[3]
		if cd.MarkedBy != viewer.UserID || cd.Comment == nil || cd.Comment.ID != c.ID || cd.Post.ID != ps[0].ID {
			t.Errorf("comment entry = %+v", cd)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		got := pages(member, 2)
		want := []string{P(1) + " " + P(3), P(2) + " " + C, P(0)}
		if !slices.Equal(got, want) {
			t.Errorf("pages = %q, want %q", got, want)
		}
	})
	t.Run("DeletedSkipped", func(t *testing.T) {
		must(t, f.s.DeletePost(member, ps[3].ID))
		must(t, f.s.DeleteComment(viewer, c.ID))
		want := []string{P(1) + " " + P(2), P(0)}
		if got := pages(member, 2); !slices.Equal(got, want) {
			t.Errorf("pages = %q, want %q", got, want)
		}
		// A restore brings it back in its place.
		must(t, f.s.RestorePost(owner, ps[3].ID))
		want = []string{P(1) + " " + P(3), P(2) + " " + P(0)}
		if got := pages(member, 2); !slices.Equal(got, want) {
			t.Errorf("after restore: pages = %q, want %q", got, want)
		}
	})
	t.Run("DraftOnlyForThoseWhoSeeIt", func(t *testing.T) {
		in := inputOf(ps[2])
		in.Draft = true
		f.update(member, ps[2].ID, in)
		want := strings.Join([]string{P(1), P(3), P(2), P(0)}, " ")
		for _, a := range []access.Actor{member, owner} {
			if got := pages(a, 10); !slices.Equal(got, []string{want}) {
				t.Errorf("%d sees %q, want %q", a.UserID, got, want)
			}
		}
		want = strings.Join([]string{P(1), P(3), P(0)}, " ")
		for _, a := range []access.Actor{member2, viewer, outsider} {
			if got := pages(a, 10); !slices.Equal(got, []string{want}) {
				t.Errorf("%d sees %q, want %q", a.UserID, got, want)
			}
		}
	})
	t.Run("ErrCursor", func(t *testing.T) {
		_, _, err := f.s.Decisions(member, "alpha", "not-a-cursor", 10)
		wantCode(t, err, apperr.Invalid)
	})
	t.Run("OtherProjectApart", func(t *testing.T) {
		ds, _, err := f.s.Decisions(member, "beta", "", 10)
		must(t, err)
		if got := decisionNames(ds); got != fmt.Sprintf("p%d", beta.ID) {
			t.Errorf("beta log = %s", got)
		}
	})
}
