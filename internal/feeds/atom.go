package feeds

import (
	"time"

	gorilla "github.com/gorilla/feeds"
)

// atomFeed is gorilla's AtomFeed with what RFC 4287 wants and gorilla
// cannot say: a rel="self" link next to the rel="alternate" one (gorilla has
// one Link), xml:lang, a generator, and entries with real categories.
// encoding/xml lets a field of the outer struct shadow an embedded field of
// the same element name, so Links and Entries replace gorilla's Link and
// Entries while every other field keeps gorilla's tags and order.
type atomFeed struct {
	*gorilla.AtomFeed
	Lang      string             `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	Links     []gorilla.AtomLink `xml:"link"`
	Generator *atomGenerator     `xml:"generator,omitempty"`
	Entries   []*atomEntry       `xml:"entry"`
}

// FeedXml implements gorilla's XmlFeed. It must be declared here: the method
// promoted from the embedded AtomFeed would return the bare gorilla struct.
func (a *atomFeed) FeedXml() any { return a }

// atomEntry is gorilla's AtomEntry with RFC 4287 categories: gorilla writes
// Category as a string element, <category>x</category>, where Atom wants
// one empty element per category with a term attribute.
type atomEntry struct {
	*gorilla.AtomEntry
	Categories []atomCategory `xml:"category"`
}

// atomCategory is <category term="..."/>.
type atomCategory struct {
	Term string `xml:"term,attr"`
}

// atomGenerator is <generator>, which gorilla's AtomFeed lacks.
type atomGenerator struct {
	Name string `xml:",chardata"`
}

// newAtomFeed builds the Atom document of p from gorilla's AtomFeed.
func newAtomFeed(p *prepared) *atomFeed {
	gaf := (&gorilla.Atom{Feed: p.gf}).AtomFeed()
	gaf.Id = p.gf.Id                  // gorilla uses the alternate link as the id
	gaf.Updated = atomTime(p.updated) // required even for an empty feed
	gaf.Link = nil                    // replaced by atomFeed.Links
	entries := gaf.Entries
	gaf.Entries = nil // replaced by atomFeed.Entries
	a := &atomFeed{
		AtomFeed: gaf,
		Lang:     p.src.Language,
		Links:    []gorilla.AtomLink{{Href: p.gf.Link.Href, Rel: "alternate", Type: "text/html"}},
	}
	if p.selfURL != "" {
		a.Links = append(a.Links, gorilla.AtomLink{Href: p.selfURL, Rel: "self", Type: "application/atom+xml"})
	}
	if p.src.Generator != "" {
		a.Generator = &atomGenerator{Name: p.src.Generator}
	}
	a.Entries = make([]*atomEntry, len(entries))
	for i, ge := range entries {
		pe := &p.entries[i]
		it := p.gf.Items[i]
		ge.Updated = atomTime(it.Updated)
		if !it.Created.IsZero() {
			ge.Published = it.Created.Format(time.RFC3339)
		}
		if it.Link == nil {
			ge.Links = nil // gorilla writes <link href=""> for an entry without URL
		} else {
			ge.Links[0].Type = "text/html"
		}
		if ge.Summary != nil {
			ge.Summary.Type = "text" // gorilla assumes HTML; ours is plain text
		}
		// RFC 4287 §4.1.1: an entry needs an author when the feed has none.
		// gorilla leaves it out when the item has no author; the feed's
		// title stands in, as the name of who published it.
		if ge.Author == nil || ge.Author.Name == "" {
			name := p.src.Title
			if name == "" {
				name = "projblog"
			}
			var email string
			if ge.Author != nil {
				email = ge.Author.Email
			}
			ge.Author = &gorilla.AtomAuthor{AtomPerson: gorilla.AtomPerson{Name: name, Email: email}}
		}
		e := &atomEntry{AtomEntry: ge}
		for _, c := range pe.categories {
			e.Categories = append(e.Categories, atomCategory{Term: c})
		}
		a.Entries[i] = e
	}
	return a
}

// atomTime formats t for Atom. A date construct is required where it is
// used, so a zero time (an empty feed) is written as the Unix epoch rather
// than read from the clock.
func atomTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format(time.RFC3339)
}
