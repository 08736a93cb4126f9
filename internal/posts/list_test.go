package posts

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// walkAll follows a paged list to its end and returns the titles in order.
func walkAll(t *testing.T, pageSize int, list func(cursor string) (Page, error)) (all []string, sizes []int) {
	t.Helper()
	cursor := ""
	for range 100 {
		page, err := list(cursor)
		must(t, err)
		all = append(all, titles(page.Posts)...)
		sizes = append(sizes, len(page.Posts))
		if len(page.Posts) > pageSize {
			t.Fatalf("page of %d > %d", len(page.Posts), pageSize)
		}
		if page.Next == "" {
			return all, sizes
		}
		cursor = page.Next
	}
	t.Fatal("no end after 100 pages")
	return nil, nil
}

func TestProjectPostsPagination(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	f.project("beta", access.Public)
	var want []string
	for i := range 25 {
		f.post(member, "alpha", titled("Post %02d", i))
		want = append(want, fmt.Sprintf("Post %02d", i))
		if i%5 == 0 {
			f.post(member, "beta", titled("Beta %02d", i)) // interleaved, must not leak in
		}
	}
	slices.Reverse(want)

	t.Run("PagesOfTen", func(t *testing.T) {
		got, sizes := walkAll(t, 10, func(c string) (Page, error) {
			_, page, err := f.s.ProjectPosts(anon, "alpha", c, 10)
			return page, err
		})
		if !slices.Equal(got, want) {
			t.Errorf("order:\n got %v\nwant %v", got, want)
		}
		if !slices.Equal(sizes, []int{10, 10, 5}) {
			t.Errorf("page sizes %v", sizes)
		}
	})
	t.Run("ExactMultipleHasNoEmptyPage", func(t *testing.T) {
		_, sizes := walkAll(t, 5, func(c string) (Page, error) {
			_, page, err := f.s.ProjectPosts(anon, "alpha", c, 5)
			return page, err
		})
		if !slices.Equal(sizes, []int{5, 5, 5, 5, 5}) {
			t.Errorf("page sizes %v", sizes)
		}
	})
	t.Run("CursorSurvivesDeletion", func(t *testing.T) {
		_, page, err := f.s.ProjectPosts(anon, "alpha", "", 10)
		must(t, err)
		must(t, f.s.DeletePost(member, page.Posts[9].ID)) // the cursor's own post
		_, next, err := f.s.ProjectPosts(anon, "alpha", page.Next, 10)
		must(t, err)
		if next.Posts[0].Title != want[10] {
			t.Errorf("next page starts at %q, want %q", next.Posts[0].Title, want[10])
		}
		must(t, f.s.RestorePost(owner, page.Posts[9].ID))
	})
	t.Run("DefaultAndMaxLimit", func(t *testing.T) {
		_, page, err := f.s.ProjectPosts(anon, "alpha", "", 0)
		must(t, err)
		if len(page.Posts) != DefaultLimit {
			t.Errorf("default page = %d", len(page.Posts))
		}
		_, page, err = f.s.ProjectPosts(anon, "alpha", "", 1000)
		must(t, err)
		if len(page.Posts) != 25 || page.Next != "" {
			t.Errorf("big page = %d next %q", len(page.Posts), page.Next)
		}
	})
	t.Run("ErrBadCursor", func(t *testing.T) {
		for _, c := range []string{"!!!", "AAAA", "not base64 at all"} {
			_, _, err := f.s.ProjectPosts(anon, "alpha", c, 10)
			wantCode(t, err, apperr.Invalid)
		}
	})
	t.Run("ErrUnreadableProject", func(t *testing.T) {
		_, _, err := f.s.ProjectPosts(anon, "missing", "", 10)
		wantCode(t, err, apperr.NotFound)
	})
}

