package posts

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

func mustReactions(tb testing.TB, f *fixture, actor access.Actor, postID uint64) map[uint64]ReactionSet {
	tb.Helper()
	rs, err := f.s.Reactions(actor, postID)
	if err != nil {
		tb.Fatalf("Reactions: %v", err)
	}
	return rs
}

func TestReact(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))
	other := f.post(member, "alpha", titled("Other"))
	c := f.comment(member2, p.ID, 0, "A comment")
	elsewhere := f.comment(member2, other.ID, 0, "Elsewhere")
	onPost := Target{PostID: p.ID}
	onComment := Target{PostID: p.ID, CommentID: c.ID}

	steps := []struct {
		name   string
		actor  access.Actor
		target Target
		react  string
		on     bool
		event  string // "" = no event
	}{
		{"AddOnPost", viewer, onPost, "thumbsup", true,
			fmt.Sprintf("reaction.added post=%d reaction=thumbsup target_author_id=%d", p.ID, member.UserID)},
		{"AgainIsNoOp", viewer, onPost, "thumbsup", true, ""},
		{"SecondPerson", owner, onPost, "thumbsup", true,
			fmt.Sprintf("reaction.added post=%d reaction=thumbsup target_author_id=%d", p.ID, member.UserID)},
		{"OwnPost", member, onPost, "tada", true,
			fmt.Sprintf("reaction.added post=%d reaction=tada target_author_id=%d", p.ID, member.UserID)},
		{"OnComment", member, onComment, "heart", true,
			fmt.Sprintf("reaction.added post=%d comment_id=%d reaction=heart target_author_id=%d", p.ID, c.ID, member2.UserID)},
		{"OutsiderOfInternal", outsider, onComment, "check", true,
			fmt.Sprintf("reaction.added post=%d comment_id=%d reaction=check target_author_id=%d", p.ID, c.ID, member2.UserID)},
		{"Remove", viewer, onPost, "thumbsup", false,
			fmt.Sprintf("reaction.removed post=%d reaction=thumbsup target_author_id=%d", p.ID, member.UserID)},
		{"RemoveAgainIsNoOp", viewer, onPost, "thumbsup", false, ""},
		{"RemoveNeverAddedIsNoOp", viewer, onComment, "eyes", false, ""},
		{"AddBackGoesLast", viewer, onPost, "thumbsup", true,
			fmt.Sprintf("reaction.added post=%d reaction=thumbsup target_author_id=%d", p.ID, member.UserID)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			head := f.db.Head()
			must(t, f.s.React(st.actor, st.target, st.react, st.on))
			if st.event == "" {
				wantEvents(t, f, head)
			} else {
				wantEvents(t, f, head, st.event)
			}
		})
	}

	t.Run("Shape", func(t *testing.T) {
		got := mustReactions(t, f, outsider, p.ID)
		want := map[uint64]ReactionSet{
			0:    {"thumbsup": {owner.UserID, viewer.UserID}, "tada": {member.UserID}},
			c.ID: {"heart": {member.UserID}, "check": {outsider.UserID}},
		}
		if !maps.EqualFunc(got, want, func(a, b ReactionSet) bool {
			return maps.EqualFunc(a, b, slices.Equal[[]uint64])
		}) {
			t.Errorf("Reactions = %v, want %v", got, want)
		}
		if rs := mustReactions(t, f, member, other.ID); len(rs) != 0 {
			t.Errorf("other post's reactions = %v", rs)
		}
	})

	errs := []struct {
		name   string
		actor  access.Actor
		target Target
		react  string
		code   apperr.Code
	}{
		{"ErrUnknownName", viewer, onPost, "+1", apperr.Invalid},
		{"ErrEmptyName", viewer, onPost, "", apperr.Invalid},
		{"ErrCommentOfOtherPost", viewer, Target{PostID: p.ID, CommentID: elsewhere.ID}, "heart", apperr.NotFound},
		{"ErrMissingComment", viewer, Target{PostID: p.ID, CommentID: 9999}, "heart", apperr.NotFound},
		{"ErrMissingPost", viewer, Target{PostID: 9999}, "heart", apperr.NotFound},
		{"ErrAnonymous", anon, onPost, "heart", apperr.NotFound}, // internal: invisible to anonymous readers
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			head := f.db.Head()
			err := f.s.React(tt.actor, tt.target, tt.react, true)
			wantCode(t, err, tt.code)
			wantEvents(t, f, head)
		})
	}
	t.Run("ErrDeletedComment", func(t *testing.T) {
		d := f.comment(viewer, p.ID, 0, "Soon gone")
		must(t, f.s.DeleteComment(viewer, d.ID))
		wantCode(t, f.s.React(member, Target{PostID: p.ID, CommentID: d.ID}, "eyes", true), apperr.NotFound)
	})
	t.Run("ErrDraft", func(t *testing.T) {
		d := f.post(member, "alpha", PostInput{Title: "Draft", Draft: true})
		wantCode(t, f.s.React(member, Target{PostID: d.ID}, "eyes", true), apperr.Conflict)
		wantCode(t, f.s.React(owner, Target{PostID: d.ID}, "eyes", true), apperr.Conflict)
		wantCode(t, f.s.React(viewer, Target{PostID: d.ID}, "eyes", true), apperr.NotFound)
	})
}

func TestReactPermissions(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("pub", access.Public)
	f.project("priv", access.Private)
	f.project("arch", access.Internal)
	posts := map[string]*Post{
		"pub":  f.post(member, "pub", titled("Public")),
		"priv": f.post(member, "priv", titled("Private")),
		"arch": f.post(member, "arch", titled("Archived")),
	}
	must(t, f.s.React(viewer, Target{PostID: posts["arch"].ID}, "eyes", true))
	must(t, f.s.SetArchived(owner, "arch", true))

	tests := []struct {
		name    string
		project string
		actor   access.Actor
		on      bool
		code    apperr.Code
	}{
		{"ViewerPrivate", "priv", viewer, true, ""},
		{"OutsiderPrivate", "priv", outsider, true, apperr.NotFound},
		{"AnonPrivate", "priv", anon, true, apperr.NotFound},
		{"AnonPublic", "pub", anon, true, apperr.Unauthorized},
		{"OutsiderPublic", "pub", outsider, true, ""},
		{"ArchivedAdd", "arch", member, true, apperr.Forbidden},
		{"ArchivedRemove", "arch", viewer, false, apperr.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := posts[tt.project]
			head := f.db.Head()
			err := f.s.React(tt.actor, Target{PostID: p.ID}, "eyes", tt.on)
			if tt.code == "" {
				must(t, err)
			} else {
				wantCode(t, err, tt.code)
				wantEvents(t, f, head)
			}
			_, err = f.s.Reactions(tt.actor, p.ID)
			if tt.code == apperr.NotFound {
				wantCode(t, err, apperr.NotFound)
			} else {
				must(t, err)
			}
		})
	}
}
