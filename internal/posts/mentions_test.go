package posts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// linkedMentions returns the handles of the a.mention links in rendered
// HTML, in order.
func linkedMentions(tb testing.TB, rendered string) []string {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(rendered))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "a" {
			continue
		}
		var class, href string
		for _, a := range n.Attr {
			switch a.Key {
			case "class":
				class = a.Val
			case "href":
				href = a.Val
			}
		}
		if class == "mention" {
			out = append(out, strings.TrimPrefix(href, "/people/"))
		}
	}
	return out
}

func TestPostMentions(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)

	t.Run("Render", func(t *testing.T) {
		tests := []struct {
			name   string
			body   string
			linked []string
			ids    []uint64
		}{
			{"Link", "Thanks @member2 and @viewer.", []string{"member2", "viewer"}, []uint64{member2.UserID, viewer.UserID}},
			{"RepeatedOnce", "@viewer @member2 @viewer", []string{"viewer", "member2", "viewer"}, []uint64{viewer.UserID, member2.UserID}},
			{"EmailNotMention", "Write to member2@example.com.", nil, nil},
			{"CodeNotMention", "Run `@member2` and\n\n```\n@viewer\n```\n", nil, nil},
			{"LinkTextNotMention", "[@member2](https://example.com)", nil, nil},
			{"UnknownStaysText", "Ask @nobody or @Member2.", nil, nil},
			{"SelfLinkedButNoEvent", "I, @member, wrote this.", []string{"member"}, []uint64{member.UserID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := f.post(member, "alpha", PostInput{Title: tt.name, Body: tt.body})
				if got := linkedMentions(t, p.HTML); !slices.Equal(got, tt.linked) {
					t.Errorf("linked %q, want %q\n%s", got, tt.linked, p.HTML)
				}
				if !slices.Equal(p.Mentions, tt.ids) {
					t.Errorf("Mentions = %v, want %v", p.Mentions, tt.ids)
				}
				if tt.linked == nil && !strings.Contains(p.HTML, "@") {
					t.Errorf("the @ text is gone: %s", p.HTML)
				}
			})
		}
	})

	t.Run("EventsOnlyForNewMentions", func(t *testing.T) {
		head := f.db.Head()
		p := f.post(member, "alpha", PostInput{Title: "Events", Body: "cc @member2 @member"})
		wantEvents(t, f, head,
			fmt.Sprintf("post.published post=%d first=true revision=1 slug=events", p.ID),
			fmt.Sprintf("mention post=%d post_id=%d user_id=%d", p.ID, p.ID, member2.UserID),
		)
		in := inputOf(p)
		in.Body = "cc @member2, @viewer and @owner"
		head = f.db.Head()
		p = f.update(member, p.ID, in)
		wantEvents(t, f, head,
			fmt.Sprintf("post.edited post=%d revision=2 slug=events", p.ID),
			fmt.Sprintf("mention post=%d post_id=%d user_id=%d", p.ID, p.ID, viewer.UserID),
			fmt.Sprintf("mention post=%d post_id=%d user_id=%d", p.ID, p.ID, owner.UserID),
		)
		// An edit by someone else mentions neither the editor nor the
		// author, and a mention dropped and added back is new again.
		in = inputOf(p)
		in.Body = "@owner @member @admin"
		head = f.db.Head()
		p = f.update(owner, p.ID, in)
		wantEvents(t, f, head,
			fmt.Sprintf("post.edited post=%d revision=3 slug=events", p.ID),
			fmt.Sprintf("mention post=%d post_id=%d user_id=%d", p.ID, p.ID, admin.UserID),
		)
	})

	t.Run("DraftsUntilPublished", func(t *testing.T) {
		head := f.db.Head()
		d := f.post(member, "alpha", PostInput{Title: "Draft", Body: "cc @member2", Draft: true})
		in := inputOf(d)
		in.Body = "cc @member2 @viewer"
		d = f.update(member, d.ID, in)
		wantEvents(t, f, head,
			fmt.Sprintf("post.created post=%d draft=true revision=1 slug=draft", d.ID),
			fmt.Sprintf("post.edited post=%d draft=true revision=2 slug=draft", d.ID),
		)
		if !slices.Equal(d.Mentions, []uint64{member2.UserID, viewer.UserID}) {
			t.Errorf("draft Mentions = %v", d.Mentions)
		}
		in = inputOf(d)
		in.Draft = false
		head = f.db.Head()
		d = f.update(member, d.ID, in)
		wantEvents(t, f, head,
			fmt.Sprintf("post.published post=%d first=true revision=2 slug=draft", d.ID),
			fmt.Sprintf("mention post=%d post_id=%d user_id=%d", d.ID, d.ID, member2.UserID),
			fmt.Sprintf("mention post=%d post_id=%d user_id=%d", d.ID, d.ID, viewer.UserID),
		)
		// Re-saving the published post changes nothing.
		head = f.db.Head()
		f.update(member, d.ID, inputOf(d))
		wantEvents(t, f, head)
	})
}

