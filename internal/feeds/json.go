package feeds

import (
	"encoding/json"
	"io"

	gorilla "github.com/gorilla/feeds"
)

// jsonFeedVersion is the version URL of JSON Feed 1.1.
const jsonFeedVersion = "https://jsonfeed.org/version/1.1"

// jsonFeed is gorilla's JSONFeed with items that are always written: the
// spec requires "items", and gorilla's tag has omitempty, so an empty feed
// would come out invalid. encoding/json lets the outer field shadow the
// embedded one of the same name.
type jsonFeed struct {
	*gorilla.JSONFeed
	Items []*jsonItem `json:"items"`
}

// jsonItem is gorilla's JSONItem with content_html always written: JSON Feed
// requires content_html or content_text on every item, and gorilla omits an
// empty one.
type jsonItem struct {
	*gorilla.JSONItem
	ContentHTML string `json:"content_html"`
}

// newJSONFeed builds the JSON Feed 1.1 document of p from gorilla's JSONFeed,
// filling what gorilla leaves out: feed_url, language, tags, and an author
// URL (mailto:) where the author allows the e-mail to be shown. The
// deprecated 1.0 "author" objects gorilla writes next to "authors" are
// dropped.
func newJSONFeed(p *prepared) *jsonFeed {
	gjf := (&gorilla.JSON{Feed: p.gf}).JSONFeed()
	gjf.Version = jsonFeedVersion
	gjf.FeedUrl = p.selfURL
	gjf.Language = p.src.Language
	gjf.Author, gjf.Authors = nil, nil
	items := gjf.Items
	gjf.Items = nil
	jf := &jsonFeed{JSONFeed: gjf, Items: make([]*jsonItem, len(items))}
	for i, gi := range items {
		e := p.entries[i].src
		gi.Author, gi.Authors = nil, nil
		if e.AuthorName != "" || e.AuthorEmail != "" {
			a := &gorilla.JSONAuthor{Name: e.AuthorName}
			if e.AuthorEmail != "" {
				a.Url = "mailto:" + e.AuthorEmail
			}
			gi.Authors = []*gorilla.JSONAuthor{a}
		}
		gi.Tags = p.entries[i].categories
		html := gi.ContentHTML
		gi.ContentHTML = "" // replaced by jsonItem.ContentHTML
		jf.Items[i] = &jsonItem{JSONItem: gi, ContentHTML: html}
	}
	return jf
}

// writeJSON writes jf indented, without escaping <, > and & (content_html is
// full of them and \u003c helps no one).
func writeJSON(w io.Writer, jf *jsonFeed) error {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	return e.Encode(jf)
}
