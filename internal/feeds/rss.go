package feeds

import (
	"time"

	gorilla "github.com/gorilla/feeds"
)

// rssDoc is gorilla's <rss> wrapper with the atom and dc namespaces
// declared, which the self link and dc:creator below need. Its Channel
// shadows gorilla's (same element name, shallower field).
type rssDoc struct {
	gorilla.RssFeedXml
	AtomNS  string      `xml:"xmlns:atom,attr"`
	DCNS    string      `xml:"xmlns:dc,attr"`
	Channel *rssChannel `xml:"channel"`
}

// FeedXml implements gorilla's XmlFeed (the promoted method would return
// gorilla's bare wrapper).
func (d *rssDoc) FeedXml() any { return d }

// rssChannel is gorilla's RssFeed with <atom:link rel="self">, which RSS
// Best Practices and feed validators ask for and gorilla cannot write, and
// with items that carry several categories and a dc:creator.
type rssChannel struct {
	*gorilla.RssFeed
	AtomLink *rssAtomLink `xml:"atom:link"`
	Items    []*rssItem   `xml:"item"`
}

// rssAtomLink is <atom:link href="..." rel="self" type="application/rss+xml"/>.
type rssAtomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

// rssItem is gorilla's RssItem with one <category> per tag (gorilla has a
// single Category string, RSS 2.0 allows any number), <dc:creator> for the
// author's name (RSS's own <author> must be an e-mail address, and gorilla
// puts the bare name there), and <atom:updated>, the time of the last edit,
// which RSS has no element for and readers such as gofeed take from the
// atom namespace.
type rssItem struct {
	*gorilla.RssItem
	Categories []string `xml:"category"`
	Creator    string   `xml:"dc:creator,omitempty"`
	Updated    string   `xml:"atom:updated,omitempty"`
}

// newRSSDoc builds the RSS 2.0 document of p from gorilla's RssFeed.
func newRSSDoc(p *prepared) *rssDoc {
	ch := (&gorilla.Rss{Feed: p.gf}).RssFeed()
	if ch.Description == "" {
		ch.Description = ch.Title // required by RSS 2.0
	}
	ch.Language = p.src.Language // gorilla has the field but never fills it
	ch.Generator = p.src.Generator
	ch.PubDate = ""
	if !p.updated.IsZero() {
		ch.LastBuildDate = p.updated.Format(time.RFC1123Z)
	}
	items := ch.Items
	ch.Items = nil // replaced by rssChannel.Items
	c := &rssChannel{RssFeed: ch, Items: make([]*rssItem, len(items))}
	if p.selfURL != "" {
		c.AtomLink = &rssAtomLink{Href: p.selfURL, Rel: "self", Type: "application/rss+xml"}
	}
	for i, gi := range items {
		e := p.entries[i].src
		gi.Author = ""
		if e.AuthorEmail != "" {
			// RSS 2.0: "Email address of the author of the item."
			gi.Author = e.AuthorEmail
			if e.AuthorName != "" {
				gi.Author += " (" + e.AuthorName + ")"
			}
		}
		ri := &rssItem{RssItem: gi, Categories: p.entries[i].categories, Creator: e.AuthorName}
		if u := p.gf.Items[i].Updated; !u.IsZero() {
			ri.Updated = u.Format(time.RFC3339)
		}
		c.Items[i] = ri
	}
	return &rssDoc{
		RssFeedXml: gorilla.RssFeedXml{
			Version:          "2.0",
			ContentNamespace: "http://purl.org/rss/1.0/modules/content/",
		},
		AtomNS:  "http://www.w3.org/2005/Atom",
		DCNS:    "http://purl.org/dc/elements/1.1/",
		Channel: c,
	}
}
