package feeds

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// OPMLContentType is the media type to send with WriteOPML's output.
const OPMLContentType = "text/x-opml; charset=utf-8"

// Outline is one feed in an OPML subscription list.
type Outline struct {
	Title   string // the feed's name as a reader should show it
	XMLURL  string // absolute URL of the feed document (with the reader's ?token= for a private feed)
	HTMLURL string // absolute URL of the HTML page the feed mirrors
}

// opmlDoc is an OPML 2.0 document (http://opml.org/spec2.opml).
type opmlDoc struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Head    opmlHead `xml:"head"`
	Body    opmlBody `xml:"body"`
}

type opmlHead struct {
	Title       string `xml:"title"`
	DateCreated string `xml:"dateCreated,omitempty"`
	Docs        string `xml:"docs"`
}

type opmlBody struct {
	Outlines []opmlOutline `xml:"outline"`
}

type opmlOutline struct {
	Type    string `xml:"type,attr"`
	Text    string `xml:"text,attr"`
	Title   string `xml:"title,attr,omitempty"`
	XMLURL  string `xml:"xmlUrl,attr"`
	HTMLURL string `xml:"htmlUrl,attr,omitempty"`
}

// WriteOPML writes an OPML 2.0 subscription list titled title, with one
// outline per feed, in the order given, for a reader to import in one step.
// Each outline has type="rss" (OPML's word for any feed, Atom and JSON Feed
// included), text and title (the Title, or the XMLURL when it is empty),
// xmlUrl and htmlUrl. created, if not zero, is written as dateCreated in UTC
// (RFC 822 with a four-digit year, as OPML asks); pass the time of the
// newest change, not the clock, to keep the file cacheable. An outline
// without XMLURL is an error, reported before anything is written; otherwise
// only w's error is returned, wrapped. Send it as OPMLContentType.
func WriteOPML(w io.Writer, title string, created time.Time, outlines []Outline) error {
	doc := opmlDoc{
		Version: "2.0",
		Head:    opmlHead{Title: title, Docs: "http://opml.org/spec2.opml"},
		Body:    opmlBody{Outlines: make([]opmlOutline, len(outlines))},
	}
	if !created.IsZero() {
		doc.Head.DateCreated = created.UTC().Format(time.RFC1123Z)
	}
	for i, o := range outlines {
		if o.XMLURL == "" {
			return fmt.Errorf("write OPML %q: outline %d (%q) has no feed URL", title, i, o.Title)
		}
		text := o.Title
		if text == "" {
			text = o.XMLURL
		}
		doc.Body.Outlines[i] = opmlOutline{Type: "rss", Text: text, Title: text, XMLURL: o.XMLURL, HTMLURL: o.HTMLURL}
	}
	if err := writeXML(w, opmlXML{&doc}); err != nil {
		return fmt.Errorf("write OPML %q: %w", title, err)
	}
	return nil
}

// opmlXML lets writeXML, made for gorilla's XmlFeed, write an OPML document.
type opmlXML struct{ doc *opmlDoc }

// FeedXml implements gorilla's XmlFeed.
func (o opmlXML) FeedXml() any { return o.doc }
