package feeds

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in    string
		want  Format
		ok    bool
		ctype string
		ext   string
	}{
		{"atom", Atom, true, "application/atom+xml; charset=utf-8", ".atom"},
		{".atom", Atom, true, "application/atom+xml; charset=utf-8", ".atom"},
		{"rss", RSS, true, "application/rss+xml; charset=utf-8", ".rss"},
		{".rss", RSS, true, "application/rss+xml; charset=utf-8", ".rss"},
		{"json", JSON, true, "application/feed+json; charset=utf-8", ".json"},
		{".JSON", JSON, true, "application/feed+json; charset=utf-8", ".json"},
		{"", "", false, "", ""},
		{".", "", false, "", ""},
		{"xml", "", false, "", ""},
		{"..atom", "", false, "", ""},
		{"atom ", "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseFormat(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ParseFormat(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ct := got.ContentType(); ct != tt.ctype {
				t.Errorf("ContentType() = %q, want %q", ct, tt.ctype)
			}
			if ext := got.Ext(); ext != tt.ext {
				t.Errorf("Ext() = %q, want %q", ext, tt.ext)
			}
		})
	}
	if Format("ATOM").Ext() != "" || Format("ATOM").ContentType() != "" {
		t.Error("a Format that is not one of the constants has an extension or a content type")
	}
}

