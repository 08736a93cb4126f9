package feeds

import (
	"bytes"
	"encoding/xml"
	"net/mail"
	"slices"
	"testing"
	"time"
)

// Namespaces of the RSS output.
const (
	nsAtom    = "http://www.w3.org/2005/Atom"
	nsDC      = "http://purl.org/dc/elements/1.1/"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
)

// rssCheck is the RSS 2.0 structure as encoding/xml decodes it, namespaces
// resolved. Elements named link are gathered with their namespace, so that
// the channel's <link> and <atom:link> can be told apart.
type rssCheck struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel []struct {
		Title         []string   `xml:"title"`
		Links         []nsLink   `xml:"link"`
		Description   []string   `xml:"description"`
		Language      string     `xml:"language"`
		LastBuildDate string     `xml:"lastBuildDate"`
		Items         []rssCItem `xml:"item"`
	} `xml:"channel"`
}

type nsLink struct {
	XMLName xml.Name
	Href    string `xml:"href,attr"`
	Rel     string `xml:"rel,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type rssCItem struct {
	Title       *string  `xml:"title"`
	Description *string  `xml:"description"`
	Links       []nsLink `xml:"link"`
	GUID        []struct {
		ID          string `xml:",chardata"`
		IsPermaLink string `xml:"isPermaLink,attr"`
	} `xml:"guid"`
	PubDate    string   `xml:"pubDate"`
	Author     string   `xml:"author"`
	Categories []string `xml:"category"`
	Creator    []struct {
		XMLName xml.Name
		Name    string `xml:",chardata"`
	} `xml:"creator"`
	Encoded []struct {
		XMLName xml.Name
		HTML    string `xml:",chardata"`
	} `xml:"encoded"`
}

// TestRSSStructure decodes the RSS output of every variant with
// encoding/xml and checks the elements RSS 2.0 requires, and those we
// promise: one self atom:link, a non-permalink guid, RFC 1123Z dates, an
// e-mail in <author>, the name in dc:creator.
func TestRSSStructure(t *testing.T) {
	for name, f := range variants(t, RSS) {
		t.Run(name, func(t *testing.T) {
			doc := render(t, f, RSS)
			var r rssCheck
			if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&r); err != nil {
				t.Fatalf("not well-formed RSS: %v\n%s", err, doc)
			}
			if r.Version != "2.0" {
				t.Errorf("version %q", r.Version)
			}
			if len(r.Channel) != 1 {
				t.Fatalf("%d channels", len(r.Channel))
			}
			ch := r.Channel[0]
			if len(ch.Title) != 1 || ch.Title[0] != f.Title {
				t.Errorf("channel title %q, want one %q", ch.Title, f.Title)
			}
			if len(ch.Description) != 1 || ch.Description[0] == "" {
				t.Errorf("channel description %q, want one, not empty", ch.Description)
			}
			var plain, self []nsLink
			for _, l := range ch.Links {
				switch l.XMLName.Space {
				case "":
					plain = append(plain, l)
				case nsAtom:
					self = append(self, l)
				default:
					t.Errorf("link in namespace %q", l.XMLName.Space)
				}
			}
			wantAlt := f.AltURL
			if wantAlt == "" {
				wantAlt = testBase + "/"
			}
			if len(plain) != 1 || plain[0].Text != wantAlt {
				t.Errorf("channel link %+v, want one %q", plain, wantAlt)
			}
			if f.SelfURL == "" {
				if len(self) != 0 {
					t.Errorf("atom:link %+v without a SelfURL", self)
				}
			} else if len(self) != 1 || self[0].Rel != "self" || self[0].Href != f.SelfURL || self[0].Type != "application/rss+xml" {
				t.Errorf("atom:link %+v, want one rel=self to %q", self, f.SelfURL)
			}
			if f.Language != ch.Language {
				t.Errorf("language %q, want %q", ch.Language, f.Language)
			}
			if len(f.Entries) == 0 {
				if ch.LastBuildDate != "" {
					t.Errorf("lastBuildDate %q for an empty feed", ch.LastBuildDate)
				}
			} else if d, err := time.Parse(time.RFC1123Z, ch.LastBuildDate); err != nil || !d.Equal(f.Updated()) {
				t.Errorf("lastBuildDate %q (%v), want %v in RFC 1123Z", ch.LastBuildDate, err, f.Updated())
			}
			if len(ch.Items) != len(f.Entries) {
				t.Fatalf("%d items, want %d", len(ch.Items), len(f.Entries))
			}
			for i, it := range ch.Items {
				e := f.Entries[i]
				if (it.Title == nil || *it.Title == "") && (it.Description == nil || *it.Description == "") {
					t.Errorf("item %d has neither title nor description", i)
				}
				if it.Title == nil || *it.Title != e.Title {
					t.Errorf("item %d: title %v, want %q", i, it.Title, e.Title)
				}
				if len(it.GUID) != 1 || it.GUID[0].ID != e.ID || it.GUID[0].IsPermaLink != "false" {
					t.Errorf("item %d: guid %+v, want one %q isPermaLink=false", i, it.GUID, e.ID)
				}
				if len(it.Links) != 1 || it.Links[0].XMLName.Space != "" || it.Links[0].Text != e.URL {
					t.Errorf("item %d: links %+v, want one %q", i, it.Links, e.URL)
				}
				if d, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil || !d.Equal(e.Published) {
					t.Errorf("item %d: pubDate %q (%v), want %v in RFC 1123Z", i, it.PubDate, err, e.Published)
				}
				if e.AuthorEmail == "" {
					if it.Author != "" {
						t.Errorf("item %d: author %q, but the e-mail is not to be shown", i, it.Author)
					}
				} else if a, err := mail.ParseAddress(it.Author); err != nil || a.Address != e.AuthorEmail || a.Name != e.AuthorName {
					t.Errorf("item %d: author %q (%v), want %s's address", i, it.Author, err, e.AuthorEmail)
				}
				if e.AuthorName == "" {
					if len(it.Creator) != 0 {
						t.Errorf("item %d: dc:creator %+v without an author name", i, it.Creator)
					}
				} else if len(it.Creator) != 1 || it.Creator[0].XMLName.Space != nsDC || it.Creator[0].Name != e.AuthorName {
					t.Errorf("item %d: creator %+v, want one dc:creator %q", i, it.Creator, e.AuthorName)
				}
				wantCats := slices.DeleteFunc(slices.Clone(e.Categories), func(c string) bool { return c == "" })
				if !slices.Equal(it.Categories, wantCats) {
					t.Errorf("item %d: categories %q, want %q", i, it.Categories, wantCats)
				}
				if e.ContentHTML == "" {
					if len(it.Encoded) != 0 {
						t.Errorf("item %d: content:encoded %+v for no content", i, it.Encoded)
					}
				} else if len(it.Encoded) != 1 || it.Encoded[0].XMLName.Space != nsContent || it.Encoded[0].HTML == "" {
					t.Errorf("item %d: content:encoded %+v, want one", i, it.Encoded)
				}
			}
		})
	}
}