func TestCommentMentions(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", titled("Plan"))

	head := f.db.Head()
	c := f.comment(viewer, p.ID, 0, "@member what about @member2? (and me, @viewer)")
	if got := linkedMentions(t, c.HTML); !slices.Equal(got, []string{"member", "member2", "viewer"}) {
		t.Errorf("linked %q", got)
	}
	if !slices.Equal(c.Mentions, []uint64{member.UserID, member2.UserID, viewer.UserID}) {
		t.Errorf("Mentions = %v", c.Mentions)
	}
	wantEvents(t, f, head,
		fmt.Sprintf("comment.added post=%d comment_id=%d parent_id=0", p.ID, c.ID),
		fmt.Sprintf("mention post=%d comment_id=%d post_id=%d user_id=%d", p.ID, c.ID, p.ID, member.UserID),
		fmt.Sprintf("mention post=%d comment_id=%d post_id=%d user_id=%d", p.ID, c.ID, p.ID, member2.UserID),
	)

	head = f.db.Head()
	c, err := f.s.EditComment(viewer, c.ID, "@member2 and @owner, what do you think?")
	must(t, err)
	wantEvents(t, f, head,
		fmt.Sprintf("comment.edited post=%d comment_id=%d parent_id=0", p.ID, c.ID),
		fmt.Sprintf("mention post=%d comment_id=%d post_id=%d user_id=%d", p.ID, c.ID, p.ID, owner.UserID),
	)
}

func TestUnreadableMentions(t *testing.T) {
	f := newDiscussionFixture(t)
	f.project("priv", access.Private)
	f.project("int", access.Internal)
	body := "@outsider @member @nobody @admin @viewer `@outsider2` @outsider"

	tests := []struct {
		name    string
		actor   access.Actor
		project string
		want    []string
		code    apperr.Code
	}{
		{"PrivateListsOutsiders", member, "priv", []string{"outsider"}, ""},
		{"InternalNone", member, "int", nil, ""},
		{"ErrOutsiderAsks", outsider, "priv", nil, apperr.NotFound},
		{"ErrMissingProject", member, "nope", nil, apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.s.UnreadableMentions(tt.actor, tt.project, body)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			must(t, err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("UnreadableMentions = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("ErrTooLarge", func(t *testing.T) {
		_, err := f.s.UnreadableMentions(member, "priv", strings.Repeat("a", MaxBodyBytes+1))
		wantField(t, err, apperr.TooLarge, "body")
	})
	t.Run("MentionOfOutsiderStillRecorded", func(t *testing.T) {
		head := f.db.Head()
		p := f.post(member, "priv", PostInput{Title: "Secret", Body: "Hi @outsider"})
		if !slices.Equal(p.Mentions, []uint64{outsider.UserID}) {
			t.Errorf("Mentions = %v", p.Mentions)
		}
		wantEvents(t, f, head,
			fmt.Sprintf("post.published post=%d first=true revision=1 slug=secret", p.ID),
			fmt.Sprintf("mention post=%d post_id=%d user_id=%d", p.ID, p.ID, outsider.UserID),
		)
	})
}

func TestMentionsWithoutResolver(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	head := f.db.Head()
	p := f.post(member, "alpha", PostInput{Title: "Plain", Body: "Hi @member2"})
	if p.HTML != "<p>Hi @member2</p>\n" || len(p.Mentions) != 0 {
		t.Errorf("HTML %q Mentions %v", p.HTML, p.Mentions)
	}
	c := f.comment(viewer, p.ID, 0, "@member")
	if c.HTML != "<p>@member</p>\n" || len(c.Mentions) != 0 {
		t.Errorf("comment HTML %q Mentions %v", c.HTML, c.Mentions)
	}
	for _, line := range evLines(t, f, head) {
		if strings.HasPrefix(line, "mention ") {
			t.Errorf("event %s", line)
		}
	}
	got, err := f.s.UnreadableMentions(member, "alpha", "@outsider")
	must(t, err)
	if got != nil {
		t.Errorf("UnreadableMentions = %q", got)
	}
}

// TestRerenderKeepsMentions re-renders everything and checks that the
// mention links stay, though a re-render does not ask the resolver.
func TestRerenderKeepsMentions(t *testing.T) {
	db := mustOpenDB(t)
	asked := 0
	clk := &clock{t: t0}
	s, err := New(db, Options{Now: clk.Now, Mentions: func(hs []string) map[string]access.Actor {
		asked++
		return resolveCast(hs)
	}})
	must(t, err)
	f := &fixture{tb: t, db: db, s: s, clk: clk}
	f.project("alpha", access.Internal)
	p := f.post(member, "alpha", PostInput{Title: "Plan", Body: "cc @member2, @nobody"})
	c := f.comment(viewer, p.ID, 0, "@owner? `@member2`")

	asked = 0
	n, err := f.s.Rerender(context.Background(), true, nil)
	must(t, err)
	if asked != 0 {
		t.Errorf("Rerender asked the resolver %d times", asked)
	}
	if n < 2 {
		t.Errorf("Rerender changed %d, want the post and the comment", n)
	}
	got, _, err := f.s.Post(member, p.ID)
	must(t, err)
	if l := linkedMentions(t, got.HTML); !slices.Equal(l, []string{"member2"}) {
		t.Errorf("post links %q after re-render: %s", l, got.HTML)
	}
	gc, _, _, err := f.s.Comment(member, c.ID)
	must(t, err)
	if l := linkedMentions(t, gc.HTML); !slices.Equal(l, []string{"owner"}) {
		t.Errorf("comment links %q after re-render: %s", l, gc.HTML)
	}
	if gc.HTML != c.HTML || got.HTML != p.HTML {
		t.Errorf("re-render changed the HTML:\n%s\n%s", gc.HTML, got.HTML)
	}
}