func TestFeedUpdated(t *testing.T) {
	t1 := mustTime(t, "2026-01-01T10:00:00Z")
	t2 := mustTime(t, "2026-01-02T10:00:00+02:00") // 08:00Z
	t3 := mustTime(t, "2026-01-03T10:00:00Z")
	tests := []struct {
		name    string
		entries []Entry
		want    time.Time
	}{
		{"Empty", nil, time.Time{}},
		{"PublishedOnly", []Entry{{Published: t1}}, t1},
		{"UpdatedWins", []Entry{{Published: t1, Updated: t2}}, t2},
		{"NewestAnywhere", []Entry{{Published: t2}, {Published: t1, Updated: t3}, {Published: t1}}, t3},
		{"InUTC", []Entry{{Published: t2}}, t2.UTC()},
		{"NoDates", []Entry{{}, {}}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Feed{Entries: tt.entries}
			got := f.Updated()
			if !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Errorf("Updated() = %v, want %v (UTC)", got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		feed   func(*Feed) *Feed
		format Format
		base   string
		want   string
	}{
		{"NilFeed", func(*Feed) *Feed { return nil }, Atom, testBase, "nil feed"},
		{"UnknownFormat", func(f *Feed) *Feed { return f }, "xml", testBase, `unknown format "xml"`},
		{"UpperCaseFormat", func(f *Feed) *Feed { return f }, "ATOM", testBase, "unknown format"},
		{"RelativeBase", func(f *Feed) *Feed { return f }, RSS, "/blog", "not an absolute http(s) URL"},
		{"FTPBase", func(f *Feed) *Feed { return f }, RSS, "ftp://blog.example.com", "not an absolute http(s) URL"},
		{"BadBase", func(f *Feed) *Feed { return f }, JSON, "https://blog example.com/%zz", "base URL"},
		{"NoFeedID", func(f *Feed) *Feed { f.ID = ""; return f }, Atom, testBase, "has no ID"},
		{"NoEntryID", func(f *Feed) *Feed { f.Entries[1].ID = ""; return f }, JSON, testBase, `entry 1 ("Kick-off <notes>") has no ID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Render(&buf, tt.feed(fixture(t, Atom)), tt.format, tt.base)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render error %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Render wrote %d bytes before failing", buf.Len())
			}
		})
	}
	t.Run("WriterError", func(t *testing.T) {
		for _, format := range []Format{Atom, RSS, JSON} {
			err := Render(failWriter{}, fixture(t, format), format, testBase)
			if err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("%s: Render error %v, want the writer's", format, err)
			}
		}
	})
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// TestRenderLeavesFeedAlone checks that Render does not rewrite the caller's
// Feed: the web layer may cache it and render it in another format.
func TestRenderLeavesFeedAlone(t *testing.T) {
	f := fixture(t, Atom)
	for _, format := range []Format{Atom, RSS, JSON} {
		render(t, f, format)
	}
	if f.Entries[0].ContentHTML != fixtureContent {
		t.Error("Render changed the entry's ContentHTML")
	}
	if !f.Entries[0].Updated.Equal(mustTime(t, "2026-03-03T15:05:00+01:00")) || f.Entries[0].Updated.Location() == time.UTC {
		t.Error("Render changed the entry's Updated")
	}
}

// TestIDStability checks that an entry's id depends only on the post: the
// same post keeps its id through an edit, a retitle and a slug change, and
// different posts have different ids; and that readers see that id.
func TestIDStability(t *testing.T) {
	created := mustTime(t, "2026-03-01T23:30:00-02:00")
	t.Run("EntryID", func(t *testing.T) {
		tests := []struct {
			name    string
			base    string
			created time.Time
			id      uint64
			want    string
		}{
			{"OK", testBase, created, 7, "tag:blog.example.com,2026-03-02:post/7"},
			{"DateInUTC", testBase, mustTime(t, "2026-03-02T00:30:00+01:00"), 7, "tag:blog.example.com,2026-03-01:post/7"},
			{"PortAndCaseDropped", "https://Blog.Example.COM:8443/sub/", created, 7, "tag:blog.example.com,2026-03-02:post/7"},
			{"HostWithoutScheme", "blog.example.com:8080", created, 7, "tag:blog.example.com,2026-03-02:post/7"},
			{"NoHost", "", created, 7, "tag:projblog.invalid,2026-03-02:post/7"},
			{"BigID", testBase, created, 1<<64 - 1, "tag:blog.example.com,2026-03-02:post/18446744073709551615"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := EntryID(tt.base, tt.created, tt.id); got != tt.want {
					t.Errorf("EntryID = %q, want %q", got, tt.want)
				}
			})
		}
		seen := map[string]uint64{}
		for id := uint64(1); id <= 1000; id++ {
			s := EntryID(testBase, created, id)
			if other, dup := seen[s]; dup {
				t.Fatalf("posts %d and %d share the id %q", other, id, s)
			}
			seen[s] = id
		}
	})
	t.Run("FeedID", func(t *testing.T) {
		tests := []struct{ what, want string }{
			{"site", "tag:blog.example.com,2026:feed/site"},
			{"project/apollo", "tag:blog.example.com,2026:feed/project/apollo"},
			{"project/apollo/tag/launch", "tag:blog.example.com,2026:feed/project/apollo/tag/launch"},
			{"tag/été 2026", "tag:blog.example.com,2026:feed/tag/%C3%A9t%C3%A9%202026"},
			{"tag/a?b#c", "tag:blog.example.com,2026:feed/tag/a%3Fb%23c"},
		}
		for _, tt := range tests {
			if got := FeedID(testBase, tt.what); got != tt.want {
				t.Errorf("FeedID(%q) = %q, want %q", tt.what, got, tt.want)
			}
		}
	})
	t.Run("AcrossEditAndSlugChange", func(t *testing.T) {
		before := fixture(t, Atom)
		after := fixture(t, Atom)
		e := &after.Entries[0]
		e.Title = "Launch window moved to Saturday"
		e.URL = testBase + "/p/apollo/launch-window-saturday"
		e.Updated = e.Updated.Add(48 * time.Hour)
		e.ContentHTML = "<p>Saturday now.</p>"
		// The web layer computes the id from the post, which did not change.
		e.ID = EntryID(testBase, created, 7)
		for _, format := range []Format{Atom, RSS, JSON} {
			a, err := gofeed.NewParser().ParseString(string(render(t, before, format)))
			if err != nil {
				t.Fatal(err)
			}
			b, err := gofeed.NewParser().ParseString(string(render(t, after, format)))
			if err != nil {
				t.Fatal(err)
			}
			if a.Items[0].GUID != b.Items[0].GUID || a.Items[0].Link == b.Items[0].Link {
				t.Errorf("%s: guid %q → %q (link %q → %q): the id must stay, the link move",
					format, a.Items[0].GUID, b.Items[0].GUID, a.Items[0].Link, b.Items[0].Link)
			}
			if a.Items[1].GUID == a.Items[0].GUID {
				t.Errorf("%s: two posts share the guid %q", format, a.Items[0].GUID)
			}
		}
	})
}

var errDiskFull = errors.New("disk full")

func TestCommentEntryID(t *testing.T) {
	at := time.Date(2026, 11, 2, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))
	if got := CommentEntryID("https://Blog.Example.com:8443", at, 7); got != "tag:blog.example.com,2026-11-03:comment/7" {
		t.Fatalf("CommentEntryID = %q", got)
	}
	if CommentEntryID("https://x", at, 7) == EntryID("https://x", at, 7) {
		t.Fatal("a comment and a post with the same number share an id")
	}
}