func TestCrossProjectLists(t *testing.T) {
	f := newFixture(t)
	f.project("pub", access.Public)
	f.project("int", access.Internal)
	f.project("priv", access.Private)
	// Interleave: many private posts between the visible ones, so pages
	// must skip them.
	for i := range 12 {
		slug := []string{"pub", "priv", "priv", "int"}[i%4]
		f.post(member, slug, PostInput{Title: fmt.Sprintf("%s %02d", slug, i), Tags: []string{"shared"}})
	}
	f.post(owner, "priv", PostInput{Title: "owner's private", Tags: []string{"shared"}})

	all := []string{"int 11", "priv 10", "priv 09", "pub 08", "int 07", "priv 06", "priv 05", "pub 04", "int 03", "priv 02", "priv 01", "pub 00"}
	tests := []struct {
		name   string
		actor  access.Actor
		recent []string // Recent and TagPosts(""): every author
		author []string // AuthorPosts(member)
	}{
		{"Anonymous", anon, []string{"pub 08", "pub 04", "pub 00"}, []string{"pub 08", "pub 04", "pub 00"}},
		{"Outsider", outsider,
			[]string{"int 11", "pub 08", "int 07", "pub 04", "int 03", "pub 00"},
			[]string{"int 11", "pub 08", "int 07", "pub 04", "int 03", "pub 00"}},
		{"Viewer", viewer, append([]string{"owner's private"}, all...), all},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%s/page%d", tt.name, size), func(t *testing.T) {
				recent, _ := walkAll(t, size, func(c string) (Page, error) { return f.s.Recent(tt.actor, c, size) })
				if !slices.Equal(recent, tt.recent) {
					t.Errorf("Recent:\n got %v\nwant %v", recent, tt.recent)
				}
				tagged, _ := walkAll(t, size, func(c string) (Page, error) { return f.s.TagPosts(tt.actor, "", "Shared", c, size) })
				if !slices.Equal(tagged, tt.recent) {
					t.Errorf("TagPosts:\n got %v\nwant %v", tagged, tt.recent)
				}
				authored, _ := walkAll(t, size, func(c string) (Page, error) { return f.s.AuthorPosts(tt.actor, member.UserID, c, size) })
				if !slices.Equal(authored, tt.author) {
					t.Errorf("AuthorPosts:\n got %v\nwant %v", authored, tt.author)
				}
			})
		}
	}
	t.Run("TagPostsInPrivateProject", func(t *testing.T) {
		_, err := f.s.TagPosts(outsider, "priv", "shared", "", 10)
		wantCode(t, err, apperr.NotFound)
		page, err := f.s.TagPosts(viewer, "priv", "shared", "", 3)
		must(t, err)
		if !slices.Equal(titles(page.Posts), []string{"owner's private", "priv 10", "priv 09"}) || page.Next == "" {
			t.Errorf("page %v next %q", titles(page.Posts), page.Next)
		}
		_, err = f.s.TagPosts(viewer, "priv", "no/such", "", 3)
		wantCode(t, err, apperr.Invalid)
	})
	t.Run("TagsAcrossReadable", func(t *testing.T) {
		for _, tt := range []struct {
			actor access.Actor
			n     int
		}{{anon, 3}, {outsider, 6}, {viewer, 13}} {
			tags, err := f.s.Tags(tt.actor, "")
			must(t, err)
			if len(tags) != 1 || tags[0].Count != tt.n {
				t.Errorf("Tags(%d) = %v, want shared=%d", tt.actor.UserID, tags, tt.n)
			}
		}
	})
	t.Run("VisibilityChangeTakesEffect", func(t *testing.T) {
		_, err := f.s.UpdateProject(owner, "pub", ProjectInput{Name: "Now private", Visibility: access.Private})
		must(t, err)
		page, err := f.s.Recent(anon, "", 10)
		must(t, err)
		if len(page.Posts) != 0 || page.Next != "" {
			t.Errorf("anonymous still sees %v", titles(page.Posts))
		}
	})
	t.Run("MonthsNeedsRead", func(t *testing.T) {
		_, err := f.s.Months(outsider, "priv")
		wantCode(t, err, apperr.NotFound)
		ms, err := f.s.Months(viewer, "priv")
		must(t, err)
		if len(ms) != 1 || ms[0] != (MonthCount{t0.Year(), t0.Month(), 7}) {
			t.Errorf("months = %v", ms)
		}
		_, err = f.s.MonthPosts(outsider, "priv", 2025, time.March)
		wantCode(t, err, apperr.NotFound)
	})
}
