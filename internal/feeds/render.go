package feeds

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	gorilla "github.com/gorilla/feeds"
)

// Render writes f to w in format. baseURL is the site's absolute base URL,
// such as "https://blog.example.com": relative URLs in each entry's
// ContentHTML (href, src, srcset, poster, cite) are resolved against the
// entry's URL, itself resolved against baseURL, so that "/p/x/y",
// "/static/a.png" and "#fn:1" all work in a feed reader. Absolute URLs,
// mailto: links and the like are left alone. SelfURL, AltURL and the entries'
// URLs should already be absolute; relative ones are resolved against baseURL.
//
// The feed-level updated time is f.Updated(), never the clock: rendering the
// same Feed twice gives the same bytes. Times are written in UTC, truncated to
// the second (RFC 3339 for Atom and JSON Feed, RFC 1123 with a numeric zone
// for RSS). Entries are written in the order given, which should be newest
// first.
//
// Render returns an error, before it writes anything, for a nil feed, an
// unknown format, a baseURL that is not an absolute http(s) URL, or a feed or
// entry without an ID (the formats require one, and a made-up one would
// change on every request). Otherwise it returns only the error of w, wrapped.
// Render does not modify f and is safe for concurrent use.
func Render(w io.Writer, f *Feed, format Format, baseURL string) error {
	if f == nil {
		return errors.New("render feed: nil feed")
	}
	if !format.valid() {
		return fmt.Errorf("render feed %s: unknown format %q", f.ID, format)
	}
	base, err := parseBase(baseURL)
	if err != nil {
		return fmt.Errorf("render feed %s: %w", f.ID, err)
	}
	if f.ID == "" {
		return fmt.Errorf("render feed %q: the feed has no ID", f.Title)
	}
	for i := range f.Entries {
		if f.Entries[i].ID == "" {
			return fmt.Errorf("render feed %s: entry %d (%q) has no ID", f.ID, i, f.Entries[i].Title)
		}
	}
	p := prepare(f, base)
	switch format {
	case Atom:
		err = writeXML(w, newAtomFeed(p))
	case RSS:
		err = writeXML(w, newRSSDoc(p))
	case JSON:
		err = writeJSON(w, newJSONFeed(p))
	}
	if err != nil {
		return fmt.Errorf("render %s feed %s: %w", format, f.ID, err)
	}
	return nil
}

// prepared is a Feed made ready for the three writers: the gorilla/feeds
// Feed they all start from, and the values gorilla has no field for.
type prepared struct {
	src     *Feed
	gf      *gorilla.Feed
	selfURL string // absolute, or "" for none
	updated time.Time
	entries []preparedEntry // parallel to gf.Items
}

// preparedEntry holds what gorilla's Item cannot carry for one entry.
type preparedEntry struct {
	src        *Entry
	categories []string // without empty strings
}

// prepare turns f into the gorilla Feed every format is built from, with
// absolute URLs and UTC times.
func prepare(f *Feed, base *url.URL) *prepared {
	alt := absURL(f.AltURL, base)
	if alt == "" {
		alt = base.String()
	}
	p := &prepared{
		src:     f,
		selfURL: absURL(f.SelfURL, base),
		updated: utc(f.Updated()),
		gf: &gorilla.Feed{
			Id:          f.ID,
			Title:       f.Title,
			Link:        &gorilla.Link{Href: alt, Rel: "alternate", Type: "text/html"},
			Description: f.Description,
			Updated:     utc(f.Updated()),
		},
		entries: make([]preparedEntry, len(f.Entries)),
	}
	p.gf.Items = make([]*gorilla.Item, len(f.Entries))
	for i := range f.Entries {
		e := &f.Entries[i]
		link := absURL(e.URL, base)
		contentBase := base
		if u, err := url.Parse(link); err == nil && link != "" {
			contentBase = u
		}
		it := &gorilla.Item{
			Id:          e.ID,
			IsPermaLink: "false", // a tag: URI is no URL to open
			Title:       e.Title,
			Description: e.Summary,
			Content:     absHTML(e.ContentHTML, contentBase),
			Created:     utc(e.Published),
			Updated:     utc(e.updated()),
		}
		if link != "" {
			it.Link = &gorilla.Link{Href: link}
		}
		if e.AuthorName != "" || e.AuthorEmail != "" {
			it.Author = &gorilla.Author{Name: e.AuthorName, Email: e.AuthorEmail}
		}
		p.gf.Items[i] = it
		var cats []string
		for _, c := range e.Categories {
			if c != "" {
				cats = append(cats, c)
			}
		}
		p.entries[i] = preparedEntry{src: e, categories: cats}
	}
	return p
}

// parseBase parses the site's base URL, which must be absolute http(s).
func parseBase(baseURL string) (*url.URL, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is not an absolute http(s) URL", baseURL)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// absURL resolves ref against base; "" stays "" and an absolute URL or one
// that does not parse is returned as it is.
func absURL(ref string, base *url.URL) string {
	if ref == "" {
		return ""
	}
	abs, _ := absRef(ref, base)
	return abs
}

// utc returns t in UTC truncated to the second, the precision every format
// shows, so that the three formats carry the very same instants.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

// writeXML writes doc with an XML declaration, indented, ending in a newline.
// It is gorilla's WriteXML with a line break after the declaration.
func writeXML(w io.Writer, doc gorilla.XmlFeed) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	if err := e.Encode(doc.FeedXml()); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
