package feeds

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Feed is one feed document in neutral form: the web layer fills it from
// posts, projects and users, and Render writes it in any Format. A Feed is
// a plain value; Render does not modify it, so one Feed may be rendered in
// several formats, also concurrently.
type Feed struct {
	ID          string  // stable feed id: FeedID(...) or the canonical URL of the feed
	Title       string  // the feed's name, e.g. the project's name
	Description string  // the project's description, or a sentence saying what the feed holds
	SelfURL     string  // absolute URL of this very feed document (with its format extension, and the ?token= if any)
	AltURL      string  // absolute URL of the HTML page the feed mirrors
	Language    string  // "en" or "fr" (an RFC 5646 tag); "" leaves it out
	Entries     []Entry // newest first; Render keeps the order it is given
	Generator   string  // "projblog"; "" leaves it out
}

// Entry is one item of a Feed: a post, or a comment.
type Entry struct {
	ID          string    // never changes when the post is edited or its slug changes: EntryID(...)
	Title       string    // plain text
	URL         string    // absolute permalink of the post's page
	AuthorName  string    // display name; "" falls back to the feed's title where a format needs a name
	AuthorEmail string    // "" when the user does not allow it, or it is unknown
	Published   time.Time // first publication
	Updated     time.Time // last edit; zero means "same as Published"
	Categories  []string  // tags, plus e.g. "health:at-risk"; empty strings are skipped
	ContentHTML string    // sanitised HTML (already safe); Render makes its relative URLs absolute
	Summary     string    // plain text
}

// Updated returns the feed-level updated time: the newest Updated (or
// Published, for an entry never edited) of f's entries, in UTC, and the zero
// time for a feed without entries. It never reads the clock, so the same
// posts always give the same feed, byte for byte, and a conditional request
// can be answered from it.
func (f *Feed) Updated() time.Time {
	var newest time.Time
	for i := range f.Entries {
		if t := f.Entries[i].updated(); t.After(newest) {
			newest = t
		}
	}
	if newest.IsZero() {
		return time.Time{}
	}
	return newest.UTC()
}

// updated returns e.Updated, or e.Published when the entry was never edited.
func (e *Entry) updated() time.Time {
	if e.Updated.IsZero() {
		return e.Published
	}
	return e.Updated
}

// feedIDYear is the date of the tagging entity in every FeedID: the year
// projblog began minting feed ids. It is a constant on purpose: a feed id
// must not change from one year to the next.
const feedIDYear = "2026"

// EntryID returns the stable id of a post's entry, a tag URI (RFC 4151):
//
//	tag:HOST,YYYY-MM-DD:post/ID
//
// where HOST is the host name of baseURL (without port, lower case) and the
// date is the day, in UTC, the post was created. It depends on nothing that an
// edit, a retitle or a slug change can touch, so feed readers never show an
// edited post twice; different posts always get different ids. Pass the
// configured canonical base URL: moving the site to another host changes
// every id. A baseURL without a host gives the host "projblog.invalid".
func EntryID(baseURL string, created time.Time, postID uint64) string {
	return "tag:" + tagHost(baseURL) + "," + created.UTC().Format(time.DateOnly) +
		":post/" + strconv.FormatUint(postID, 10)
}

// CommentEntryID is EntryID for a comment: "tag:HOST,YYYY-MM-DD:comment/ID".
func CommentEntryID(baseURL string, created time.Time, commentID uint64) string {
	return "tag:" + tagHost(baseURL) + "," + created.UTC().Format(time.DateOnly) +
		":comment/" + strconv.FormatUint(commentID, 10)
}

// FeedID returns the stable id of a feed, a tag URI (RFC 4151):
//
//	tag:HOST,2026:feed/WHAT
//
// where what says which feed it is: "site", "project/apollo", "tag/launch",
// "project/apollo/tag/launch", "author/42". Each '/'-separated segment of what
// is percent-escaped where a tag URI needs it (a tag with a space or a
// non-ASCII letter). HOST is taken from baseURL as in EntryID. A feed's id
// must not carry a reader's token: the same feed read by two people is the
// same feed.
func FeedID(baseURL, what string) string {
	segs := strings.Split(what, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "tag:" + tagHost(baseURL) + "," + feedIDYear + ":feed/" + strings.Join(segs, "/")
}

// tagHost returns the authority of a tag URI minted for baseURL.
func tagHost(baseURL string) string {
	s := strings.TrimSpace(baseURL)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		// "blog.example.com" or "blog.example.com:8080": a host without a scheme.
		u, err = url.Parse("//" + s)
	}
	if err != nil {
		return "projblog.invalid"
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if h == "" {
		return "projblog.invalid"
	}
	return h
}
