package feeds

import (
	"bytes"
	"encoding/xml"
	"slices"
	"testing"
	"time"
)

// atomCheck is the Atom structure as encoding/xml decodes it.
type atomCheck struct {
	XMLName   xml.Name     `xml:"http://www.w3.org/2005/Atom feed"`
	Lang      string       `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	ID        string       `xml:"id"`
	Title     string       `xml:"title"`
	Subtitle  string       `xml:"subtitle"`
	Updated   string       `xml:"updated"`
	Links     []nsLink     `xml:"link"`
	Generator string       `xml:"generator"`
	Authors   []atomPerson `xml:"author"`
	Entries   []struct {
		ID        string       `xml:"id"`
		Title     string       `xml:"title"`
		Updated   string       `xml:"updated"`
		Published string       `xml:"published"`
		Links     []nsLink     `xml:"link"`
		Authors   []atomPerson `xml:"author"`
		Category  []struct {
			Term string `xml:"term,attr"`
			Text string `xml:",chardata"`
		} `xml:"category"`
		Summary struct {
			Type string `xml:"type,attr"`
			Text string `xml:",chardata"`
		} `xml:"summary"`
		Content struct {
			Type string `xml:"type,attr"`
			HTML string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

type atomPerson struct {
	Name  string `xml:"name"`
	Email string `xml:"email"`
}

// TestAtomStructure decodes the Atom output of every variant and checks
// what RFC 4287 requires beyond its RELAX NG schema (an author for every
// entry, at most one alternate link), and what we promise: a self link,
// updated from the newest entry, categories as term attributes.
func TestAtomStructure(t *testing.T) {
	for name, f := range variants(t, Atom) {
		t.Run(name, func(t *testing.T) {
			doc := render(t, f, Atom)
			var a atomCheck
			if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&a); err != nil {
				t.Fatalf("not well-formed Atom: %v\n%s", err, doc)
			}
			if a.ID != f.ID || a.Title != f.Title || a.Subtitle != f.Description || a.Lang != f.Language || a.Generator != f.Generator {
				t.Errorf("id %q title %q subtitle %q lang %q generator %q", a.ID, a.Title, a.Subtitle, a.Lang, a.Generator)
			}
			wantUpdated := f.Updated()
			if wantUpdated.IsZero() {
				wantUpdated = time.Unix(0, 0)
			}
			if a.Updated != wantUpdated.UTC().Format(time.RFC3339) {
				t.Errorf("feed updated %q, want %v", a.Updated, wantUpdated)
			}
			wantAlt := f.AltURL
			if wantAlt == "" {
				wantAlt = testBase + "/"
			}
			wantLinks := []nsLink{{Href: wantAlt, Rel: "alternate", Type: "text/html"}}
			if f.SelfURL != "" {
				wantLinks = append(wantLinks, nsLink{Href: f.SelfURL, Rel: "self", Type: "application/atom+xml"})
			}
			if !slices.EqualFunc(a.Links, wantLinks, sameLink) {
				t.Errorf("feed links %+v, want %+v", a.Links, wantLinks)
			}
			if len(a.Entries) != len(f.Entries) {
				t.Fatalf("%d entries, want %d", len(a.Entries), len(f.Entries))
			}
			for i, got := range a.Entries {
				e := f.Entries[i]
				if got.ID != e.ID || got.Title != e.Title {
					t.Errorf("entry %d: id %q title %q", i, got.ID, got.Title)
				}
				if got.Updated != e.updated().UTC().Format(time.RFC3339) || got.Published != e.Published.UTC().Format(time.RFC3339) {
					t.Errorf("entry %d: updated %q published %q", i, got.Updated, got.Published)
				}
				want := []nsLink{{Href: e.URL, Rel: "alternate", Type: "text/html"}}
				if !slices.EqualFunc(got.Links, want, sameLink) {
					t.Errorf("entry %d: links %+v, want %+v", i, got.Links, want)
				}
				wantName := e.AuthorName
				if wantName == "" {
					wantName = f.Title
				}
				if len(a.Authors) == 0 && (len(got.Authors) != 1 || got.Authors[0].Name != wantName || got.Authors[0].Email != e.AuthorEmail) {
					t.Errorf("entry %d: authors %+v, want one %q <%s>", i, got.Authors, wantName, e.AuthorEmail)
				}
				var terms []string
				for _, c := range got.Category {
					if c.Text != "" {
						t.Errorf("entry %d: category with text %q", i, c.Text)
					}
					terms = append(terms, c.Term)
				}
				wantCats := slices.DeleteFunc(slices.Clone(e.Categories), func(c string) bool { return c == "" })
				if !slices.Equal(terms, wantCats) {
					t.Errorf("entry %d: category terms %q, want %q", i, terms, wantCats)
				}
				if got.Summary.Text != e.Summary || (e.Summary != "" && got.Summary.Type != "text") {
					t.Errorf("entry %d: summary %+v, want type text %q", i, got.Summary, e.Summary)
				}
				if (e.ContentHTML != "") != (got.Content.HTML != "") || (e.ContentHTML != "" && got.Content.Type != "html") {
					t.Errorf("entry %d: content type %q, %d bytes", i, got.Content.Type, len(got.Content.HTML))
				}
			}
		})
	}
}

// sameLink compares links by their attributes.
func sameLink(a, b nsLink) bool { return a.Href == b.Href && a.Rel == b.Rel && a.Type == b.Type }
