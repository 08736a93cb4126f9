package feeds

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// TestParseWithGofeed reads each format of the fixed feed back with gofeed, a
// real feed parser used by readers, and checks what a reader would show.
func TestParseWithGofeed(t *testing.T) {
	type wantEntry struct {
		guid, title, link, author string
		published, updated        time.Time
		categories                []string
		contains                  []string // in the content, after URL rewriting
	}
	want := []wantEntry{
		{
			guid:       "tag:blog.example.com,2026-03-02:post/7",
			title:      "Launch window moved to Friday",
			link:       "https://blog.example.com/p/apollo/launch-window",
			author:     "Ada Lovelace",
			published:  mustTime(t, "2026-03-02T09:30:00Z"),
			updated:    mustTime(t, "2026-03-03T14:05:00Z"),
			categories: []string{"launch", "schedule", "health:at-risk"},
			contains: []string{
				`href="https://blog.example.com/p/apollo/checklist"`,
				`href="https://blog.example.com/p/apollo/launch-window#fn:1"`,
				`href="https://blog.example.com/p/apollo/launch-window#setup"`,
				`src="https://blog.example.com/static/uploads/window.png"`,
				`srcset="https://blog.example.com/static/uploads/window.png 1x, https://blog.example.com/static/uploads/window@2x.png 2x"`,
				`href="mailto:ops@example.com"`,
				`href="https://example.org/spec?a=1&amp;b=2"`,
				`<code>a &lt; b &amp;&amp; c</code>`,
			},
		},
		{
			guid:      "tag:blog.example.com,2026-02-20:post/3",
			title:     "Kick-off <notes>",
			link:      "https://blog.example.com/p/apollo/kick-off",
			author:    "Grace Hopper",
			published: mustTime(t, "2026-02-20T08:00:00Z"),
			updated:   mustTime(t, "2026-02-20T08:00:00Z"),
			contains:  []string{`<a href="https://blog.example.com/p/apollo">Apollo</a>`},
		},
	}
	for _, format := range []Format{Atom, RSS, JSON} {
		t.Run(string(format), func(t *testing.T) {
			f := fixture(t, format)
			doc, err := gofeed.NewParser().ParseString(string(render(t, f, format)))
			if err != nil {
				t.Fatalf("gofeed: %v", err)
			}
			if got := gofeed.DetectFeedType(strings.NewReader(string(render(t, f, format)))); got != map[Format]gofeed.FeedType{Atom: gofeed.FeedTypeAtom, RSS: gofeed.FeedTypeRSS, JSON: gofeed.FeedTypeJSON}[format] {
				t.Errorf("gofeed detects feed type %v", got)
			}
			if doc.FeedType != string(format) {
				t.Errorf("feed type %q, want %q", doc.FeedType, format)
			}
			if doc.Title != "Apollo" {
				t.Errorf("title %q", doc.Title)
			}
			if doc.Description != f.Description {
				t.Errorf("description %q, want %q", doc.Description, f.Description)
			}
			if doc.Link != "https://blog.example.com/p/apollo" {
				t.Errorf("link (alternate) %q", doc.Link)
			}
			if want := "https://blog.example.com/p/apollo/feed" + format.Ext() + "?token=tok_abc123"; doc.FeedLink != want {
				t.Errorf("feed link (self) %q, want %q", doc.FeedLink, want)
			}
			if doc.Language != "en" {
				t.Errorf("language %q", doc.Language)
			}
			// JSON Feed has no feed-level date; Atom and RSS carry f.Updated().
			newest := mustTime(t, "2026-03-03T14:05:00Z")
			if !f.Updated().Equal(newest) {
				t.Errorf("Feed.Updated() = %v, want the newest entry's %v", f.Updated(), newest)
			}
			if format != JSON {
				if doc.UpdatedParsed == nil || !doc.UpdatedParsed.Equal(newest) {
					t.Errorf("feed updated %v (%q), want the newest entry's %v", doc.UpdatedParsed, doc.Updated, newest)
				}
			}
			if len(doc.Items) != len(want) {
				t.Fatalf("%d items, want %d", len(doc.Items), len(want))
			}
			for i, w := range want {
				it := doc.Items[i]
				if it.GUID != w.guid {
					t.Errorf("item %d: guid %q, want %q", i, it.GUID, w.guid)
				}
				if it.Title != w.title {
					t.Errorf("item %d: title %q, want %q", i, it.Title, w.title)
				}
				if it.Link != w.link {
					t.Errorf("item %d: link %q, want %q", i, it.Link, w.link)
				}
				if it.PublishedParsed == nil || !it.PublishedParsed.Equal(w.published) {
					t.Errorf("item %d: published %v (%q), want %v", i, it.PublishedParsed, it.Published, w.published)
				}
				if it.UpdatedParsed == nil || !it.UpdatedParsed.Equal(w.updated) {
					t.Errorf("item %d: updated %v (%q), want %v", i, it.UpdatedParsed, it.Updated, w.updated)
				}
				if len(it.Authors) != 1 || it.Authors[0].Name != w.author {
					t.Errorf("item %d: authors %+v, want one named %q", i, persons(it.Authors), w.author)
				}
				if !slices.Equal(it.Categories, w.categories) {
					t.Errorf("item %d: categories %q, want %q", i, it.Categories, w.categories)
				}
				for _, s := range w.contains {
					if !strings.Contains(it.Content, s) {
						t.Errorf("item %d: content lacks %s:\n%s", i, s, it.Content)
					}
				}
				for _, rel := range []string{`href="/`, `src="/`, `href="#`, `, /static`} {
					if strings.Contains(it.Content, rel) {
						t.Errorf("item %d: content still has a relative URL (%s):\n%s", i, rel, it.Content)
					}
				}
			}
			// Where the format carries the e-mail, gofeed finds it for Ada
			// and none for Grace, who does not share hers.
			if format != JSON {
				if got := doc.Items[0].Authors[0].Email; got != "ada@example.com" {
					t.Errorf("item 0: author e-mail %q", got)
				}
				if got := doc.Items[1].Authors[0].Email; got != "" {
					t.Errorf("item 1: author e-mail %q, want none", got)
				}
			}
		})
	}
}

// persons formats authors for a failure message.
func persons(ps []*gofeed.Person) []gofeed.Person {
	out := make([]gofeed.Person, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p)
	}
	return out
}
