package feeds

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestWriteOPML(t *testing.T) {
	outlines := []Outline{
		{Title: "Apollo", XMLURL: testBase + "/p/apollo/feed.atom?token=tok_abc&x=1", HTMLURL: testBase + "/p/apollo"},
		{Title: "R&D <weekly>", XMLURL: testBase + "/p/rnd/feed.atom", HTMLURL: testBase + "/p/rnd"},
		{XMLURL: testBase + "/feed.atom"},
	}
	created := mustTime(t, "2026-03-03T15:05:00+01:00")
	var buf bytes.Buffer
	if err := WriteOPML(&buf, "Ada's feeds on projblog", created, outlines); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"opml"`
		Version string   `xml:"version,attr"`
		Head    struct {
			Title       string `xml:"title"`
			DateCreated string `xml:"dateCreated"`
		} `xml:"head"`
		Body struct {
			Outlines []struct {
				Type    string `xml:"type,attr"`
				Text    string `xml:"text,attr"`
				Title   string `xml:"title,attr"`
				XMLURL  string `xml:"xmlUrl,attr"`
				HTMLURL string `xml:"htmlUrl,attr"`
			} `xml:"outline"`
		} `xml:"body"`
	}
	if err := xml.NewDecoder(&buf).Decode(&doc); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	if doc.Version != "2.0" {
		t.Errorf("version %q", doc.Version)
	}
	if doc.Head.Title != "Ada's feeds on projblog" {
		t.Errorf("head title %q", doc.Head.Title)
	}
	if d, err := time.Parse(time.RFC1123Z, doc.Head.DateCreated); err != nil || !d.Equal(created) {
		t.Errorf("dateCreated %q (%v), want %v", doc.Head.DateCreated, err, created)
	}
	if len(doc.Body.Outlines) != len(outlines) {
		t.Fatalf("%d outlines, want %d", len(doc.Body.Outlines), len(outlines))
	}
	for i, o := range doc.Body.Outlines {
		wantText := outlines[i].Title
		if wantText == "" {
			wantText = outlines[i].XMLURL
		}
		if o.Type != "rss" || o.Text != wantText || o.Title != wantText ||
			o.XMLURL != outlines[i].XMLURL || o.HTMLURL != outlines[i].HTMLURL {
			t.Errorf("outline %d: %+v, want type rss, text %q and the URLs of %+v", i, o, wantText, outlines[i])
		}
	}

	t.Run("Empty", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteOPML(&buf, "Nothing yet", time.Time{}, nil); err != nil {
			t.Fatal(err)
		}
		if s := buf.String(); strings.Contains(s, "dateCreated") || !strings.Contains(s, "<body></body>") {
			t.Errorf("empty OPML:\n%s", s)
		}
	})
	t.Run("ErrNoFeedURL", func(t *testing.T) {
		var buf bytes.Buffer
		err := WriteOPML(&buf, "x", created, []Outline{{Title: "Broken"}})
		if err == nil || !strings.Contains(err.Error(), `outline 0 ("Broken") has no feed URL`) || buf.Len() != 0 {
			t.Errorf("err %v, %d bytes written", err, buf.Len())
		}
	})
}
